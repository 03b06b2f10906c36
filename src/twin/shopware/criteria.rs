//! Parsing Shopware search criteria (the JSON body of `/api/search/*`) into a
//! typed [`Criteria`], with Shopware's validation errors and pointers.
//!
//! Supported keys (SHOPWARE.md §2): `ids`, `filter`, `post-filter`, `sort`,
//! `limit`, `page`, `total-count-mode`, `associations` (nested criteria),
//! `includes`, `aggregations` (count, sum, avg, min, max), `term`. Anything
//! else Shopware accepts (`query`, `grouping`, `fields`) is refused with a clear
//! 400 rather than silently ignored.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::errors::SwError;

/// Shopware's `api.max_limit`.
pub const MAX_LIMIT: usize = 500;

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Equals {
        field: String,
        value: Value,
    },
    EqualsAny {
        field: String,
        values: Vec<Value>,
    },
    Contains {
        field: String,
        value: String,
    },
    Prefix {
        field: String,
        value: String,
    },
    Suffix {
        field: String,
        value: String,
    },
    Range {
        field: String,
        bounds: BTreeMap<String, Value>,
    },
    Not {
        and: bool,
        queries: Vec<Filter>,
    },
    Multi {
        and: bool,
        queries: Vec<Filter>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sort {
    pub field: String,
    pub desc: bool,
    pub natural: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AggKind {
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Aggregation {
    pub name: String,
    pub kind: AggKind,
    pub field: String,
}

/// How `total` is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TotalCountMode {
    /// `total` is the size of the page.
    #[default]
    None,
    Exact,
    /// Counts up to `limit * 6 + 1` rows from the offset.
    NextPages,
}

impl TotalCountMode {
    pub fn as_number(self) -> u8 {
        match self {
            TotalCountMode::None => 0,
            TotalCountMode::Exact => 1,
            TotalCountMode::NextPages => 2,
        }
    }
}

/// Parsed criteria.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Criteria {
    pub ids: Option<Vec<String>>,
    pub filter: Vec<Filter>,
    pub post_filter: Vec<Filter>,
    pub sort: Vec<Sort>,
    pub limit: Option<usize>,
    pub page: Option<usize>,
    pub total_count_mode: TotalCountMode,
    pub associations: BTreeMap<String, Criteria>,
    pub includes: BTreeMap<String, Vec<String>>,
    pub aggregations: Vec<Aggregation>,
    pub term: Option<String>,
}

impl Criteria {
    /// The offset of the page: `limit * (page - 1)`, and 0 when `page` comes
    /// without `limit` (a Shopware quirk).
    pub fn offset(&self) -> usize {
        match (self.limit, self.page) {
            (Some(l), Some(p)) => l * (p.max(1) - 1),
            _ => 0,
        }
    }

    /// The effective page size (500 when not given; none when `ids` are given).
    pub fn effective_limit(&self) -> Option<usize> {
        if self.ids.is_some() {
            return self.limit;
        }
        Some(self.limit.unwrap_or(MAX_LIMIT))
    }
}

/// Parses a criteria body. `prefix` is the JSON pointer of this criteria (empty
/// at top level, `/associations/lineItems` when nested).
pub fn parse(body: &Value) -> Result<Criteria, Vec<SwError>> {
    parse_at(body, "")
}

fn parse_at(body: &Value, prefix: &str) -> Result<Criteria, Vec<SwError>> {
    let mut errors = Vec::new();
    let mut c = Criteria::default();
    let Some(obj) = body.as_object() else {
        if body.is_null() {
            return Ok(c);
        }
        return Err(vec![SwError::new(
            400,
            "FRAMEWORK__INVALID_CRITERIA",
            "The criteria must be a JSON object.",
        )
        .pointer(if prefix.is_empty() { "/" } else { prefix })]);
    };
    for (key, v) in obj {
        let ptr = format!("{prefix}/{key}");
        match key.as_str() {
            "ids" => match v {
                Value::Array(items) => {
                    c.ids = Some(items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect())
                }
                Value::String(s) => c.ids = Some(s.split('|').map(str::to_string).collect()),
                _ => errors.push(bad(&ptr, "ids must be a list of ids.")),
            },
            "limit" => match as_usize(v) {
                Some(0) | None => errors.push(
                    SwError::new(
                        400,
                        "FRAMEWORK__INVALID_LIMIT_QUERY",
                        "The limit parameter must be a positive integer greater or equals than 1.",
                    )
                    .pointer(ptr),
                ),
                Some(n) if n > MAX_LIMIT => errors.push(
                    SwError::new(
                        400,
                        "FRAMEWORK__QUERY_LIMIT_EXCEEDED",
                        format!("The limit must be lower than or equal to MAX_LIMIT(={MAX_LIMIT}). Given: {n}"),
                    )
                    .param("maxLimit", MAX_LIMIT)
                    .param("limit", n)
                    .pointer(ptr),
                ),
                Some(n) => c.limit = Some(n),
            },
            "page" => match as_usize(v) {
                Some(0) | None => errors.push(
                    SwError::new(
                        400,
                        "FRAMEWORK__INVALID_PAGE_QUERY",
                        "The page parameter must be a positive integer greater or equals than 1.",
                    )
                    .pointer(ptr),
                ),
                Some(n) => c.page = Some(n),
            },
            "total-count-mode" => match v {
                Value::Number(n) if n.as_u64() == Some(0) => c.total_count_mode = TotalCountMode::None,
                Value::Number(n) if n.as_u64() == Some(1) => c.total_count_mode = TotalCountMode::Exact,
                Value::Number(n) if n.as_u64() == Some(2) => c.total_count_mode = TotalCountMode::NextPages,
                Value::String(s) => match s.as_str() {
                    "none" | "0" => c.total_count_mode = TotalCountMode::None,
                    "exact" | "1" => c.total_count_mode = TotalCountMode::Exact,
                    "next-pages" | "2" => c.total_count_mode = TotalCountMode::NextPages,
                    _ => errors.push(bad(&ptr, "total-count-mode must be 0/none, 1/exact or 2/next-pages.")),
                },
                _ => errors.push(bad(&ptr, "total-count-mode must be 0/none, 1/exact or 2/next-pages.")),
            },
            "filter" => c.filter = parse_filters(v, &ptr, &mut errors),
            "post-filter" => c.post_filter = parse_filters(v, &ptr, &mut errors),
            "sort" => c.sort = parse_sort(v, &ptr, &mut errors),
            "associations" => match v.as_object() {
                Some(m) => {
                    for (name, sub) in m {
                        match parse_at(sub, &format!("{ptr}/{name}")) {
                            Ok(sc) => {
                                c.associations.insert(name.clone(), sc);
                            }
                            Err(mut e) => errors.append(&mut e),
                        }
                    }
                }
                None if v.as_array().is_some_and(|a| a.is_empty()) => {}
                None => errors.push(bad(
                    &ptr,
                    "associations must be an object of association names to criteria.",
                )),
            },
            "includes" => match v.as_object() {
                Some(m) => {
                    for (alias, fields) in m {
                        let list = match fields {
                            Value::Array(a) => a.iter().filter_map(|f| f.as_str().map(str::to_string)).collect(),
                            Value::String(s) => s.split(',').map(|f| f.trim().to_string()).collect(),
                            _ => {
                                errors.push(bad(&format!("{ptr}/{alias}"), "includes must list field names."));
                                continue;
                            }
                        };
                        c.includes.insert(alias.clone(), list);
                    }
                }
                None => errors.push(bad(&ptr, "includes must be an object of apiAlias to field names.")),
            },
            "aggregations" => c.aggregations = parse_aggregations(v, &ptr, &mut errors),
            "term" => match v.as_str() {
                Some(t) if !t.trim().is_empty() => c.term = Some(t.trim().to_string()),
                Some(_) => {}
                None => errors.push(bad(&ptr, "term must be a string.")),
            },
            "query" | "grouping" | "fields" | "aggregation" => errors.push(
                SwError::new(
                    400,
                    "FRAMEWORK__INVALID_CRITERIA",
                    format!("The criteria key '{key}' is not supported by the synctwin Shopware twin."),
                )
                .pointer(ptr),
            ),
            // Shopware ignores keys it does not know.
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(c)
    } else {
        Err(errors)
    }
}

fn as_usize(v: &Value) -> Option<usize> {
    match v {
        Value::Number(n) => n.as_u64().map(|n| n as usize),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn bad(ptr: &str, detail: &str) -> SwError {
    SwError::new(400, "FRAMEWORK__INVALID_CRITERIA", detail).pointer(ptr)
}

fn invalid_filter(ptr: &str, detail: impl Into<String>) -> SwError {
    SwError::new(400, "FRAMEWORK__INVALID_FILTER_QUERY", detail).pointer(ptr)
}

fn parse_filters(v: &Value, ptr: &str, errors: &mut Vec<SwError>) -> Vec<Filter> {
    match v {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, f)| parse_filter(f, &format!("{ptr}/{i}"), errors))
            .collect(),
        _ => {
            errors.push(invalid_filter(ptr, "filter must be a list of filter objects."));
            Vec::new()
        }
    }
}

fn parse_filter(v: &Value, ptr: &str, errors: &mut Vec<SwError>) -> Option<Filter> {
    let Some(o) = v.as_object() else {
        errors.push(invalid_filter(ptr, "A filter must be an object with a type."));
        return None;
    };
    let kind = o.get("type").and_then(Value::as_str).unwrap_or("");
    let field = || -> Option<String> { o.get("field").and_then(Value::as_str).map(str::to_string) };
    let need_field = |errors: &mut Vec<SwError>| {
        let f = field();
        if f.is_none() {
            errors.push(invalid_filter(
                &format!("{ptr}/field"),
                format!("Parameter \"field\" for {kind} filter is missing."),
            ));
        }
        f
    };
    let text = |errors: &mut Vec<SwError>| -> Option<String> {
        match o.get("value") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => {
                errors.push(invalid_filter(
                    &format!("{ptr}/value"),
                    format!("Parameter \"value\" for {kind} filter is missing."),
                ));
                None
            }
        }
    };
    let sub = |errors: &mut Vec<SwError>| -> (bool, Vec<Filter>) {
        let and = !matches!(
            o.get("operator")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("or")
        );
        let queries = o
            .get("queries")
            .map(|q| parse_filters(q, &format!("{ptr}/queries"), errors))
            .unwrap_or_default();
        (and, queries)
    };
    match kind {
        "equals" => Some(Filter::Equals {
            field: need_field(errors)?,
            value: o.get("value").cloned().unwrap_or(Value::Null),
        }),
        "equalsAny" => {
            let field = need_field(errors)?;
            let values = match o.get("value") {
                Some(Value::Array(a)) => a.clone(),
                Some(Value::String(s)) => s.split('|').map(|x| Value::String(x.to_string())).collect(),
                Some(other) if !other.is_null() => vec![other.clone()],
                _ => {
                    errors.push(invalid_filter(
                        &format!("{ptr}/value"),
                        "Parameter \"value\" for equalsAny filter is missing.",
                    ));
                    return None;
                }
            };
            Some(Filter::EqualsAny { field, values })
        }
        "contains" => Some(Filter::Contains {
            field: need_field(errors)?,
            value: text(errors)?,
        }),
        "prefix" => Some(Filter::Prefix {
            field: need_field(errors)?,
            value: text(errors)?,
        }),
        "suffix" => Some(Filter::Suffix {
            field: need_field(errors)?,
            value: text(errors)?,
        }),
        "range" => {
            let field = need_field(errors)?;
            let Some(params) = o.get("parameters").and_then(Value::as_object) else {
                errors.push(invalid_filter(
                    &format!("{ptr}/parameters"),
                    "Parameter \"parameters\" for range filter is missing.",
                ));
                return None;
            };
            let mut bounds = BTreeMap::new();
            for (k, v) in params {
                if !["gte", "lte", "gt", "lt"].contains(&k.as_str()) {
                    errors.push(invalid_filter(
                        &format!("{ptr}/parameters/{k}"),
                        format!("Unknown range parameter '{k}'; allowed: gte, lte, gt, lt."),
                    ));
                    continue;
                }
                bounds.insert(k.clone(), v.clone());
            }
            Some(Filter::Range { field, bounds })
        }
        "not" => {
            let (and, queries) = sub(errors);
            Some(Filter::Not { and, queries })
        }
        "multi" => {
            let (and, queries) = sub(errors);
            Some(Filter::Multi { and, queries })
        }
        "" => {
            errors.push(invalid_filter(&format!("{ptr}/type"), "Parameter \"type\" is missing."));
            None
        }
        other => {
            errors.push(invalid_filter(
                &format!("{ptr}/type"),
                format!("Unsupported filter type: {other}. Supported: equals, equalsAny, contains, prefix, suffix, range, not, multi."),
            ));
            None
        }
    }
}

fn parse_sort(v: &Value, ptr: &str, errors: &mut Vec<SwError>) -> Vec<Sort> {
    let one = |s: &str| {
        let (desc, field) = match s.strip_prefix('-') {
            Some(f) => (true, f),
            None => (false, s),
        };
        Sort {
            field: field.to_string(),
            desc,
            natural: false,
        }
    };
    match v {
        Value::String(s) => s.split(',').filter(|x| !x.is_empty()).map(one).collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| match item {
                Value::String(s) => Some(one(s)),
                Value::Object(o) => match o.get("field").and_then(Value::as_str) {
                    Some(field) => {
                        let order = o.get("order").and_then(Value::as_str).unwrap_or("ASC");
                        Some(Sort {
                            field: field.to_string(),
                            desc: order.eq_ignore_ascii_case("desc"),
                            natural: o.get("naturalSorting").and_then(Value::as_bool).unwrap_or(false),
                        })
                    }
                    None => {
                        errors.push(bad(&format!("{ptr}/{i}"), "A sorting needs a field."));
                        None
                    }
                },
                _ => {
                    errors.push(bad(
                        &format!("{ptr}/{i}"),
                        "A sorting must be an object {field, order}.",
                    ));
                    None
                }
            })
            .collect(),
        _ => {
            errors.push(bad(ptr, "sort must be a list of {field, order} objects."));
            Vec::new()
        }
    }
}

