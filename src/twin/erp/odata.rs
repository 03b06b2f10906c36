//! OData query options as Business Central accepts them, and server-driven paging.
//!
//! Supported: `$filter` with `eq`, `ne`, `gt`, `ge`, `lt`, `le` joined by `and`
//! (string literals in single quotes with `''` as an escaped quote, numbers,
//! `true`/`false`, unquoted RFC 3339 date-times such as
//! `lastModifiedDateTime gt 2026-11-27T10:00:00Z`), `$top`, `$skip`,
//! `$orderby=<field> [asc|desc]`, `$expand` (the twin's routes decide which
//! navigation properties exist) and `$select`. Anything else starting with `$`
//! is refused, as is a filter on an unknown field or with mismatched types:
//! code `BadRequest`, status 400, like BC.
//!
//! Paging: a page holds at most the profile's `max_page_size` entities; when more
//! match, the answer carries `@odata.nextLink` with the same options and a
//! larger `$skip`. Offset paging means writes between page reads shift later
//! pages, as they do in the real system.

use std::cmp::Ordering;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::errors::ODataError;

/// The type of a filterable field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Num,
    Bool,
    Time,
}

impl Kind {
    fn edm(self) -> &'static str {
        match self {
            Kind::Str => "Edm.String",
            Kind::Num => "Edm.Decimal",
            Kind::Bool => "Edm.Boolean",
            Kind::Time => "Edm.DateTimeOffset",
        }
    }
}

/// A field's value on one entity.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Str(&'a str),
    Num(f64),
    Bool(bool),
    Time(OffsetDateTime),
}

/// A literal in a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Time(OffsetDateTime),
}

impl Literal {
    fn kind(&self) -> Kind {
        match self {
            Literal::Str(_) => Kind::Str,
            Literal::Num(_) => Kind::Num,
            Literal::Bool(_) => Kind::Bool,
            Literal::Time(_) => Kind::Time,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// One comparison `field op literal`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cmp {
    pub field: String,
    pub op: Op,
    pub value: Literal,
}

/// An entity type the query options can be applied to.
pub trait Queryable {
    /// The OData type name for messages (`Microsoft.NAV.item`).
    const TYPE_NAME: &'static str;
    /// Filterable and sortable fields.
    const FIELDS: &'static [(&'static str, Kind)];
    /// A field's value; `None` when the field is null.
    fn field(&self, name: &str, epoch: OffsetDateTime) -> Option<Value<'_>>;
}

/// A time cut to the millisecond, as BC shows it.
fn to_ms(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .expect("a whole millisecond is a valid nanosecond")
}

/// Parsed query options.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryOptions {
    pub filter: Vec<Cmp>,
    pub top: Option<usize>,
    pub skip: usize,
    pub orderby: Option<(String, bool)>,
    pub expand: Vec<String>,
    pub select: Option<Vec<String>>,
    /// Parameters kept verbatim for the next link (non-`$` ones such as `company=`).
    passthrough: Vec<(String, String)>,
    raw_filter: Option<String>,
}

/// Decodes `%XX` escapes and `+` as space.
pub fn percent_decode(s: &str) -> Result<String, ODataError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| ODataError::bad_request(format!("The query string '{s}' has an invalid escape.")))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| ODataError::bad_request("The query string is not valid UTF-8."))
}

/// Encodes a query value for a next link.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'$' | b'(' | b')' | b',' | b':' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn parse_usize(name: &str, v: &str) -> Result<usize, ODataError> {
    v.trim().parse().map_err(|_| {
        ODataError::bad_request(format!(
            "Invalid value '{v}' for {name} query option found. The {name} query option requires a non-negative integer value."
        ))
    })
}

