//! Running parsed criteria against the store: filtering (dot paths through
//! associations, SQL-join semantics for to-many), sorting, paging, totals by
//! `total-count-mode`, and aggregations. Rendering lives in [`super::render`].

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::criteria::{AggKind, Criteria, Filter, Sort, TotalCountMode};
use super::store::{Row, Store};

/// The outcome of a search: matching rows of one page, and the total.
#[derive(Debug)]
pub struct SearchResult {
    pub rows: Vec<Arc<Row>>,
    pub total: usize,
    pub aggregations: Map<String, Value>,
}

/// Rows a search keeps decoded while it runs; past this it keeps ids and
/// decodes the page again, so a scan of a big table never holds it decoded.
const KEEP_DECODED: usize = 2_000;

/// Runs `c` over all rows of `entity`.
pub fn search(store: &Store, entity: &str, c: &Criteria) -> SearchResult {
    if let Some(res) = created_ordered(store, entity, c) {
        return res;
    }
    let by_ids = |ids: &[String]| run(store, entity, ids.iter().filter_map(|id| store.get(entity, id)), c);
    if let Some(ids) = &c.ids {
        return by_ids(ids);
    }
    match indexed_candidates(store, entity, &c.filter) {
        Some(ids) => by_ids(&ids),
        None => run(store, entity, store.rows(entity), c),
    }
}

/// Rows narrowed through an index by a top-level filter (every filter still
/// runs on them afterwards), so lookups do not scan the table:
/// - `id`, or a unique field (`product.productNumber`, `order.orderNumber`),
///   pinned by `equals` / `equalsAny`;
/// - the same through a many-to-one association whose foreign key is indexed
///   (`order-delivery` by `order.orderNumber`);
/// - a `range` on `order.createdAt` (the export watermark's query).
fn indexed_candidates(store: &Store, entity: &str, filters: &[Filter]) -> Option<Vec<String>> {
    for f in filters {
        let found = match f {
            Filter::Equals { field, value } => pinned_ids(store, entity, field, std::slice::from_ref(value)),
            Filter::EqualsAny { field, values } => pinned_ids(store, entity, field, values),
            Filter::Range { field, bounds } => created_range_ids(store, entity, field, bounds),
            _ => None,
        };
        let Some(mut ids) = found else { continue };
        // Keep the table's (id) order, as a scan would.
        ids.sort_unstable();
        ids.dedup();
        return Some(ids);
    }
    None
}

/// Ids of `entity` rows whose `field` may equal one of `values`, if an index
/// answers that.
fn pinned_ids(store: &Store, entity: &str, field: &str, values: &[Value]) -> Option<Vec<String>> {
    let field = own_field(entity, field);
    if entity == "product" && field == "available" && values == [Value::Bool(false)] {
        return Some(store.unavailable_products());
    }
    // `null` (or a number) matches rows the indexes do not hold: scan instead.
    if !values.iter().all(Value::is_string) {
        return None;
    }
    let keys = values.iter().filter_map(Value::as_str);
    if field == "id" {
        return Some(keys.filter(|k| store.contains(entity, k)).map(str::to_string).collect());
    }
    if Store::is_unique(entity, field) {
        return Some(keys.filter_map(|k| store.id_by_unique(entity, field, k)).collect());
    }
    // One step through a many-to-one association: `order.orderNumber`.
    let (assoc_name, rest) = field.split_once('.')?;
    let assoc = super::store::association(entity, assoc_name)?;
    let super::store::AssocKind::One { fk } = assoc.kind else {
        return None;
    };
    if !store.has_fk_index(entity, fk) {
        return None;
    }
    let targets = pinned_ids(store, assoc.to, rest, values)?;
    Some(
        targets
            .into_iter()
            .flat_map(|t| store.ids_by_fk(entity, fk, &t))
            .collect(),
    )
}

