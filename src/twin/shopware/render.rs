//! Rendering rows as the Admin API shows them: plain JSON (`application/json`)
//! with associations inlined, or JSON:API (`application/vnd.api+json`, also the
//! answer to `*/*`) with `relationships` and `included`; `includes` trims
//! fields per `apiAlias` in both.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::criteria::Criteria;
use super::search;
use super::store::{association, url_name, Row, Store};

/// The two response formats, chosen by `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    JsonApi,
}

impl Format {
    /// Shopware's choice by `Accept` (ResponseFactoryRegistry): JSON for
    /// `application/json`, JSON:API for `application/vnd.api+json` and `*/*`
    /// (and a missing header); anything else is 415.
    pub fn from_accept(accept: Option<&str>) -> Option<Format> {
        let Some(accept) = accept else {
            return Some(Format::JsonApi);
        };
        let mut best = None;
        for part in accept.split(',') {
            let media = part.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            match media.as_str() {
                "application/json" => return Some(Format::Json),
                "application/vnd.api+json" | "*/*" | "application/*" => best = best.or(Some(Format::JsonApi)),
                _ => {}
            }
        }
        best
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::JsonApi => "application/vnd.api+json",
        }
    }
}

/// A row rendered as JSON with its requested associations.
pub fn row_json(store: &Store, entity: &str, row: &Row, c: &Criteria) -> Value {
    let mut out = row.clone();
    for (name, sub) in &c.associations {
        let Some(assoc) = association(entity, name) else {
            continue;
        };
        let related = store.related(row, assoc);
        let value = if assoc.is_many() {
            let res = search::run(store, assoc.to, related, sub);
            Value::Array(res.rows.iter().map(|r| row_json(store, assoc.to, r, sub)).collect())
        } else {
            related
                .first()
                .map_or(Value::Null, |r| row_json(store, assoc.to, r, sub))
        };
        out.insert(name.clone(), value);
    }
    Value::Object(out)
}

/// Applies `includes` (apiAlias -> fields) to a rendered tree.
pub fn apply_includes(v: &mut Value, includes: &BTreeMap<String, Vec<String>>) {
    if includes.is_empty() {
        return;
    }
    match v {
        Value::Object(m) => {
            if let Some(fields) = m.get("apiAlias").and_then(Value::as_str).and_then(|a| includes.get(a)) {
                let keep: BTreeSet<&str> = fields.iter().map(String::as_str).chain(["apiAlias"]).collect();
                m.retain(|k, _| keep.contains(k.as_str()));
            }
            for (_, child) in m.iter_mut() {
                apply_includes(child, includes);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| apply_includes(i, includes)),
        _ => {}
    }
}

/// `{"total", "data", "aggregations"}` for a JSON search.
///
/// Written as text one record at a time: a page of 250 orders with their
/// associations is a few MB as text and several times that as JSON values.
pub fn search_json(store: &Store, entity: &str, res: &search::SearchResult, c: &Criteria) -> Vec<u8> {
    let write = |out: &mut Vec<u8>, v: &Value| serde_json::to_writer(out, v).expect("JSON values always serialise");
    let mut out = Vec::with_capacity(64 + res.rows.len() * 1024);
    out.extend_from_slice(b"{\"total\":");
    write(&mut out, &json!(res.total));
    out.extend_from_slice(b",\"data\":[");
    for (i, r) in res.rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let mut d = row_json(store, entity, r, c);
        apply_includes(&mut d, &c.includes);
        write(&mut out, &d);
    }
    out.extend_from_slice(b"],\"aggregations\":");
    write(&mut out, &Value::Object(res.aggregations.clone()));
    out.push(b'}');
    out
}

/// `{"data": {...}}` for a JSON detail read.
pub fn detail_json(store: &Store, entity: &str, row: &Row, c: &Criteria) -> Value {
    let mut d = row_json(store, entity, row, c);
    apply_includes(&mut d, &c.includes);
    json!({"data": d})
}

/// Builds JSON:API documents, collecting `included` resources once each.
struct JsonApi<'a> {
    store: &'a Store,
    base: String,
    included: Vec<Value>,
    seen: BTreeSet<(String, String)>,
    includes: &'a BTreeMap<String, Vec<String>>,
}

impl<'a> JsonApi<'a> {
    fn resource(&mut self, entity: &str, row: &Row, c: &Criteria) -> Value {
        let id = row.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        let mut attributes: Map<String, Value> = row
            .iter()
            .filter(|(k, _)| k.as_str() != "id" && k.as_str() != "apiAlias")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(fields) = self.includes.get(entity) {
            attributes.retain(|k, _| fields.iter().any(|f| f == k));
        }
        let self_link = format!("{}/api/{}/{}", self.base, url_name(entity), id);
        let mut relationships = Map::new();
        for (name, sub) in &c.associations {
            let Some(assoc) = association(entity, name) else {
                continue;
            };
            let related = self.store.related(row, assoc);
            let rows: Vec<Arc<Row>> = if assoc.is_many() {
                search::run(self.store, assoc.to, related, sub).rows
            } else {
                related.into_iter().take(1).collect()
            };
            let mut ids = Vec::new();
            for r in &rows {
                let rid = r.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
                ids.push(json!({"type": assoc.to, "id": rid}));
                if self.seen.insert((assoc.to.to_string(), rid)) {
                    let res = self.resource(assoc.to, r, sub);
                    self.included.push(res);
                }
            }
            let data = if assoc.is_many() {
                Value::Array(ids)
            } else {
                ids.into_iter().next().unwrap_or(Value::Null)
            };
            let kebab: String = name
                .chars()
                .flat_map(|ch| {
                    if ch.is_ascii_uppercase() {
                        vec!['-', ch.to_ascii_lowercase()]
                    } else {
                        vec![ch]
                    }
                })
                .collect();
            relationships.insert(
                name.clone(),
                json!({"data": data, "links": {"related": format!("{self_link}/{kebab}")}}),
            );
        }
        json!({
            "id": id,
            "type": entity,
            "attributes": attributes,
            "links": {"self": self_link},
            "relationships": relationships,
            "meta": null,
        })
    }
}

