//! `POST /api/_action/sync` with Shopware 6.5+ semantics (SHOPWARE.md §3):
//! keyed-object or list bodies; upsert and delete; the `product.number`
//! foreign-key resolver; every operation and record validated first and all
//! errors returned together with `/<op>/<index>/<field>` pointers; then one
//! all-or-nothing write; deletes of missing ids reported under `notFound`;
//! results grouped by entity name, sorted.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::errors::SwError;
use super::stock::{self, StockChange};
use super::store::{Row, Store, ENTITIES};
use super::write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Upsert,
    Delete,
}

/// One validated operation, ready to write.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub key: String,
    pub entity: &'static str,
    pub action: Action,
    /// Records with resolvers replaced by ids.
    pub records: Vec<Map<String, Value>>,
}

/// What a successful write changed, for observations and counters.
#[derive(Debug, Default)]
pub struct Applied {
    pub body: Value,
    pub stock_changes: Vec<StockChange>,
    /// (delivery id, tracking codes) written.
    pub tracking: Vec<(String, Vec<String>)>,
    pub records: usize,
}

/// The number of records a body carries (for service-time costs), without validating.
pub fn record_count(body: &Value) -> usize {
    let ops: Vec<&Value> = match body {
        Value::Object(m) => m.values().collect(),
        Value::Array(a) => a.iter().collect(),
        _ => return 0,
    };
    ops.iter()
        .filter_map(|o| o.get("payload").and_then(Value::as_array))
        .map(Vec::len)
        .sum()
}

fn invalid_op(key: &str, detail: impl Into<String>, pointer: String) -> SwError {
    SwError::new(400, "FRAMEWORK__INVALID_SYNC_OPERATION", detail)
        .pointer(pointer)
        .param("key", key.to_string())
}

