//! What the audit reads, and reading it: the shop's products, taxes and recent
//! orders through the Shopware Admin API (paged, at most 500 rows a request,
//! sorted so pages do not shift), and the ERP's item master through the
//! Business Central API or from an item-master CSV. The snapshots are plain
//! data so the checks ([`super::checks`]) are pure.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::engine::http::erp::ErpClient;
use crate::engine::http::shopware::ShopwareClient;
use crate::engine::http::CallError;

/// Rows per Admin API search (Shopware's maximum `limit`).
pub const PAGE_LIMIT: usize = 500;

/// A product row as the audit needs it (own values; inheritance is resolved by the checks).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShopProduct {
    pub id: String,
    pub parent_id: Option<String>,
    pub number: Option<String>,
    pub name: Option<String>,
    /// Own `isCloseout`: `None` on a variant means inherited from the parent.
    pub is_closeout: Option<bool>,
    pub stock: i64,
    pub available: Option<bool>,
    /// Own `active`: `None` on a variant means inherited.
    pub active: Option<bool>,
    pub tax_id: Option<String>,
}

/// A tax rate of the shop.
#[derive(Debug, Clone, PartialEq)]
pub struct ShopTax {
    pub id: String,
    pub rate: f64,
    pub name: String,
}

/// The shop as the audit saw it.
#[derive(Debug, Clone, Default)]
pub struct ShopSnapshot {
    pub products: Vec<ShopProduct>,
    pub taxes: Vec<ShopTax>,
    /// Orders of the window, as the Admin API returns them with `lineItems`
    /// and `orderCustomer.customer` (the shape the engine maps).
    pub orders: Vec<Value>,
}

/// One ERP item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErpItemInfo {
    pub blocked: bool,
    /// An inventory item (carries stock), rather than a service or non-inventory item.
    pub inventory: bool,
    pub on_hand: i64,
}

/// The ERP's item master by item number.
#[derive(Debug, Clone, Default)]
pub struct ErpSnapshot {
    pub items: BTreeMap<String, ErpItemInfo>,
}

/// A source that could not be read; the message names the endpoint or file.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The call error is part of the message (not a `source`), so `{:#}` prints it once.
    #[error("cannot read {what} from Shopware at {base}: {error}")]
    Shopware {
        what: &'static str,
        base: String,
        error: Box<CallError>,
    },
    #[error("cannot read the item master from the ERP at {base}: {error}")]
    Erp { base: String, error: Box<CallError> },
    #[error("{0}")]
    Csv(#[from] crate::twin::erp::csv::CsvError),
    #[error("Shopware at {base} answered a search for {what} without a `data` list")]
    NoData { what: &'static str, base: String },
}

fn text(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

/// Every row of a search, page by page (`limit` ≤ 500, `total-count-mode` 1),
/// until a short page or the reported total.
pub async fn search_all(
    shop: &ShopwareClient,
    base: &str,
    entity: &'static str,
    mut criteria: Value,
) -> Result<Vec<Value>, SourceError> {
    let mut rows = Vec::new();
    for page in 1.. {
        criteria["limit"] = json!(PAGE_LIMIT);
        criteria["page"] = json!(page);
        criteria["total-count-mode"] = json!(1);
        let v = shop
            .search(entity, &criteria)
            .await
            .map_err(|e| SourceError::Shopware {
                what: entity,
                base: base.to_string(),
                error: Box::new(e),
            })?;
        let data = v.get("data").and_then(Value::as_array).ok_or(SourceError::NoData {
            what: entity,
            base: base.to_string(),
        })?;
        let n = data.len();
        rows.extend(data.iter().cloned());
        let total = v.get("total").and_then(Value::as_u64).map(|t| t as usize);
        if n < PAGE_LIMIT || total.is_some_and(|t| rows.len() >= t) {
            break;
        }
    }
    Ok(rows)
}

/// Products, taxes and the orders created in `[since, until]` (RFC 3339).
pub async fn read_shop(
    shop: &ShopwareClient,
    base: &str,
    since: &str,
    until: &str,
) -> Result<ShopSnapshot, SourceError> {
    let fields = [
        "id",
        "parentId",
        "productNumber",
        "name",
        "isCloseout",
        "stock",
        "available",
        "active",
        "taxId",
    ];
    let products = search_all(
        shop,
        base,
        "product",
        json!({"sort": [{"field": "id", "order": "ASC"}], "includes": {"product": fields}}),
    )
    .await?
    .iter()
    .map(|p| ShopProduct {
        id: text(p, "id").unwrap_or_default(),
        parent_id: text(p, "parentId"),
        number: text(p, "productNumber"),
        name: text(p, "name"),
        is_closeout: p.get("isCloseout").and_then(Value::as_bool),
        stock: p.get("stock").and_then(Value::as_i64).unwrap_or(0),
        available: p.get("available").and_then(Value::as_bool),
        active: p.get("active").and_then(Value::as_bool),
        tax_id: text(p, "taxId"),
    })
    .collect();
    let taxes = search_all(shop, base, "tax", json!({"sort": [{"field": "id", "order": "ASC"}]}))
        .await?
        .iter()
        .map(|t| ShopTax {
            id: text(t, "id").unwrap_or_default(),
            rate: t.get("taxRate").and_then(Value::as_f64).unwrap_or(0.0),
            name: text(t, "name").unwrap_or_default(),
        })
        .collect();
    let orders = search_all(
        shop,
        base,
        "order",
        json!({
            "filter": [{"type": "range", "field": "createdAt", "parameters": {"gte": since, "lte": until}}],
            "sort": [{"field": "createdAt", "order": "ASC"}, {"field": "id", "order": "ASC"}],
            "associations": {"lineItems": {}, "orderCustomer": {"associations": {"customer": {}}}}
        }),
    )
    .await?;
    Ok(ShopSnapshot {
        products,
        taxes,
        orders,
    })
}

/// The item master through the Business Central API (all pages).
pub async fn read_erp(erp: &ErpClient, base: &str) -> Result<ErpSnapshot, SourceError> {
    let rows = erp.item_rows().await.map_err(|e| SourceError::Erp {
        base: base.to_string(),
        error: Box::new(e),
    })?;
    Ok(ErpSnapshot {
        items: rows
            .iter()
            .filter_map(|i| {
                Some((
                    text(i, "number")?,
                    ErpItemInfo {
                        blocked: i.get("blocked").and_then(Value::as_bool).unwrap_or(false),
                        inventory: i.get("type").and_then(Value::as_str) == Some("Inventory"),
                        on_hand: i.get("inventory").and_then(Value::as_f64).unwrap_or(0.0) as i64,
                    },
                ))
            })
            .collect(),
    })
}

/// The item master from a CSV (`number,type,description,unit price,tax code,on hand`).
pub fn read_items_csv(path: &Path) -> Result<ErpSnapshot, SourceError> {
    use crate::twin::erp::csv::{parse, tax_codes_in, CsvError};
    let text = std::fs::read_to_string(path).map_err(|error| CsvError::Read {
        path: path.display().to_string(),
        error,
    })?;
    let rows = parse(&path.display().to_string(), &text, &tax_codes_in(&text))?;
    Ok(ErpSnapshot {
        items: rows
            .into_iter()
            .map(|r| {
                let inventory = r.item_type == crate::twin::erp::ItemType::Inventory;
                (
                    r.number,
                    ErpItemInfo {
                        blocked: false,
                        inventory,
                        on_hand: r.on_hand,
                    },
                )
            })
            .collect(),
    })
}