/// A JSON:API search document.
pub fn search_jsonapi(store: &Store, entity: &str, res: &search::SearchResult, c: &Criteria, base: &str) -> Value {
    let mut doc = JsonApi {
        store,
        base: base.to_string(),
        included: Vec::new(),
        seen: BTreeSet::new(),
        includes: &c.includes,
    };
    let data: Vec<Value> = res.rows.iter().map(|r| doc.resource(entity, r, c)).collect();
    let self_link = format!("{base}/api/search/{}", url_name(entity));
    json!({
        "data": data,
        "included": doc.included,
        "links": {"self": self_link},
        "meta": {"totalCountMode": c.total_count_mode.as_number(), "total": res.total},
        "aggregations": Value::Object(res.aggregations.clone()),
    })
}

/// A JSON:API detail document.
pub fn detail_jsonapi(store: &Store, entity: &str, row: &Row, c: &Criteria, base: &str) -> Value {
    let mut doc = JsonApi {
        store,
        base: base.to_string(),
        included: Vec::new(),
        seen: BTreeSet::new(),
        includes: &c.includes,
    };
    let data = doc.resource(entity, row, c);
    json!({"data": data, "included": doc.included, "links": {"self": data["links"]["self"].clone()}, "meta": null})
}

#[cfg(test)]
mod tests {
    use super::super::criteria::parse;
    use super::*;

    fn shop() -> Store {
        let mut s = Store::new();
        let put = |s: &mut Store, e: &'static str, v: Value| s.put(e, v.as_object().unwrap().clone());
        put(
            &mut s,
            "order",
            json!({"id":"o1","orderNumber":"10001","apiAlias":"order","price":{"totalPrice":10.0,"apiAlias":"cart_price"}}),
        );
        put(
            &mut s,
            "order_line_item",
            json!({"id":"l1","orderId":"o1","quantity":2,"position":2,"apiAlias":"order_line_item"}),
        );
        put(
            &mut s,
            "order_line_item",
            json!({"id":"l2","orderId":"o1","quantity":1,"position":1,"apiAlias":"order_line_item"}),
        );
        s
    }

    #[test]
    fn accept_header_picks_format_like_shopware() {
        assert_eq!(Format::from_accept(Some("application/json")), Some(Format::Json));
        assert_eq!(
            Format::from_accept(Some("application/vnd.api+json")),
            Some(Format::JsonApi)
        );
        assert_eq!(Format::from_accept(Some("*/*")), Some(Format::JsonApi));
        assert_eq!(Format::from_accept(None), Some(Format::JsonApi));
        assert_eq!(Format::from_accept(Some("text/html")), None);
    }

    #[test]
    fn associations_inline_with_nested_sort_and_includes_trim() {
        let s = shop();
        let c = parse(&json!({"associations":{"lineItems":{"sort":[{"field":"position"}]}},
            "includes":{"order":["orderNumber","lineItems"],"order_line_item":["quantity"]}}))
        .unwrap();
        let res = search::search(&s, "order", &c);
        let v: Value = serde_json::from_slice(&search_json(&s, "order", &res, &c)).unwrap();
        assert_eq!(v["total"], 1);
        assert_eq!(v["aggregations"], json!({}));
        let order = &v["data"][0];
        assert_eq!(order["orderNumber"], "10001");
        assert!(order.get("price").is_none(), "trimmed by includes");
        assert_eq!(
            order["lineItems"][0],
            json!({"quantity":1,"apiAlias":"order_line_item"})
        );
        assert_eq!(order["apiAlias"], "order");
    }

    #[test]
    fn jsonapi_has_relationships_and_included_once() {
        let s = shop();
        let c = parse(&json!({"associations":{"lineItems":{}}, "total-count-mode": 1})).unwrap();
        let res = search::search(&s, "order", &c);
        let v = search_jsonapi(&s, "order", &res, &c, "http://h");
        assert_eq!(v["data"][0]["type"], "order");
        assert_eq!(
            v["data"][0]["relationships"]["lineItems"]["data"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            v["data"][0]["relationships"]["lineItems"]["links"]["related"],
            "http://h/api/order/o1/line-items"
        );
        assert_eq!(v["included"].as_array().unwrap().len(), 2);
        assert_eq!(v["meta"], json!({"totalCountMode":1,"total":1}));
        assert!(v["data"][0]["attributes"].get("id").is_none());
    }
}