/// Parses and validates the whole body. Nothing is written.
pub fn prepare(store: &Store, body: &Value) -> Result<Vec<Prepared>, Vec<SwError>> {
    let ops: Vec<(String, &Value)> = match body {
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| {
                (
                    v.get("key")
                        .and_then(Value::as_str)
                        .map_or_else(|| i.to_string(), str::to_string),
                    v,
                )
            })
            .collect(),
        _ => {
            return Err(vec![SwError::new(
                400,
                "FRAMEWORK__INVALID_SYNC_OPERATION",
                "The sync body must be an object of operations keyed by name, or a list of operations.",
            )])
        }
    };
    let mut errors = Vec::new();
    let mut prepared = Vec::new();
    // productNumbers inserted earlier in this request, so a later op can reference them.
    let mut pending_numbers: BTreeMap<String, String> = BTreeMap::new();
    for (key, op) in ops {
        let base = format!("/{key}");
        let Some(o) = op.as_object() else {
            errors.push(invalid_op(
                &key,
                format!("Sync operation '{key}' must be an object."),
                base,
            ));
            continue;
        };
        let entity_name = o.get("entity").and_then(Value::as_str).unwrap_or("");
        let Some(entity) = ENTITIES.iter().copied().find(|e| *e == entity_name) else {
            errors.push(
                SwError::new(
                    400,
                    "FRAMEWORK__DEFINITION_NOT_FOUND",
                    format!("Definition for entity \"{entity_name}\" does not exist."),
                )
                .pointer(format!("{base}/entity")),
            );
            continue;
        };
        if !write::writable(entity) {
            errors.push(invalid_op(
                &key,
                format!("The synctwin Shopware twin does not accept sync writes for entity \"{entity}\"; writable: product, order, order_delivery, order_transaction, customer."),
                format!("{base}/entity"),
            ));
            continue;
        }
        let action = match o.get("action").and_then(Value::as_str) {
            Some("upsert") => Action::Upsert,
            Some("delete") => Action::Delete,
            other => {
                errors.push(invalid_op(
                    &key,
                    format!("Sync operation '{key}' has an invalid action {other:?}; allowed: upsert, delete."),
                    format!("{base}/action"),
                ));
                continue;
            }
        };
        if o.contains_key("criteria") {
            errors.push(invalid_op(
                &key,
                "Criteria deletes are only for mapping entities, which the twin does not model.",
                format!("{base}/criteria"),
            ));
            continue;
        }
        let payload = match o.get("payload").and_then(Value::as_array) {
            Some(p) if !p.is_empty() => p,
            _ => {
                errors.push(invalid_op(
                    &key,
                    format!(
                        "Sync operation {key}, with action {}, has an empty payload.",
                        if action == Action::Upsert { "upsert" } else { "delete" }
                    ),
                    format!("{base}/payload"),
                ));
                continue;
            }
        };
        let mut records = Vec::with_capacity(payload.len());
        for (i, rec) in payload.iter().enumerate() {
            let rptr = format!("{base}/{i}");
            let Some(rec) = rec.as_object() else {
                errors.push(invalid_op(&key, "Each payload entry must be an object.", rptr));
                continue;
            };
            let mut rec = rec.clone();
            let before_resolve = errors.len();
            resolve(store, &pending_numbers, &mut rec, &key, i, &mut errors);
            if errors.len() > before_resolve {
                // An unresolved key says it all; validating the record further would only add noise.
                continue;
            }
            match action {
                Action::Delete => {
                    if !rec.get("id").is_some_and(Value::is_string) {
                        errors.push(
                            SwError::new(400, write::NOT_BLANK, "This value should not be blank.")
                                .pointer(format!("{rptr}/id")),
                        );
                    }
                }
                Action::Upsert => {
                    let existing = rec
                        .get("id")
                        .and_then(Value::as_str)
                        .and_then(|id| store.get(entity, id));
                    let before = errors.len();
                    write::validate_record(store, entity, &rec, existing.as_deref(), &rptr, &mut errors);
                    if existing.is_none() && errors.len() == before {
                        if entity == "product" {
                            if let Some(n) = rec.get("productNumber").and_then(Value::as_str) {
                                let id = rec.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
                                if pending_numbers.insert(n.to_string(), id).is_some() {
                                    errors.push(
                                        SwError::new(
                                            400,
                                            "CONTENT__DUPLICATE_PRODUCT_NUMBER",
                                            format!("Product with number \"{n}\" already exists."),
                                        )
                                        .pointer(format!("{rptr}/productNumber")),
                                    );
                                }
                            }
                        }
                        if !rec.get("id").is_some_and(Value::is_string) {
                            errors.push(
                                SwError::new(
                                    400,
                                    write::NOT_BLANK,
                                    "An id is required: the twin does not generate ids for sync inserts.",
                                )
                                .pointer(format!("{rptr}/id")),
                            );
                        }
                    }
                }
            }
            records.push(rec);
        }
        prepared.push(Prepared {
            key,
            entity,
            action,
            records,
        });
    }
    if errors.is_empty() {
        Ok(prepared)
    } else {
        Err(errors)
    }
}

/// Replaces `{"resolver":"product.number","value":"SW1"}` with the product id.
fn resolve(
    store: &Store,
    pending: &BTreeMap<String, String>,
    rec: &mut Map<String, Value>,
    key: &str,
    index: usize,
    errors: &mut Vec<SwError>,
) {
    for (field, value) in rec.iter_mut() {
        let Some(o) = value.as_object() else { continue };
        let Some(resolver) = o.get("resolver").and_then(Value::as_str) else {
            continue;
        };
        let wanted = o.get("value").and_then(Value::as_str).unwrap_or_default().to_string();
        let null_on_missing = o.get("nullOnMissing").and_then(Value::as_bool).unwrap_or(false);
        let found = match resolver {
            "product.number" => store
                .product_by_number(&wanted)
                .or_else(|| pending.get(&wanted).cloned()),
            _ => {
                errors.push(
                    SwError::new(
                        400,
                        "FRAMEWORK__API_INVALID_SYNC_RESOLVERS",
                        format!("Unknown foreign key resolver \"{resolver}\"; the twin supports product.number."),
                    )
                    .pointer(format!("/{key}/{index}/{field}")),
                );
                continue;
            }
        };
        match found {
            Some(id) => *value = Value::String(id),
            None if null_on_missing => *value = Value::Null,
            None => errors.push(
                SwError::new(
                    400,
                    "FRAMEWORK__API_INVALID_SYNC_RESOLVERS",
                    format!("Can not resolve foreign key at position {key}/{index}/{field}. Value: {wanted}"),
                )
                .pointer(format!("/{key}/{index}/{field}")),
            ),
        }
    }
}

