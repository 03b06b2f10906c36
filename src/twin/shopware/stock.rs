//! Stock as Shopware 6.6+ keeps it (SHOPWARE.md §7).
//!
//! `stock` is real-time sellable stock: taken when an order is placed, given back
//! on cancel, taken again on reopen; `availableStock` mirrors it on every write.
//! `available` is derived: a closeout product (`isCloseout`, inherited from the
//! parent when null) is available only while `stock >= minPurchase`; any other
//! product is always available. Shopware recomputes `available` only when the
//! product indexer runs, so a write with indexing disabled leaves it stale.

use std::borrow::Cow;

use serde_json::{json, Value};

use super::store::{Row, Store};

/// A product field, falling back to the parent's value when the variant's is
/// null (Shopware's inheritance).
pub fn inherited<'a>(store: &Store, row: &'a Row, field: &str) -> Option<Cow<'a, Value>> {
    match row.get(field) {
        Some(v) if !v.is_null() => Some(Cow::Borrowed(v)),
        _ => row
            .get("parentId")
            .and_then(Value::as_str)
            .and_then(|p| store.get("product", p))
            .and_then(|parent| parent.get(field).cloned())
            .filter(|v| !v.is_null())
            .map(Cow::Owned),
    }
}

/// The `available` flag Shopware's indexer would compute now.
/// `IFNULL(cl, parent.cl) * stock >= IFNULL(cl, parent.cl) * IFNULL(minPurchase, parent.minPurchase)`
pub fn compute_available(store: &Store, row: &Row) -> bool {
    let closeout = inherited(store, row, "isCloseout")
        .as_deref()
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if !closeout {
        return true;
    }
    let stock = row.get("stock").and_then(Value::as_i64).unwrap_or(0);
    let min = inherited(store, row, "minPurchase")
        .as_deref()
        .and_then(Value::as_i64)
        .unwrap_or(1);
    stock >= min
}

/// Is the product a closeout product (own or inherited flag)?
pub fn is_closeout(store: &Store, row: &Row) -> bool {
    inherited(store, row, "isCloseout")
        .as_deref()
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The result of a stock change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockChange {
    pub product_number: String,
    pub before: i64,
    pub after: i64,
    /// `available` after the change (stale if the indexer did not run).
    pub available: bool,
}

/// Adds `delta` to a product's stock (order placement passes a negative delta)
/// and mirrors `availableStock`. With `reindex` the `available` flag is
/// recomputed, as Shopware's StockStorage does for order-driven changes.
pub fn apply_delta(store: &mut Store, product_id: &str, delta: i64, reindex: bool) -> Option<StockChange> {
    let row = store.get("product", product_id)?;
    let before = row.get("stock").and_then(Value::as_i64).unwrap_or(0);
    set_stock(store, product_id, before + delta, reindex)
}

/// Writes an absolute stock figure (sync or PATCH).
pub fn set_stock(store: &mut Store, product_id: &str, stock: i64, reindex: bool) -> Option<StockChange> {
    let row = store.get("product", product_id)?;
    let before = row.get("stock").and_then(Value::as_i64).unwrap_or(0);
    let number = row
        .get("productNumber")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let sales = row.get("sales").and_then(Value::as_i64).unwrap_or(0);
    store.set_field("product", product_id, "stock", json!(stock));
    store.set_field("product", product_id, "availableStock", json!(stock));
    if stock < before {
        store.set_field("product", product_id, "sales", json!(sales + (before - stock).max(0)));
    }
    if reindex {
        reindex_available(store, product_id);
    }
    let available = store
        .get("product", product_id)
        .and_then(|r| r.get("available").and_then(Value::as_bool))
        .unwrap_or(false);
    Some(StockChange {
        product_number: number,
        before,
        after: stock,
        available,
    })
}

/// Recomputes `available` for a product and, for a parent, its variants.
pub fn reindex_available(store: &mut Store, product_id: &str) {
    let mut ids = vec![product_id.to_string()];
    ids.extend(store.ids_by_fk("product", "parentId", product_id));
    for id in ids {
        if let Some(row) = store.get("product", &id) {
            let a = compute_available(store, &row);
            store.set_field("product", &id, "available", json!(a));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(store: &mut Store, v: Value) {
        store.put("product", v.as_object().unwrap().clone());
    }

    fn shop() -> Store {
        let mut s = Store::new();
        put(
            &mut s,
            json!({"id":"p","productNumber":"SW1","stock":0,"isCloseout":true,"minPurchase":1,"available":false}),
        );
        put(
            &mut s,
            json!({"id":"v","parentId":"p","productNumber":"SW1.1","stock":0,"isCloseout":null,"minPurchase":null,"available":false}),
        );
        put(
            &mut s,
            json!({"id":"n","productNumber":"SW2","stock":0,"isCloseout":false,"available":true}),
        );
        s
    }

    #[test]
    fn closeout_is_inherited_and_gates_availability() {
        let s = shop();
        let v = s.get("product", "v").unwrap();
        assert!(is_closeout(&s, &v));
        assert!(!compute_available(&s, &v));
        assert!(
            compute_available(&s, &s.get("product", "n").unwrap()),
            "non-closeout is always available"
        );
    }

    #[test]
    fn restock_with_reindex_makes_closeout_available_without_it_stays_stale() {
        let mut s = shop();
        let c = set_stock(&mut s, "v", 5, false).unwrap();
        assert_eq!(
            (c.before, c.after, c.available),
            (0, 5, false),
            "indexing disabled: stale"
        );
        let c = set_stock(&mut s, "v", 5, true).unwrap();
        assert!(c.available);
        assert_eq!(s.get("product", "v").unwrap()["availableStock"], json!(5));
    }

    #[test]
    fn order_delta_takes_stock_and_counts_sales() {
        let mut s = shop();
        set_stock(&mut s, "n", 10, true);
        let c = apply_delta(&mut s, "n", -3, true).unwrap();
        assert_eq!((c.before, c.after), (10, 7));
        assert_eq!(s.get("product", "n").unwrap()["sales"], json!(3));
        assert!(apply_delta(&mut s, "missing", -1, true).is_none());
    }
}