impl QueryOptions {
    /// Parses a raw query string.
    pub fn parse(query: Option<&str>) -> Result<Self, ODataError> {
        let mut o = QueryOptions::default();
        let Some(q) = query else { return Ok(o) };
        for part in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let key = percent_decode(k)?;
            let val = percent_decode(v)?;
            match key.as_str() {
                "$filter" => {
                    o.filter = parse_filter(&val)?;
                    o.raw_filter = Some(val);
                }
                "$top" => o.top = Some(parse_usize("$top", &val)?),
                "$skip" => o.skip = parse_usize("$skip", &val)?,
                "$orderby" => {
                    let mut words = val.split_whitespace();
                    let field = words
                        .next()
                        .ok_or_else(|| ODataError::bad_request("The $orderby query option is empty."))?;
                    let desc = match words.next() {
                        None | Some("asc") => false,
                        Some("desc") => true,
                        Some(other) => {
                            return Err(ODataError::bad_request(format!(
                                "Syntax error in $orderby: '{other}'; use asc or desc."
                            )))
                        }
                    };
                    if field.contains(',') || words.next().is_some() {
                        return Err(ODataError::bad_request(
                            "The twin orders by one field only: $orderby=<field> [asc|desc].",
                        ));
                    }
                    o.orderby = Some((field.to_string(), desc));
                }
                "$expand" => o.expand = val.split(',').map(|s| s.trim().to_string()).collect(),
                "$select" => o.select = Some(val.split(',').map(|s| s.trim().to_string()).collect()),
                k if k.starts_with('$') => {
                    return Err(ODataError::bad_request(format!(
                        "The query parameter '{k}' is not supported. Supported: $filter, $top, $skip, $orderby, $expand, $select."
                    )))
                }
                _ => o.passthrough.push((key, val)),
            }
        }
        Ok(o)
    }

    /// Checks filter and order fields against an entity type.
    pub fn check<T: Queryable>(&self) -> Result<(), ODataError> {
        let find = |name: &str| {
            T::FIELDS
                .iter()
                .find(|(f, _)| *f == name)
                .map(|(_, k)| *k)
                .ok_or_else(|| {
                    ODataError::bad_request(format!(
                        "Could not find a property named '{name}' on type '{}'.",
                        T::TYPE_NAME
                    ))
                })
        };
        for c in &self.filter {
            let kind = find(&c.field)?;
            if kind != c.value.kind() {
                return Err(ODataError::bad_request(format!(
                    "A binary operator with incompatible types was detected. Found operand types '{}' and '{}' for operator kind '{:?}'.",
                    kind.edm(),
                    c.value.kind().edm(),
                    c.op
                )));
            }
        }
        if let Some((f, _)) = &self.orderby {
            find(f)?;
        }
        Ok(())
    }

    /// Does `e` pass the filter?
    pub fn matches<T: Queryable>(&self, e: &T, epoch: OffsetDateTime) -> bool {
        self.filter.iter().all(|c| {
            let Some(v) = e.field(&c.field, epoch) else {
                return false;
            };
            let ord = match (&v, &c.value) {
                (Value::Str(a), Literal::Str(b)) => Some((*a).cmp(b.as_str())),
                (Value::Num(a), Literal::Num(b)) => a.partial_cmp(b),
                (Value::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
                // BC keeps and shows times to the millisecond: a filter on the
                // shown time must not see the twin's microseconds.
                (Value::Time(a), Literal::Time(b)) => Some(to_ms(*a).cmp(b)),
                _ => None,
            };
            let Some(ord) = ord else { return false };
            match c.op {
                Op::Eq => ord == Ordering::Equal,
                Op::Ne => ord != Ordering::Equal,
                Op::Gt => ord == Ordering::Greater,
                Op::Ge => ord != Ordering::Less,
                Op::Lt => ord == Ordering::Less,
                Op::Le => ord != Ordering::Greater,
            }
        })
    }

    pub fn expands(&self, nav: &str) -> bool {
        self.expand.iter().any(|e| e == nav)
    }

    /// Filters, orders and pages `all`; returns the page and the `$skip` of the
    /// next page if more match.
    ///
    /// Entities come as anything that derefs to one: references to decoded
    /// records, or records decoded for the page (see [`super::shelf`]).
    pub fn page<T: Queryable, R: std::ops::Deref<Target = T>>(
        &self,
        all: impl Iterator<Item = R>,
        epoch: OffsetDateTime,
        max_page: usize,
    ) -> (Vec<R>, Option<usize>) {
        let wanted = self.top.unwrap_or(usize::MAX);
        let take = wanted.min(max_page);
        // Without $orderby the collection's own order (by number) holds, so only
        // the page and one more are collected, not every match.
        let mut page: Vec<R> = match &self.orderby {
            Some((field, desc)) => {
                let mut hits: Vec<R> = all.filter(|e| self.matches(&**e, epoch)).collect();
                hits.sort_by(|a, b| {
                    let o = cmp_values(a.field(field, epoch), b.field(field, epoch));
                    if *desc {
                        o.reverse()
                    } else {
                        o
                    }
                });
                hits.into_iter().skip(self.skip).take(take.saturating_add(1)).collect()
            }
            None => all
                .filter(|e| self.matches(&**e, epoch))
                .skip(self.skip)
                .take(take.saturating_add(1))
                .collect(),
        };
        let more = page.len() > take && wanted > take;
        page.truncate(take);
        (page, more.then_some(self.skip + take))
    }

    /// The next link for a page that ended at `next_skip` (absolute when a host is known).
    pub fn next_link(&self, host: Option<&str>, path: &str, next_skip: usize) -> String {
        let mut parts: Vec<String> = self
            .passthrough
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect();
        if let Some(f) = &self.raw_filter {
            parts.push(format!("$filter={}", percent_encode(f)));
        }
        if let Some((f, desc)) = &self.orderby {
            parts.push(format!("$orderby={}{}", f, if *desc { "%20desc" } else { "" }));
        }
        if !self.expand.is_empty() {
            parts.push(format!("$expand={}", percent_encode(&self.expand.join(","))));
        }
        if let Some(sel) = &self.select {
            parts.push(format!("$select={}", percent_encode(&sel.join(","))));
        }
        if let Some(top) = self.top {
            parts.push(format!("$top={}", top - (next_skip - self.skip)));
        }
        parts.push(format!("$skip={next_skip}"));
        let q = parts.join("&");
        match host {
            Some(h) => format!("http://{h}{path}?{q}"),
            None => format!("{path}?{q}"),
        }
    }

    /// Applies `$select` to a rendered entity (keeps `@odata.etag`).
    pub fn apply_select(&self, mut v: serde_json::Value) -> serde_json::Value {
        if let (Some(sel), Some(obj)) = (&self.select, v.as_object_mut()) {
            obj.retain(|k, _| k.starts_with('@') || sel.iter().any(|s| s == k) || self.expand.iter().any(|e| e == k));
        }
        v
    }
}