/// Writes validated operations in one go. `reindex` is false with
/// `indexing-behavior: disable-indexing` (then `available` goes stale).
pub fn apply(store: &mut Store, ops: Vec<Prepared>, reindex: bool, now: &str) -> Applied {
    let mut data: BTreeMap<&'static str, Vec<Value>> = BTreeMap::new();
    let mut not_found: BTreeMap<&'static str, Vec<Value>> = BTreeMap::new();
    let mut deleted: BTreeMap<&'static str, Vec<Value>> = BTreeMap::new();
    let mut out = Applied::default();
    for op in ops {
        for rec in op.records {
            out.records += 1;
            let Some(id) = rec.get("id").and_then(Value::as_str).map(str::to_string) else {
                // A null id after nullOnMissing: nothing to write, as Shopware skips it.
                continue;
            };
            match op.action {
                Action::Delete => {
                    if store.delete(op.entity, &id).is_some() {
                        deleted.entry(op.entity).or_default().push(json!(id));
                    } else {
                        not_found.entry(op.entity).or_default().push(json!(id));
                    }
                }
                Action::Upsert => {
                    upsert(store, op.entity, &id, rec, reindex, now, &mut out);
                    data.entry(op.entity).or_default().push(json!(id));
                }
            }
        }
    }
    // Empty maps come out as `[]`, as PHP encodes them.
    let to_obj = |m: BTreeMap<&'static str, Vec<Value>>| -> Value {
        super::errors::php_map(&m.into_iter().map(|(k, v)| (k.to_string(), Value::Array(v))).collect())
    };
    out.body =
        json!({"extensions": [], "data": to_obj(data), "notFound": to_obj(not_found), "deleted": to_obj(deleted)});
    out
}

/// Inserts or updates one record, keeping derived product fields right.
pub fn upsert(
    store: &mut Store,
    entity: &'static str,
    id: &str,
    rec: Map<String, Value>,
    reindex: bool,
    now: &str,
    out: &mut Applied,
) {
    let new_stock = rec.get("stock").and_then(Value::as_i64);
    let touches_availability = ["isCloseout", "minPurchase", "parentId"]
        .iter()
        .any(|f| rec.contains_key(*f));
    if entity == "order_delivery" {
        if let Some(codes) = rec.get("trackingCodes").and_then(Value::as_array) {
            out.tracking.push((
                id.to_string(),
                codes.iter().filter_map(|c| c.as_str().map(str::to_string)).collect(),
            ));
        }
    }
    if store.contains(entity, id) {
        let mut fields = rec;
        fields.remove("stock");
        fields.insert("updatedAt".into(), json!(now));
        store.update(entity, id, &fields);
    } else {
        let mut row: Row = rec;
        row.remove("stock");
        defaults_for_insert(entity, &mut row, now);
        row.insert("stock".into(), json!(0));
        store.put(entity, row);
        if entity == "product" && new_stock.is_none() {
            stock::reindex_available(store, id);
        }
    }
    if entity == "product" {
        if let Some(s) = new_stock {
            if let Some(change) = stock::set_stock(store, id, s, reindex) {
                out.stock_changes.push(change);
            }
        } else if touches_availability && reindex {
            stock::reindex_available(store, id);
        }
    }
}