fn parse_aggregations(v: &Value, ptr: &str, errors: &mut Vec<SwError>) -> Vec<Aggregation> {
    let items: Vec<(String, &Map<String, Value>)> = match v {
        Value::Array(a) => a
            .iter()
            .enumerate()
            .filter_map(|(i, x)| x.as_object().map(|o| (i.to_string(), o)))
            .collect(),
        Value::Object(m) => m
            .iter()
            .filter_map(|(k, x)| x.as_object().map(|o| (k.clone(), o)))
            .collect(),
        _ => {
            errors.push(bad(ptr, "aggregations must be a list of aggregation objects."));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (key, o) in items {
        let p = format!("{ptr}/{key}");
        let name = o.get("name").and_then(Value::as_str).unwrap_or(&key).to_string();
        let field = o.get("field").and_then(Value::as_str).unwrap_or("").to_string();
        let kind = match o.get("type").and_then(Value::as_str).unwrap_or("") {
            "count" => AggKind::Count,
            "sum" => AggKind::Sum,
            "avg" => AggKind::Avg,
            "min" => AggKind::Min,
            "max" => AggKind::Max,
            other => {
                errors.push(
                    SwError::new(
                        400,
                        "FRAMEWORK__INVALID_AGGREGATION_QUERY",
                        format!("Aggregation type '{other}' is not supported by the synctwin Shopware twin; supported: count, sum, avg, min, max."),
                    )
                    .pointer(format!("{p}/type")),
                );
                continue;
            }
        };
        if field.is_empty() {
            errors.push(
                SwError::new(
                    400,
                    "FRAMEWORK__INVALID_AGGREGATION_QUERY",
                    "The aggregation needs a field.",
                )
                .pointer(format!("{p}/field")),
            );
            continue;
        }
        out.push(Aggregation { name, kind, field });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn limit_over_500_is_refused_with_pointer() {
        let e = parse(&json!({"limit": 501})).unwrap_err();
        let v = e[0].to_json();
        assert_eq!(v["code"], "FRAMEWORK__QUERY_LIMIT_EXCEEDED");
        assert_eq!(
            v["detail"],
            "The limit must be lower than or equal to MAX_LIMIT(=500). Given: 501"
        );
        assert_eq!(v["source"]["pointer"], "/limit");
    }

    #[test]
    fn page_without_limit_starts_at_zero_and_default_limit_is_500() {
        let c = parse(&json!({"page": 3})).unwrap();
        assert_eq!(c.offset(), 0);
        assert_eq!(c.effective_limit(), Some(500));
        let c = parse(&json!({"page": 3, "limit": 10})).unwrap();
        assert_eq!(c.offset(), 20);
    }

    #[test]
    fn nested_filters_sorts_and_associations_parse() {
        let c = parse(&json!({
            "filter": [{"type":"multi","operator":"or","queries":[
                {"type":"range","field":"createdAt","parameters":{"gte":"2026-11-27T00:00:00.000+00:00"}},
                {"type":"not","queries":[{"type":"equals","field":"stateMachineState.technicalName","value":"cancelled"}]}
            ]}],
            "sort": [{"field":"createdAt","order":"ASC"},{"field":"id","order":"desc"}],
            "associations": {"lineItems": {"limit": 5}, "deliveries": {"associations": {"stateMachineState": {}}}},
            "includes": {"order": ["id","orderNumber"]},
            "total-count-mode": "exact"
        }))
        .unwrap();
        assert!(matches!(&c.filter[0], Filter::Multi { and: false, queries } if queries.len() == 2));
        assert_eq!(
            c.sort[1],
            Sort {
                field: "id".into(),
                desc: true,
                natural: false
            }
        );
        assert_eq!(c.associations["lineItems"].limit, Some(5));
        assert!(c.associations["deliveries"]
            .associations
            .contains_key("stateMachineState"));
        assert_eq!(c.total_count_mode, TotalCountMode::Exact);
    }

    #[test]
    fn all_errors_are_reported_together_with_pointers() {
        let e = parse(&json!({"limit": 0, "filter": [{"type":"fuzzy","field":"x"}, {"field":"y"}]})).unwrap_err();
        let pointers: Vec<_> = e.iter().map(|x| x.pointer.clone().unwrap()).collect();
        assert!(pointers.contains(&"/limit".to_string()));
        assert!(pointers.contains(&"/filter/0/type".to_string()));
        assert!(pointers.contains(&"/filter/1/type".to_string()));
    }
}