fn cmp_values(a: Option<Value<'_>>, b: Option<Value<'_>>) -> Ordering {
    match (a, b) {
        (Some(Value::Str(a)), Some(Value::Str(b))) => a.cmp(b),
        (Some(Value::Num(a)), Some(Value::Num(b))) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        (Some(Value::Bool(a)), Some(Value::Bool(b))) => a.cmp(&b),
        (Some(Value::Time(a)), Some(Value::Time(b))) => a.cmp(&b),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

/// Parses `a eq 'x' and b gt 2026-01-01T00:00:00Z`.
pub fn parse_filter(s: &str) -> Result<Vec<Cmp>, ODataError> {
    let tokens = tokenize(s)?;
    let mut out = Vec::new();
    let mut i = 0;
    let syntax = |what: &str| ODataError::bad_request(format!("Syntax error in $filter '{s}': {what}."));
    loop {
        let field = match tokens.get(i) {
            Some(Tok::Word(w)) if is_ident(w) => w.clone(),
            Some(_) => return Err(syntax("expected a property name")),
            None => return Err(syntax("the filter is empty or ends after 'and'")),
        };
        let op = match tokens.get(i + 1) {
            Some(Tok::Word(w)) => match w.as_str() {
                "eq" => Op::Eq,
                "ne" => Op::Ne,
                "gt" => Op::Gt,
                "ge" => Op::Ge,
                "lt" => Op::Lt,
                "le" => Op::Le,
                "or" | "not" => return Err(syntax("the twin supports comparisons joined by 'and' only")),
                other => return Err(syntax(&format!("unknown operator '{other}'"))),
            },
            _ => return Err(syntax(&format!("expected an operator after '{field}'"))),
        };
        let value = match tokens.get(i + 2) {
            Some(Tok::Quoted(q)) => Literal::Str(q.clone()),
            Some(Tok::Word(w)) => literal(w).ok_or_else(|| syntax(&format!("'{w}' is not a literal")))?,
            None => return Err(syntax(&format!("expected a value after '{field}'"))),
        };
        out.push(Cmp { field, op, value });
        i += 3;
        match tokens.get(i) {
            None => return Ok(out),
            Some(Tok::Word(w)) if w == "and" => i += 1,
            Some(_) => return Err(syntax("expected 'and'")),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, ODataError> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut q = String::new();
            loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        q.push('\'');
                    }
                    Some('\'') => break,
                    Some(ch) => q.push(ch),
                    None => {
                        return Err(ODataError::bad_request(format!(
                            "Syntax error in $filter '{s}': unterminated string literal."
                        )))
                    }
                }
            }
            out.push(Tok::Quoted(q));
        } else if c == '(' || c == ')' {
            return Err(ODataError::bad_request(format!(
                "Syntax error in $filter '{s}': the twin supports no parentheses or functions."
            )));
        } else {
            let mut w = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() || ch == '\'' {
                    break;
                }
                w.push(ch);
                chars.next();
            }
            out.push(Tok::Word(w));
        }
    }
    Ok(out)
}