fn defaults_for_insert(entity: &str, row: &mut Row, now: &str) {
    let defaults = [
        ("active", json!(true)),
        ("available", json!(true)),
        ("availableStock", json!(0)),
        ("sales", json!(0)),
        ("isCloseout", Value::Null),
        ("minPurchase", Value::Null),
        ("maxPurchase", Value::Null),
        ("customFields", Value::Null),
        ("parentId", Value::Null),
    ];
    if entity == "product" {
        for (k, v) in defaults {
            row.entry(k.to_string()).or_insert(v);
        }
    }
    row.insert("createdAt".into(), json!(now));
    row.insert("updatedAt".into(), Value::Null);
    row.insert("apiAlias".into(), json!(entity));
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-11-27T01:00:00.000+00:00";

    fn store() -> Store {
        let mut s = Store::new();
        let put = |s: &mut Store, e: &'static str, v: Value| s.put(e, v.as_object().unwrap().clone());
        put(&mut s, "tax", json!({"id":"t19","taxRate":19.0}));
        put(
            &mut s,
            "product",
            json!({"id":"p1","productNumber":"SW1","stock":0,"isCloseout":true,"minPurchase":1,"available":false}),
        );
        put(
            &mut s,
            "product",
            json!({"id":"p2","productNumber":"SW2","stock":4,"isCloseout":false,"available":true}),
        );
        s
    }

    #[test]
    fn resolver_and_stock_update_with_indexing() {
        let mut s = store();
        let body = json!({"stock": {"entity":"product","action":"upsert","payload":[
            {"id":{"resolver":"product.number","value":"SW1"},"stock":5}]}});
        let ops = prepare(&s, &body).unwrap();
        let applied = apply(&mut s, ops, true, NOW);
        assert_eq!(applied.body["data"]["product"], json!(["p1"]));
        assert_eq!(applied.stock_changes[0].after, 5);
        assert!(applied.stock_changes[0].available, "indexing recomputes available");
        assert_eq!(s.get("product", "p1").unwrap()["updatedAt"], json!(NOW));
    }

    #[test]
    fn closeout_restock_with_indexing_disabled_stays_unavailable() {
        let mut s = store();
        let body = json!([{"entity":"product","action":"upsert","payload":[{"id":"p1","stock":9}]}]);
        let ops = prepare(&s, &body).unwrap();
        let applied = apply(&mut s, ops, false, NOW);
        assert!(!applied.stock_changes[0].available);
        assert_eq!(s.get("product", "p1").unwrap()["available"], json!(false));
    }

    #[test]
    fn one_bad_record_rolls_back_everything_and_errors_are_aggregated() {
        let s = store();
        let body = json!({
            "a": {"entity":"product","action":"upsert","payload":[{"id":"p2","stock":1},{"id":"p1","stock":"x"}]},
            "b": {"entity":"product","action":"upsert","payload":[{"id":{"resolver":"product.number","value":"NOPE"},"stock":1}]},
            "c": {"entity":"product","action":"upsert","payload":[]},
            "d": {"entity":"category","action":"upsert","payload":[{"id":"x"}]},
            "e": {"entity":"product","action":"patch","payload":[{"id":"x"}]}
        });
        let errs = prepare(&s, &body).unwrap_err();
        let ptrs: Vec<_> = errs
            .iter()
            .map(|e| (e.code.as_str(), e.pointer.clone().unwrap_or_default()))
            .collect();
        assert!(ptrs.contains(&(write::WRONG_TYPE, "/a/1/stock".into())), "{ptrs:?}");
        assert!(
            ptrs.contains(&("FRAMEWORK__API_INVALID_SYNC_RESOLVERS", "/b/0/id".into())),
            "{ptrs:?}"
        );
        assert!(
            ptrs.contains(&("FRAMEWORK__INVALID_SYNC_OPERATION", "/c/payload".into())),
            "{ptrs:?}"
        );
        assert!(
            ptrs.contains(&("FRAMEWORK__DEFINITION_NOT_FOUND", "/d/entity".into())),
            "{ptrs:?}"
        );
        assert!(
            ptrs.contains(&("FRAMEWORK__INVALID_SYNC_OPERATION", "/e/action".into())),
            "{ptrs:?}"
        );
        // Nothing was written: p2 still has its stock.
        assert_eq!(s.get("product", "p2").unwrap()["stock"], json!(4));
    }

    #[test]
    fn upsert_of_deleted_product_becomes_an_insert_that_fails_on_required_fields() {
        let mut s = store();
        let del = json!({"d": {"entity":"product","action":"delete","payload":[{"id":"p2"},{"id":"gone"}]}});
        let ops = prepare(&s, &del).unwrap();
        let applied = apply(&mut s, ops, true, NOW);
        assert_eq!(applied.body["deleted"]["product"], json!(["p2"]));
        assert_eq!(applied.body["notFound"]["product"], json!(["gone"]));
        let again = json!({"s": {"entity":"product","action":"upsert","payload":[{"id":"p2","stock":3}]}});
        let errs = prepare(&s, &again).unwrap_err();
        assert!(errs
            .iter()
            .any(|e| e.pointer.as_deref() == Some("/s/0/productNumber") && e.code == write::NOT_BLANK));
    }

    #[test]
    fn counts_records_without_validating() {
        let body = json!({"a": {"payload":[{},{}]}, "b": {"payload":[{}]}});
        assert_eq!(record_count(&body), 3);
        assert_eq!(record_count(&json!("x")), 0);
    }
}