/// The export watermark's query, a `createdAt` range sorted by `createdAt`
/// (then `id`) and nothing else, read off the `createdAt` index: it holds
/// exactly the matching orders in that order, so only the page is decoded.
fn created_ordered(store: &Store, entity: &str, c: &Criteria) -> Option<SearchResult> {
    let plain = c.ids.is_none() && c.term.is_none() && c.post_filter.is_empty() && c.aggregations.is_empty();
    if entity != "order" || !plain {
        return None;
    }
    let [Filter::Range { field, bounds }] = c.filter.as_slice() else {
        return None;
    };
    if own_field(entity, field) != "createdAt" {
        return None;
    }
    let ascending = |s: &Sort, f: &str| !s.desc && !s.natural && own_field(entity, &s.field) == f;
    let sorted = match c.sort.as_slice() {
        [s] => ascending(s, "createdAt"),
        [s, t] => ascending(s, "createdAt") && ascending(t, "id"),
        _ => false,
    };
    if !sorted {
        return None;
    }
    let (lo, hi) = exact_bounds(bounds)?;
    let ids = store.orders_created_between(lo, hi);
    let exact = ids.len();
    let offset = c.offset().min(exact);
    let rows: Vec<Arc<Row>> = ids
        .iter()
        .skip(offset)
        .take(c.effective_limit().unwrap_or(usize::MAX))
        .filter_map(|id| store.get(entity, id))
        .collect();
    let total = total(c, exact, offset, rows.len());
    Some(SearchResult {
        rows,
        total,
        aggregations: Map::new(),
    })
}

/// A field named with or without its entity (`order.createdAt`, `createdAt`).
fn own_field<'f>(entity: &str, field: &'f str) -> &'f str {
    field
        .strip_prefix(entity)
        .and_then(|f| f.strip_prefix('.'))
        .unwrap_or(field)
}

/// Inclusive instant bounds (unix ns) of a range filter on a date, exact for
/// `gt`/`lt` too; `None` if a bound is not a date or the operator unknown.
fn exact_bounds(bounds: &std::collections::BTreeMap<String, Value>) -> Option<(Option<i128>, Option<i128>)> {
    let (mut lo, mut hi) = (None, None);
    for (op, b) in bounds {
        let t = parse_date(b.as_str()?)?.unix_timestamp_nanos();
        match op.as_str() {
            "gte" => lo = Some(lo.map_or(t, |l: i128| l.max(t))),
            "gt" => lo = Some(lo.map_or(t + 1, |l: i128| l.max(t + 1))),
            "lte" => hi = Some(hi.map_or(t, |h: i128| h.min(t))),
            "lt" => hi = Some(hi.map_or(t - 1, |h: i128| h.min(t - 1))),
            _ => return None,
        }
    }
    Some((lo, hi))
}

/// The `total` a search reports under its `total-count-mode`.
fn total(c: &Criteria, exact: usize, offset: usize, page: usize) -> usize {
    match c.total_count_mode {
        TotalCountMode::None => page,
        TotalCountMode::Exact => exact,
        TotalCountMode::NextPages => {
            let limit = c.effective_limit().unwrap_or(exact);
            (exact - offset).min(limit * 6 + 1)
        }
    }
}

/// Ids of orders whose `createdAt` falls within a range filter's bounds.
fn created_range_ids(
    store: &Store,
    entity: &str,
    field: &str,
    bounds: &std::collections::BTreeMap<String, Value>,
) -> Option<Vec<String>> {
    if entity != "order" || own_field(entity, field) != "createdAt" {
        return None;
    }
    // A bound that is not a date leaves the filter to the scan.
    let (lo, hi) = exact_bounds(bounds)?;
    Some(store.orders_created_between(lo, hi))
}

/// A row that passed the filters: its sort keys, and the row itself while
/// the search still keeps rows decoded (else its id, to decode it again).
struct Hit {
    keys: Vec<Option<Value>>,
    id: String,
    row: Option<Arc<Row>>,
}