fn is_ident(w: &str) -> bool {
    w.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && w.chars().all(|c| c.is_ascii_alphanumeric())
}

fn literal(w: &str) -> Option<Literal> {
    match w {
        "true" => return Some(Literal::Bool(true)),
        "false" => return Some(Literal::Bool(false)),
        _ => {}
    }
    if let Ok(t) = OffsetDateTime::parse(w, &Rfc3339) {
        return Some(Literal::Time(t));
    }
    w.parse::<f64>().ok().filter(|n| n.is_finite()).map(Literal::Num)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct E {
        n: &'static str,
        q: f64,
        t: OffsetDateTime,
    }
    impl Queryable for E {
        const TYPE_NAME: &'static str = "Microsoft.NAV.test";
        const FIELDS: &'static [(&'static str, Kind)] = &[
            ("number", Kind::Str),
            ("inventory", Kind::Num),
            ("lastModifiedDateTime", Kind::Time),
        ];
        fn field(&self, name: &str, _: OffsetDateTime) -> Option<Value<'_>> {
            match name {
                "number" => Some(Value::Str(self.n)),
                "inventory" => Some(Value::Num(self.q)),
                "lastModifiedDateTime" => Some(Value::Time(self.t)),
                _ => None,
            }
        }
    }

    fn epoch() -> OffsetDateTime {
        crate::clock::default_epoch()
    }

    #[test]
    fn parses_eq_gt_and_with_escapes() {
        let f = parse_filter("number eq 'O''Brien' and lastModifiedDateTime gt 2026-11-27T10:00:00Z").unwrap();
        assert_eq!(f[0].value, Literal::Str("O'Brien".into()));
        assert_eq!(f[1].op, Op::Gt);
        assert!(matches!(f[1].value, Literal::Time(_)));
        assert_eq!(parse_filter("inventory le 5").unwrap()[0].value, Literal::Num(5.0));
    }

    #[test]
    fn syntax_errors_are_bad_requests() {
        for bad in [
            "",
            "number eq",
            "number like 'x'",
            "number eq 'x' or a eq 'y'",
            "contains(number,'x')",
            "x eq 'open",
        ] {
            let e = parse_filter(bad).unwrap_err();
            assert_eq!((e.status, e.code.as_str()), (400, "BadRequest"), "{bad}");
        }
    }

    #[test]
    fn query_string_is_decoded_and_checked_against_the_type() {
        let o = QueryOptions::parse(Some("$filter=number%20eq%20%27SW10000%27&$top=2&company=x")).unwrap();
        assert!(o.check::<E>().is_ok());
        let o = QueryOptions::parse(Some("$filter=colour eq 'red'")).unwrap();
        assert!(o.check::<E>().unwrap_err().message.contains("colour"));
        let o = QueryOptions::parse(Some("$filter=number eq 5")).unwrap();
        assert!(o.check::<E>().unwrap_err().message.contains("incompatible"));
        assert!(QueryOptions::parse(Some("$top=-1")).is_err());
        assert!(QueryOptions::parse(Some("$count=true")).is_err());
    }

    #[test]
    fn pages_with_next_skip_and_top() {
        let es: Vec<E> = (0..5)
            .map(|i| E {
                n: ["a", "b", "c", "d", "e"][i],
                q: i as f64,
                t: epoch(),
            })
            .collect();
        let o = QueryOptions::parse(None).unwrap();
        let (p, next) = o.page(es.iter(), epoch(), 2);
        assert_eq!((p.len(), next), (2, Some(2)));
        let o = QueryOptions::parse(Some("$skip=4")).unwrap();
        assert_eq!(o.page(es.iter(), epoch(), 2).1, None);
        // $top below the page size: no next link even though more match.
        let o = QueryOptions::parse(Some("$top=1")).unwrap();
        assert_eq!(o.page(es.iter(), epoch(), 2), (vec![&es[0]], None));
        // $top above the page size: the next link carries the rest of $top.
        let o = QueryOptions::parse(Some("$top=3&$filter=inventory ge 1")).unwrap();
        let (p, next) = o.page(es.iter(), epoch(), 2);
        assert_eq!((p.len(), next), (2, Some(2)));
        let link = o.next_link(Some("h:1"), "/x", 2);
        assert!(link.starts_with("http://h:1/x?$filter=inventory%20ge%201"), "{link}");
        assert!(link.ends_with("$top=1&$skip=2"), "{link}");
        let o = QueryOptions::parse(Some("$orderby=inventory desc")).unwrap();
        assert_eq!(o.page(es.iter(), epoch(), 10).0[0].n, "e");
    }
}
