//! The item-master CSV loader (`--items-csv FILE`).
//!
//! Columns, with a header row: `number,type,description,unit price,tax code,on hand`.
//! `type` is `Inventory`, `Service` or `Non-Inventory`; unit price uses a dot
//! for decimals (at most five); on hand is a whole number. Fields may be
//! quoted with `"` (a doubled `""` is a quote). Every error names the file,
//! line, column and what would be valid.

use std::collections::BTreeSet;
use std::path::Path;

/// One row of the item master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
    pub number: String,
    pub item_type: super::state::ItemType,
    pub description: String,
    pub unit_price_e5: i64,
    pub tax_code: String,
    pub on_hand: i64,
}

/// An item master that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// The I/O error is part of the message (not a `source`), so `{:#}` prints it once.
    #[error("cannot read item master '{path}': {error}")]
    Read { path: String, error: std::io::Error },
    #[error("item master '{path}', line {line}, column '{column}': {message}")]
    Invalid {
        path: String,
        line: usize,
        column: &'static str,
        message: String,
    },
}

const COLUMNS: [&str; 6] = ["number", "type", "description", "unit price", "tax code", "on hand"];

/// Reads and parses an item-master CSV.
pub fn load(path: &Path, tax_codes: &BTreeSet<String>) -> Result<Vec<ItemRow>, CsvError> {
    let text = std::fs::read_to_string(path).map_err(|error| CsvError::Read {
        path: path.display().to_string(),
        error,
    })?;
    parse(&path.display().to_string(), &text, tax_codes)
}