/// Runs `c` over a given candidate set (used for nested association criteria).
/// Candidates are decoded one at a time; only the page is kept.
pub fn run(store: &Store, entity: &str, candidates: impl IntoIterator<Item = Arc<Row>>, c: &Criteria) -> SearchResult {
    let mut agg_values: Vec<Vec<Value>> = vec![Vec::new(); c.aggregations.len()];
    let mut hits: Vec<Hit> = Vec::new();
    let mut keep = true;
    for r in candidates {
        if !c.filter.iter().all(|f| eval(store, entity, &r, f)) || !c.term.as_deref().is_none_or(|t| term_match(&r, t))
        {
            continue;
        }
        // Aggregations see the filtered set before post-filters (Shopware semantics).
        for (a, vals) in c.aggregations.iter().zip(agg_values.iter_mut()) {
            vals.extend(store.values_at(entity, &r, &a.field).into_iter().map(Cow::into_owned));
        }
        if !c.post_filter.iter().all(|f| eval(store, entity, &r, f)) {
            continue;
        }
        let keys = c
            .sort
            .iter()
            .map(|s| first_value(store, entity, &r, &s.field))
            .collect();
        let id = r.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        if keep && hits.len() >= KEEP_DECODED {
            keep = false;
            hits.iter_mut().for_each(|h| h.row = None);
        }
        hits.push(Hit {
            keys,
            id,
            row: keep.then_some(r),
        });
    }
    let aggregations = aggregate(&agg_values, c);
    if !c.sort.is_empty() {
        // The sort is stable: rows equal on every key keep the candidates' (id) order.
        hits.sort_by(|a, b| compare_keys(&a.keys, &b.keys, &c.sort));
    }
    let exact = hits.len();
    let offset = c.offset().min(exact);
    let take = c.effective_limit().unwrap_or(usize::MAX);
    let rows: Vec<Arc<Row>> = hits
        .into_iter()
        .skip(offset)
        .take(take)
        .filter_map(|h| h.row.or_else(|| store.get(entity, &h.id)))
        .collect();
    let total = total(c, exact, offset, rows.len());
    SearchResult {
        rows,
        total,
        aggregations,
    }
}

fn term_match(row: &Row, term: &str) -> bool {
    let t = term.to_lowercase();
    [
        "productNumber",
        "orderNumber",
        "name",
        "email",
        "customerNumber",
        "label",
    ]
    .iter()
    .filter_map(|f| row.get(*f).and_then(Value::as_str))
    .any(|v| v.to_lowercase().contains(&t))
}

/// Evaluates one filter on one row.
pub fn eval(store: &Store, entity: &str, row: &Row, f: &Filter) -> bool {
    match f {
        Filter::Equals { field, value } => {
            let vals = store.values_at(entity, row, field);
            if value.is_null() {
                vals.is_empty() || vals.iter().any(|v| v.is_null())
            } else {
                vals.iter().any(|v| loose_eq(v, value))
            }
        }
        Filter::EqualsAny { field, values } => {
            let vals = store.values_at(entity, row, field);
            vals.iter().any(|v| values.iter().any(|x| loose_eq(v, x)))
        }
        Filter::Contains { field, value } => {
            text_test(store, entity, row, field, |s| s.contains(&value.to_lowercase()))
        }
        Filter::Prefix { field, value } => {
            text_test(store, entity, row, field, |s| s.starts_with(&value.to_lowercase()))
        }
        Filter::Suffix { field, value } => text_test(store, entity, row, field, |s| s.ends_with(&value.to_lowercase())),
        Filter::Range { field, bounds } => store.values_at(entity, row, field).iter().any(|v| {
            !v.is_null()
                && bounds.iter().all(|(op, b)| match compare_values(v, b) {
                    Some(o) => match op.as_str() {
                        "gte" => o != Ordering::Less,
                        "gt" => o == Ordering::Greater,
                        "lte" => o != Ordering::Greater,
                        "lt" => o == Ordering::Less,
                        _ => true,
                    },
                    None => false,
                })
        }),
        Filter::Multi { and, queries } => combine(store, entity, row, *and, queries),
        Filter::Not { and, queries } => !combine(store, entity, row, *and, queries),
    }
}

fn combine(store: &Store, entity: &str, row: &Row, and: bool, queries: &[Filter]) -> bool {
    if queries.is_empty() {
        return true;
    }
    if and {
        queries.iter().all(|q| eval(store, entity, row, q))
    } else {
        queries.iter().any(|q| eval(store, entity, row, q))
    }
}

/// LIKE-style tests are case-insensitive, as with MySQL's default collation.
fn text_test(store: &Store, entity: &str, row: &Row, field: &str, test: impl Fn(&str) -> bool) -> bool {
    store.values_at(entity, row, field).iter().any(|v| match v.as_ref() {
        Value::String(s) => test(&s.to_lowercase()),
        Value::Number(n) => test(&n.to_string()),
        _ => false,
    })
}

/// Equality as MySQL would see it: numbers by value, booleans against 0/1 and
/// "true"/"false", dates by instant, strings exactly.
fn loose_eq(stored: &Value, given: &Value) -> bool {
    match (stored, given) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Number(a), Value::String(b)) | (Value::String(b), Value::Number(a)) => {
            b.trim().parse::<f64>().ok() == a.as_f64()
        }
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Bool(a), Value::Number(n)) => n.as_i64() == Some(i64::from(*a)),
        (Value::Bool(a), Value::String(s)) => matches!((a, s.as_str()), (true, "1" | "true") | (false, "0" | "false")),
        (Value::String(a), Value::String(b)) => {
            a == b || matches!((parse_date(a), parse_date(b)), (Some(x), Some(y)) if x == y)
        }
        (a, b) => a == b,
    }
}

/// Parses the date forms Shopware accepts in filters.
pub fn parse_date(s: &str) -> Option<OffsetDateTime> {
    if s.len() < 10 || !s.as_bytes()[4].eq(&b'-') {
        return None;
    }
    if let Ok(d) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(d);
    }
    let fmt_full = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let fmt_day = time::macros::format_description!("[year]-[month]-[day]");
    let core = s.split('.').next().unwrap_or(s).replace('T', " ");
    if let Ok(d) = time::PrimitiveDateTime::parse(&core, fmt_full) {
        return Some(d.assume_utc());
    }
    time::Date::parse(&s[..10], fmt_day)
        .ok()
        .map(|d| d.midnight().assume_utc())
}

/// Orders two values: numbers numerically, dates by instant, strings bytewise.
pub fn compare_values(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::Number(x), Value::String(y)) => x.as_f64()?.partial_cmp(&y.trim().parse::<f64>().ok()?),
        (Value::String(x), Value::Number(y)) => x.trim().parse::<f64>().ok()?.partial_cmp(&y.as_f64()?),
        // Same-shaped timestamps with the same offset order as text: skip parsing.
        (Value::String(x), Value::String(y))
            if x.len() == y.len() && x.len() >= 25 && x[x.len() - 6..] == y[y.len() - 6..] =>
        {
            Some(x.cmp(y))
        }
        (Value::String(x), Value::String(y)) => match (parse_date(x), parse_date(y)) {
            (Some(dx), Some(dy)) => Some(dx.cmp(&dy)),
            _ => Some(x.cmp(y)),
        },
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn first_value(store: &Store, entity: &str, row: &Row, field: &str) -> Option<Value> {
    store
        .values_at(entity, row, field)
        .into_iter()
        .find(|v| !v.is_null())
        .map(Cow::into_owned)
}

fn compare_keys(a: &[Option<Value>], b: &[Option<Value>], sorts: &[Sort]) -> Ordering {
    for ((va, vb), s) in a.iter().zip(b).zip(sorts) {
        // NULLs sort first ascending, as in MySQL.
        let o = match (va, vb) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => {
                if s.natural {
                    natural_cmp(&text_of(x), &text_of(y))
                } else {
                    compare_values(x, y).unwrap_or(Ordering::Equal)
                }
            }
        };
        let o = if s.desc { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Natural order: digit runs compare by value (`SW2` < `SW10`).
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut ia, mut ib) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (ia.peek().copied(), ib.peek().copied()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let na: String = std::iter::from_fn(|| ia.next_if(|c| c.is_ascii_digit())).collect();
                let nb: String = std::iter::from_fn(|| ib.next_if(|c| c.is_ascii_digit())).collect();
                let o = na
                    .trim_start_matches('0')
                    .len()
                    .cmp(&nb.trim_start_matches('0').len())
                    .then(na.cmp(&nb));
                if o != Ordering::Equal {
                    return o;
                }
            }
            (Some(x), Some(y)) => {
                let o = x.cmp(&y);
                if o != Ordering::Equal {
                    return o;
                }
                ia.next();
                ib.next();
            }
        }
    }
}