/// Parses item-master CSV text; `origin` names it in errors.
pub fn parse(origin: &str, text: &str, tax_codes: &BTreeSet<String>) -> Result<Vec<ItemRow>, CsvError> {
    let err = |line: usize, column: &'static str, message: String| CsvError::Invalid {
        path: origin.to_string(),
        line,
        column,
        message,
    };
    let mut rows = Vec::new();
    let mut seen = BTreeSet::new();
    let mut header_seen = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let fields = split(raw).map_err(|m| err(line, "number", m))?;
        if !header_seen {
            header_seen = true;
            let norm: Vec<String> = fields
                .iter()
                .map(|f| f.trim().to_lowercase().replace('_', " "))
                .collect();
            if norm != COLUMNS {
                return Err(err(
                    line,
                    "number",
                    format!("the header must be '{}', got '{}'", COLUMNS.join(","), raw.trim()),
                ));
            }
            continue;
        }
        if fields.len() != COLUMNS.len() {
            return Err(err(
                line,
                "number",
                format!(
                    "expected {} columns ({}), got {}",
                    COLUMNS.len(),
                    COLUMNS.join(","),
                    fields.len()
                ),
            ));
        }
        let number = fields[0].trim().to_string();
        if number.is_empty() || number.chars().count() > 20 {
            return Err(err(line, "number", "an item number has 1 to 20 characters".into()));
        }
        if !seen.insert(number.clone()) {
            return Err(err(line, "number", format!("item '{number}' is listed twice")));
        }
        let item_type = super::state::ItemType::parse(fields[1].trim()).ok_or_else(|| {
            err(
                line,
                "type",
                format!(
                    "'{}' is not an item type; use Inventory, Service or Non-Inventory",
                    fields[1].trim()
                ),
            )
        })?;
        let description = fields[2].trim().to_string();
        if description.chars().count() > 100 {
            return Err(err(
                line,
                "description",
                "a description has at most 100 characters".into(),
            ));
        }
        let unit_price_e5 = parse_price(fields[3].trim()).ok_or_else(|| {
            err(
                line,
                "unit price",
                format!(
                    "'{}' is not a price; write e.g. 19.99 (dot, at most five decimals)",
                    fields[3].trim()
                ),
            )
        })?;
        let tax_code = fields[4].trim().to_string();
        if !tax_codes.contains(&tax_code) {
            return Err(err(
                line,
                "tax code",
                format!(
                    "'{tax_code}' is not a tax code of the profile; use one of {}",
                    tax_codes.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        let on_hand: i64 = fields[5]
            .trim()
            .parse()
            .map_err(|_| err(line, "on hand", format!("'{}' is not a whole number", fields[5].trim())))?;
        rows.push(ItemRow {
            number,
            item_type,
            description,
            unit_price_e5,
            tax_code,
            on_hand,
        });
    }
    if !header_seen {
        return Err(err(
            1,
            "number",
            format!("the file is empty; the header must be '{}'", COLUMNS.join(",")),
        ));
    }
    Ok(rows)
}

/// The tax codes a CSV's rows use (its fifth column), for reading an item master
/// whose tax codes are not known in advance (`synctwin audit --erp-items`).
/// Lines that do not split are skipped here; [`parse`] reports them.
pub fn tax_codes_in(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .skip(1)
        .filter_map(|l| split(l).ok())
        .filter_map(|f| f.get(4).map(|c| c.trim().to_string()))
        .collect()
}

fn parse_price(s: &str) -> Option<i64> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || frac.len() > 5 || !whole.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let w: i64 = whole.parse().ok()?;
    let f: i64 = format!("{frac:0<5}").parse().ok()?;
    let v = w.checked_mul(100_000)?.checked_add(f)?;
    Some(if neg { -v } else { v })
}

/// Splits one CSV line, honouring `"` quotes.
fn split(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', false) if cur.trim().is_empty() => {
                cur.clear();
                quoted = true;
            }
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            ('"', true) => quoted = false,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    out.push(cur);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::erp::state::ItemType;

    fn codes() -> BTreeSet<String> {
        ["VAT19", "VAT7"].into_iter().map(String::from).collect()
    }

    #[test]
    fn parses_rows_with_quotes_and_prices() {
        let text = "number,type,description,unit price,tax code,on hand\n\
                    SW10000,Inventory,\"Mug, \"\"large\"\"\",12.5,VAT19,40\n\
                    SHIPPING,Non-Inventory,Shipping,0,VAT19,0\n";
        let rows = parse("items.csv", text, &codes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].description, "Mug, \"large\"");
        assert_eq!(rows[0].unit_price_e5, 1_250_000);
        assert_eq!(rows[1].item_type, ItemType::NonInventory);
    }

    #[test]
    fn tax_codes_are_read_from_the_rows() {
        let text = "number,type,description,unit price,tax code,on hand\n\
                    SW1,Inventory,\"a, b\",1,MWST19,1\n\nSW2,Inventory,c,1,MWST7,1\n";
        let found = tax_codes_in(text);
        assert_eq!(found.into_iter().collect::<Vec<_>>(), vec!["MWST19", "MWST7"]);
        assert_eq!(parse("i", text, &tax_codes_in(text)).unwrap().len(), 2);
    }

    #[test]
    fn errors_name_file_line_column_and_allowed_values() {
        let text = "number,type,description,unit price,tax code,on hand\nSW1,Stock,x,1,VAT19,1\n";
        let e = parse("items.csv", text, &codes()).unwrap_err().to_string();
        assert!(
            e.contains("items.csv") && e.contains("line 2") && e.contains("'type'"),
            "{e}"
        );
        assert!(e.contains("Inventory, Service or Non-Inventory"), "{e}");
        let text = "number,type,description,unit price,tax code,on hand\nSW1,Inventory,x,1,VAT5,1\n";
        let e = parse("items.csv", text, &codes()).unwrap_err().to_string();
        assert!(e.contains("tax code") && e.contains("VAT19, VAT7"), "{e}");
        let text = "number,type,description,unit price,tax code,on hand\nSW1,Inventory,x,1.234567,VAT7,1\n";
        assert!(parse("i", text, &codes())
            .unwrap_err()
            .to_string()
            .contains("unit price"));
        assert!(parse("i", "sku,qty\n", &codes())
            .unwrap_err()
            .to_string()
            .contains("header"));
    }
}