/// Aggregation results from each aggregation's values over the filtered rows.
fn aggregate(values: &[Vec<Value>], c: &Criteria) -> Map<String, Value> {
    let mut out = Map::new();
    for (a, vals) in c.aggregations.iter().zip(values) {
        let nums: Vec<f64> = vals.iter().filter_map(|v| v.as_f64()).collect();
        let result = match a.kind {
            AggKind::Count => json!({"count": vals.iter().filter(|v| !v.is_null()).count()}),
            AggKind::Sum => json!({"sum": nums.iter().sum::<f64>()}),
            AggKind::Avg => {
                json!({"avg": if nums.is_empty() { Value::Null } else { json!(nums.iter().sum::<f64>() / nums.len() as f64) }})
            }
            AggKind::Min => json!({"min": nums.iter().copied().reduce(f64::min)}),
            AggKind::Max => json!({"max": nums.iter().copied().reduce(f64::max)}),
        };
        let mut result = result;
        result["extensions"] = json!([]);
        result["apiAlias"] = json!(format!("{}_aggregation", a.name));
        out.insert(a.name.clone(), result);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::criteria::parse;
    use super::*;

    fn store() -> Store {
        let mut s = Store::new();
        for (i, (num, stock, created)) in [
            ("SW10", 5, "2026-11-27T10:00:00.000+00:00"),
            ("SW2", 0, "2026-11-27T09:00:00.000+00:00"),
            ("SW3", 12, "2026-11-27T11:00:00.000+00:00"),
        ]
        .iter()
        .enumerate()
        {
            let row = json!({"id": format!("id{i}"), "productNumber": num, "stock": stock, "createdAt": created, "active": true});
            s.put("product", row.as_object().unwrap().clone());
        }
        s
    }

    fn numbers(r: &SearchResult) -> Vec<String> {
        r.rows
            .iter()
            .map(|r| r["productNumber"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn filters_combine_and_dates_compare_by_instant() {
        let s = store();
        let c = parse(
            &json!({"filter":[{"type":"range","field":"createdAt","parameters":{"gt":"2026-11-27T09:30:00Z"}}],
            "sort":[{"field":"createdAt"}]}),
        )
        .unwrap();
        assert_eq!(numbers(&search(&s, "product", &c)), vec!["SW10", "SW3"]);
        let c = parse(&json!({"filter":[{"type":"not","operator":"or","queries":[
            {"type":"equals","field":"stock","value":0},{"type":"prefix","field":"productNumber","value":"sw1"}]}]}))
        .unwrap();
        assert_eq!(numbers(&search(&s, "product", &c)), vec!["SW3"]);
        let c = parse(&json!({"filter":[{"type":"equalsAny","field":"productNumber","value":["SW2","SW3","nope"]}]}))
            .unwrap();
        assert_eq!(search(&s, "product", &c).rows.len(), 2);
        let c = parse(&json!({"filter":[{"type":"equals","field":"active","value":"1"}]})).unwrap();
        assert_eq!(search(&s, "product", &c).rows.len(), 3);
    }

    #[test]
    fn index_lookups_give_the_same_rows_as_a_scan() {
        let s = store();
        for body in [
            json!({"filter":[{"type":"equals","field":"productNumber","value":"SW2"}]}),
            json!({"filter":[{"type":"equalsAny","field":"productNumber","value":["SW3","SW10","SW3","nope"]}]}),
            json!({"filter":[{"type":"equals","field":"product.id","value":"id1"},{"type":"range","field":"stock","parameters":{"gte":1}}]}),
        ] {
            let c = parse(&body).unwrap();
            assert!(indexed_candidates(&s, "product", &c.filter).is_some());
            let indexed = numbers(&search(&s, "product", &c));
            let scanned: Vec<String> = s
                .rows("product")
                .filter(|r| c.filter.iter().all(|f| eval(&s, "product", r, f)))
                .map(|r| r["productNumber"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(indexed, scanned, "{body}");
        }
    }

    #[test]
    fn order_indexes_give_the_same_rows_as_a_scan() {
        let mut s = Store::new();
        for i in 0..40 {
            // Offsets vary so text order and instant order differ.
            let created = if i % 3 == 0 {
                format!("2026-11-27T{:02}:{:02}:00.000+02:00", 12 + i / 60, i % 60)
            } else {
                format!("2026-11-27T{:02}:{:02}:30.000+00:00", 10 + i / 60, i % 60)
            };
            let row = json!({"id": format!("o{i:02}"), "orderNumber": format!("1{i:04}"), "createdAt": created});
            s.put("order", row.as_object().unwrap().clone());
            let d = json!({"id": format!("d{i:02}"), "orderId": format!("o{i:02}")});
            s.put("order_delivery", d.as_object().unwrap().clone());
        }
        for (entity, body) in [
            (
                "order",
                json!({"filter":[{"type":"equals","field":"orderNumber","value":"10007"}]}),
            ),
            (
                "order",
                json!({"filter":[{"type":"equalsAny","field":"order.orderNumber","value":["10003","10005","x"]}]}),
            ),
            (
                "order",
                json!({"filter":[{"type":"range","field":"createdAt","parameters":{"gte":"2026-11-27T10:20:00.000+00:00"}}]}),
            ),
            (
                "order",
                json!({"filter":[{"type":"range","field":"createdAt","parameters":{"gt":"2026-11-27T10:12:00+00:00","lt":"2026-11-27T10:30:30.000+00:00"}}]}),
            ),
            (
                "order_delivery",
                json!({"filter":[{"type":"equals","field":"order.orderNumber","value":"10011"}]}),
            ),
            (
                "order_delivery",
                json!({"filter":[{"type":"equalsAny","field":"order.orderNumber","value":["10001","10002"]}]}),
            ),
        ] {
            let c = parse(&body).unwrap();
            assert!(indexed_candidates(&s, entity, &c.filter).is_some(), "{body}");
            let ids = |r: &SearchResult| -> Vec<String> {
                r.rows.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
            };
            let indexed = ids(&search(&s, entity, &c));
            let scanned: Vec<String> = s
                .rows(entity)
                .filter(|r| c.filter.iter().all(|f| eval(&s, entity, r, f)))
                .map(|r| r["id"].as_str().unwrap().to_string())
                .collect();
            assert!(!scanned.is_empty(), "{body}");
            assert_eq!(indexed, scanned, "{body}");
        }
        // A null value is not in the index: the scan decides.
        let c = parse(&json!({"filter":[{"type":"equals","field":"orderNumber","value":null}]})).unwrap();
        assert!(indexed_candidates(&s, "order", &c.filter).is_none());
    }

    #[test]
    fn totals_follow_total_count_mode() {
        let s = store();
        let c = parse(&json!({"limit":1})).unwrap();
        assert_eq!(search(&s, "product", &c).total, 1);
        let c = parse(&json!({"limit":1, "total-count-mode": 1})).unwrap();
        assert_eq!(search(&s, "product", &c).total, 3);
        let c = parse(&json!({"limit":1, "page": 2, "total-count-mode": 2})).unwrap();
        assert_eq!(search(&s, "product", &c).total, 2);
    }

    #[test]
    fn natural_sorting_and_nulls_first() {
        let mut s = store();
        s.put(
            "product",
            json!({"id":"idx","productNumber":"SW1","stock":null})
                .as_object()
                .unwrap()
                .clone(),
        );
        let c = parse(&json!({"sort":[{"field":"productNumber","order":"ASC","naturalSorting":true}]})).unwrap();
        assert_eq!(numbers(&search(&s, "product", &c)), vec!["SW1", "SW2", "SW3", "SW10"]);
        let c = parse(&json!({"sort":[{"field":"stock","order":"ASC"}]})).unwrap();
        assert_eq!(numbers(&search(&s, "product", &c))[0], "SW1");
        let c = parse(&json!({"sort":[{"field":"stock","order":"DESC"}]})).unwrap();
        assert_eq!(numbers(&search(&s, "product", &c))[0], "SW3");
    }

    #[test]
    fn aggregations_and_post_filters() {
        let s = store();
        let c = parse(&json!({"post-filter":[{"type":"equals","field":"stock","value":0}],
            "aggregations":[{"name":"units","type":"sum","field":"stock"}]}))
        .unwrap();
        let r = search(&s, "product", &c);
        assert_eq!(r.rows.len(), 1);
        assert_eq!(r.aggregations["units"]["sum"], json!(17.0));
    }

    #[test]
    fn the_created_at_index_answers_watermark_pages_as_a_scan_would() {
        let mut s = Store::new();
        // Ties at 10:00 (id order breaks them), another offset, and a row
        // without a createdAt, which no range matches.
        let at = [
            "2026-11-27T10:00:00.000+00:00",
            "2026-11-27T10:00:00.000+00:00",
            "2026-11-27T12:00:00.000+02:00",
            "2026-11-27T09:59:59.999+00:00",
            "2026-11-27T10:30:00.000+00:00",
        ];
        for i in 0..40 {
            let mut row = json!({"id": format!("{:032x}", (i * 7919) % 40), "orderNumber": format!("{}", 10000 + i)});
            if i != 13 {
                row["createdAt"] = json!(at[i % at.len()]);
            }
            s.put("order", row.as_object().unwrap().clone());
        }
        let sorts = [
            json!([{"field": "createdAt", "order": "ASC"}, {"field": "id", "order": "ASC"}]),
            json!([{"field": "order.createdAt", "order": "ASC"}]),
        ];
        let ranges = [
            json!({"gte": "2026-11-27T10:00:00.000+00:00"}),
            json!({"gt": "2026-11-27T10:00:00.000+00:00"}),
            json!({"lt": "2026-11-27T10:00:00.000+00:00", "gte": "2026-11-27T09:00:00Z"}),
            json!({"lte": "2026-11-27T10:00:00.000+00:00"}),
        ];
        let mut fast_paths = 0;
        for sort in &sorts {
            for range in &ranges {
                for (page, mode) in [(1, 0), (2, 1), (3, 2)] {
                    let body = json!({"filter": [{"type": "range", "field": "createdAt", "parameters": range}],
                                      "sort": sort, "limit": 7, "page": page, "total-count-mode": mode});
                    let c = parse(&body).unwrap();
                    let fast = created_ordered(&s, "order", &c).expect("the index answers this query");
                    fast_paths += 1;
                    let scan = run(&s, "order", s.rows("order"), &c);
                    let ids = |r: &SearchResult| r.rows.iter().map(|r| r["id"].clone()).collect::<Vec<_>>();
                    assert_eq!(ids(&fast), ids(&scan), "{body}");
                    assert_eq!(fast.total, scan.total, "{body}");
                }
            }
        }
        assert_eq!(fast_paths, 24);
        // Anything else goes the general way.
        for body in [
            json!({"filter": [{"type": "range", "field": "createdAt", "parameters": {"gte": "2026-11-27"}}],
                   "sort": [{"field": "createdAt", "order": "DESC"}]}),
            json!({"filter": [{"type": "range", "field": "createdAt", "parameters": {"gte": "2026-11-27"}},
                              {"type": "equals", "field": "orderNumber", "value": "10001"}],
                   "sort": [{"field": "createdAt", "order": "ASC"}]}),
            json!({"sort": [{"field": "createdAt", "order": "ASC"}]}),
        ] {
            assert!(created_ordered(&s, "order", &parse(&body).unwrap()).is_none(), "{body}");
        }
    }

    #[test]
    fn the_stale_closeout_query_reads_the_unavailable_index_as_a_scan_would() {
        let mut s = Store::new();
        for i in 0..60 {
            let row = json!({"id": format!("p{i:02}"), "productNumber": format!("SW{i}"), "stock": i % 4,
                             "available": i % 3 != 0});
            s.put("product", row.as_object().unwrap().clone());
        }
        let c = parse(
            &json!({"filter": [{"type": "equals", "field": "available", "value": false},
                                          {"type": "range", "field": "stock", "parameters": {"gt": 0}}],
                              "total-count-mode": 1}),
        )
        .unwrap();
        assert!(indexed_candidates(&s, "product", &c.filter).is_some());
        let indexed = search(&s, "product", &c);
        let scan = run(&s, "product", s.rows("product"), &c);
        let ids = |r: &SearchResult| r.rows.iter().map(|r| r["id"].clone()).collect::<Vec<_>>();
        assert_eq!(ids(&indexed), ids(&scan));
        assert_eq!((indexed.total, scan.total), (15, 15));
    }
}
