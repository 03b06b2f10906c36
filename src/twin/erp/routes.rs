//! Routing: which resource a path names, its label for request counters, and
//! the read handlers (lists with OData options, single records, companies).
//!
//! Paths, as in Business Central API v2.0 (the tenant/environment prefix of
//! the real URL is left out):
//!
//! | method | path |
//! |---|---|
//! | POST | `/oauth/token` (also `…/oauth2/v2.0/token`) |
//! | POST | `/api/v2.0/$batch` (JSON batch, see [`super::batch`]) |
//! | GET | `/api/v2.0/companies`, `/api/v2.0/companies({id})` |
//! | GET | `…/companies({id})/items`, `…/items({itemId})` |
//! | GET, POST | `…/companies({id})/customers`, GET `…/customers({customerId})` |
//! | GET, POST | `…/companies({id})/salesOrders`, GET `…/salesOrders({orderId})`, `…/salesOrders({orderId})/salesOrderLines` |
//! | GET | `…/companies({id})/salesShipments`, `…/salesShipments({id})`, `…/salesShipments({id})/salesShipmentLines` |

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::errors::ODataError;
use super::odata::{Literal, Op, QueryOptions, Queryable};
use super::state::ErpState;
use crate::clock::SimTime;

/// What a request addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    Token,
    Batch,
    Companies,
    Company,
    Items,
    Item(String),
    Customers,
    Customer(String),
    SalesOrders,
    SalesOrder(String),
    SalesOrderLines(String),
    Shipments,
    Shipment(String),
    ShipmentLines(String),
}

impl Resource {
    /// The route pattern for request counters (small, fixed set).
    pub fn pattern(&self) -> &'static str {
        match self {
            Resource::Token => "/oauth/token",
            Resource::Batch => "/api/v2.0/$batch",
            Resource::Companies => "/api/v2.0/companies",
            Resource::Company => "/api/v2.0/companies({id})",
            Resource::Items => "/api/v2.0/companies({id})/items",
            Resource::Item(_) => "/api/v2.0/companies({id})/items({id})",
            Resource::Customers => "/api/v2.0/companies({id})/customers",
            Resource::Customer(_) => "/api/v2.0/companies({id})/customers({id})",
            Resource::SalesOrders => "/api/v2.0/companies({id})/salesOrders",
            Resource::SalesOrder(_) => "/api/v2.0/companies({id})/salesOrders({id})",
            Resource::SalesOrderLines(_) => "/api/v2.0/companies({id})/salesOrders({id})/salesOrderLines",
            Resource::Shipments => "/api/v2.0/companies({id})/salesShipments",
            Resource::Shipment(_) => "/api/v2.0/companies({id})/salesShipments({id})",
            Resource::ShipmentLines(_) => "/api/v2.0/companies({id})/salesShipments({id})/salesShipmentLines",
        }
    }

    /// Methods the twin serves on this resource.
    pub fn allows(&self, method: &str) -> bool {
        match self {
            Resource::Token | Resource::Batch => method == "POST",
            Resource::Customers | Resource::SalesOrders => method == "GET" || method == "POST",
            _ => method == "GET",
        }
    }
}

/// Splits `name(key)` into `("name", Some("key"))`; quotes around the key are dropped.
fn segment(s: &str) -> (&str, Option<&str>) {
    match (s.find('('), s.ends_with(')')) {
        (Some(i), true) => {
            let key = &s[i + 1..s.len() - 1];
            let key = key.trim_matches('\'');
            (&s[..i], Some(key))
        }
        _ => (s, None),
    }
}

/// Classifies a path; `None` when nothing matches. The company id must match.
pub fn classify(path: &str, company_id: &str) -> Result<Resource, ODataError> {
    // Clients may escape the parentheses or quotes of a key (`companies%28…%29`).
    let decoded;
    let path = if path.contains('%') {
        decoded = decode_path(path).ok_or_else(|| ODataError::not_found_route(path))?;
        decoded.as_str()
    } else {
        path
    };
    if path == "/oauth/token" || path.ends_with("/oauth2/v2.0/token") {
        return Ok(Resource::Token);
    }
    let not_found = || ODataError::not_found_route(path);
    let rest = path.strip_prefix("/api/v2.0/").ok_or_else(not_found)?;
    let rest = rest.trim_end_matches('/');
    if rest == "$batch" {
        return Ok(Resource::Batch);
    }
    let segs: Vec<&str> = rest.split('/').collect();
    let (first, key) = segment(segs[0]);
    if first != "companies" {
        return Err(not_found());
    }
    let Some(cid) = key else {
        return if segs.len() == 1 {
            Ok(Resource::Companies)
        } else {
            Err(not_found())
        };
    };
    if !cid.eq_ignore_ascii_case(company_id) {
        return Err(ODataError::new(
            "BadRequest_NotFound",
            format!("The company with id '{cid}' does not exist."),
        ));
    }
    let r = match segs.get(1..).unwrap_or_default() {
        [] => Resource::Company,
        [one] => match segment(one) {
            ("items", None) => Resource::Items,
            ("items", Some(id)) => Resource::Item(id.to_lowercase()),
            ("customers", None) => Resource::Customers,
            ("customers", Some(id)) => Resource::Customer(id.to_lowercase()),
            ("salesOrders", None) => Resource::SalesOrders,
            ("salesOrders", Some(id)) => Resource::SalesOrder(id.to_lowercase()),
            ("salesShipments", None) => Resource::Shipments,
            ("salesShipments", Some(id)) => Resource::Shipment(id.to_lowercase()),
            _ => return Err(not_found()),
        },
        [one, two] => match (segment(one), *two) {
            (("salesOrders", Some(id)), "salesOrderLines") => Resource::SalesOrderLines(id.to_lowercase()),
            (("salesShipments", Some(id)), "salesShipmentLines") => Resource::ShipmentLines(id.to_lowercase()),
            _ => return Err(not_found()),
        },
        _ => return Err(not_found()),
    };
    Ok(r)
}

/// Decodes `%XX` escapes in a path (a `+` stays a `+`).
fn decode_path(path: &str) -> Option<String> {
    let b = path.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Context for rendering reads.
pub struct ReadCtx<'a> {
    pub epoch: OffsetDateTime,
    pub max_page: usize,
    pub host: Option<&'a str>,
    pub path: &'a str,
    pub company_id: &'a str,
    pub company: Value,
}

/// A read's answer and how many entities it returned (for service time).
pub struct ReadAnswer {
    pub body: Body,
    pub entities: usize,
}

/// A read's answer body: a JSON value, or JSON text already written (a
/// collection page is written item by item: 20,000 items as JSON values are
/// about 45 MB, their text a tenth of that).
#[derive(Debug)]
pub enum Body {
    Json(Value),
    Text(Vec<u8>),
}

impl Body {
    /// The body as JSON text.
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Body::Json(v) => serde_json::to_vec(&v).expect("serde_json::Value always serialises"),
            Body::Text(t) => t,
        }
    }

    /// The body as a JSON value (a `$batch` answer embeds it).
    pub fn into_value(self) -> Value {
        match self {
            Body::Json(v) => v,
            Body::Text(t) => serde_json::from_slice(&t).expect("a page the twin wrote is JSON"),
        }
    }
}

impl From<Value> for Body {
    fn from(v: Value) -> Body {
        Body::Json(v)
    }
}

fn context_url(ctx: &ReadCtx<'_>, set: &str) -> String {
    match ctx.host {
        Some(h) => format!("http://{h}{}/$metadata#companies({})/{set}", "/api/v2.0", ctx.base_id()),
        None => format!("/api/v2.0/$metadata#companies({})/{set}", ctx.base_id()),
    }
}

impl ReadCtx<'_> {
    fn base_id(&self) -> &str {
        self.company_id
    }
}

/// A list answer: `{"@odata.context", "value": [...], "@odata.nextLink"?}`.
fn list<T: Queryable, R: std::ops::Deref<Target = T>>(
    ctx: &ReadCtx<'_>,
    opts: &QueryOptions,
    set: &str,
    all: impl Iterator<Item = R>,
    render: impl Fn(&T) -> Value,
) -> Result<ReadAnswer, ODataError> {
    opts.check::<T>()?;
    let (page, next) = opts.page(all, ctx.epoch, ctx.max_page);
    let entities = page.len();
    // Written as `json!` would write it (keys in order), one item at a time.
    let mut out = Vec::with_capacity(256 + entities * 320);
    out.extend_from_slice(b"{\"@odata.context\":");
    write(&mut out, &context_url(ctx, set));
    if let Some(skip) = next {
        out.extend_from_slice(b",\"@odata.nextLink\":");
        write(&mut out, &opts.next_link(ctx.host, ctx.path, skip));
    }
    out.extend_from_slice(b",\"value\":[");
    for (i, e) in page.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(&mut out, &opts.apply_select(render(&e)));
    }
    out.extend_from_slice(b"]}");
    Ok(ReadAnswer {
        body: Body::Text(out),
        entities,
    })
}

fn write(out: &mut Vec<u8>, v: &impl serde::Serialize) {
    serde_json::to_writer(out, v).expect("strings and JSON values always serialise");
}

fn single(ctx: &ReadCtx<'_>, set: &str, opts: &QueryOptions, mut v: Value) -> ReadAnswer {
    v = opts.apply_select(v);
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "@odata.context".into(),
            json!(format!("{}/$entity", context_url(ctx, set))),
        );
    }
    ReadAnswer {
        body: v.into(),
        entities: 1,
    }
}

fn check_expand(opts: &QueryOptions, allowed: &[&str], type_name: &str) -> Result<(), ODataError> {
    for e in &opts.expand {
        if !allowed.contains(&e.as_str()) {
            return Err(ODataError::bad_request(format!(
                "Could not find a property named '{e}' on type '{type_name}'."
            )));
        }
    }
    Ok(())
}

/// The latest instant a `lastModifiedDateTime` filter (`ge`, `gt` or `eq`)
/// needs a shipment to be posted at or after, to the microsecond below; no
/// such filter, `None`. The filter itself still decides each candidate.
fn posted_since(opts: &QueryOptions, epoch: time::OffsetDateTime) -> Option<SimTime> {
    opts.filter
        .iter()
        .filter(|c| c.field == "lastModifiedDateTime" && matches!(c.op, Op::Ge | Op::Gt | Op::Eq))
        .filter_map(|c| match &c.value {
            Literal::Time(t) => Some(SimTime((*t - epoch).whole_microseconds().max(0) as u64)),
            _ => None,
        })
        .max()
}

/// Serves a GET on `r`.
pub fn read(state: &ErpState, r: &Resource, opts: &QueryOptions, ctx: &ReadCtx<'_>) -> Result<ReadAnswer, ODataError> {
    let epoch = ctx.epoch;
    match r {
        Resource::Companies => Ok(ReadAnswer {
            body: json!({ "@odata.context": "/api/v2.0/$metadata#companies", "value": [ctx.company.clone()] }).into(),
            entities: 1,
        }),
        Resource::Company => Ok(ReadAnswer {
            body: ctx.company.clone().into(),
            entities: 1,
        }),
        Resource::Items => {
            check_expand(opts, &[], "Microsoft.NAV.item")?;
            // Fast path: `number eq 'X'` looks up one item instead of scanning.
            match eq_value(opts, "number") {
                Some(n) => list(ctx, opts, "items", state.items.get(n).into_iter(), |i| i.to_json(epoch)),
                None => list(ctx, opts, "items", state.items.values(), |i| i.to_json(epoch)),
            }
        }
        Resource::Item(id) => {
            let item = state
                .item_ids
                .get(id.as_str())
                .and_then(|n| state.items.get(n))
                .ok_or_else(|| ODataError::record_not_found("Item", id))?;
            Ok(single(ctx, "items", opts, item.to_json(epoch)))
        }
        Resource::Customers => {
            check_expand(opts, &[], "Microsoft.NAV.customer")?;
            if let Some(email) = eq_value(opts, "email") {
                let hits = state.customer_emails.get(&email.to_lowercase());
                list(
                    ctx,
                    opts,
                    "customers",
                    hits.iter().filter_map(|n| state.customers.get(n)),
                    |c| c.to_json(epoch),
                )
            } else if let Some(n) = eq_value(opts, "number") {
                list(ctx, opts, "customers", state.customers.get(n).into_iter(), |c| {
                    c.to_json(epoch)
                })
            } else {
                list(ctx, opts, "customers", state.customers.values(), |c| c.to_json(epoch))
            }
        }
        Resource::Customer(id) => {
            let c = state
                .customer_ids
                .get(id.as_str())
                .and_then(|n| state.customers.get(n))
                .ok_or_else(|| ODataError::record_not_found("Customer", id))?;
            Ok(single(ctx, "customers", opts, c.to_json(epoch)))
        }
        Resource::SalesOrders => {
            check_expand(opts, &["salesOrderLines"], "Microsoft.NAV.salesOrder")?;
            let lines = opts.expands("salesOrderLines");
            if let Some(ext) = eq_value(opts, "externalDocumentNumber") {
                let hits = state.ext_index.get(ext);
                list(
                    ctx,
                    opts,
                    "salesOrders",
                    hits.iter().filter_map(|n| state.orders.get(n)),
                    |o| o.to_json(epoch, lines),
                )
            } else if let Some(n) = eq_value(opts, "number") {
                list(ctx, opts, "salesOrders", state.orders.get(n).into_iter(), |o| {
                    o.to_json(epoch, lines)
                })
            } else {
                list(ctx, opts, "salesOrders", state.orders.values(), |o| {
                    o.to_json(epoch, lines)
                })
            }
        }
        Resource::SalesOrder(id) => {
            check_expand(opts, &["salesOrderLines"], "Microsoft.NAV.salesOrder")?;
            let o = state
                .order_ids
                .get(id.as_str())
                .and_then(|n| state.orders.get(n))
                .ok_or_else(|| ODataError::record_not_found("Sales Header", id))?;
            Ok(single(
                ctx,
                "salesOrders",
                opts,
                o.to_json(epoch, opts.expands("salesOrderLines")),
            ))
        }
        Resource::SalesOrderLines(id) => {
            let o = state
                .order_ids
                .get(id.as_str())
                .and_then(|n| state.orders.get(n))
                .ok_or_else(|| ODataError::record_not_found("Sales Header", id))?;
            let value: Vec<Value> = o.lines.iter().map(|l| l.to_json(&o.id)).collect();
            let n = value.len();
            Ok(ReadAnswer {
                body: json!({ "@odata.context": context_url(ctx, "salesOrderLines"), "value": value }).into(),
                entities: n,
            })
        }
        Resource::Shipments => {
            check_expand(opts, &["salesShipmentLines"], "Microsoft.NAV.salesShipment")?;
            let lines = opts.expands("salesShipmentLines");
            // The fulfilment poll's `lastModifiedDateTime ge …` reads the
            // shipments posted since, off the index, not every shipment.
            match posted_since(opts, epoch) {
                Some(since) => list(
                    ctx,
                    opts,
                    "salesShipments",
                    state
                        .shipments_posted_since(since)
                        .into_iter()
                        .filter_map(|n| state.shipments.get(n)),
                    |s| s.to_json(epoch, lines),
                ),
                None => list(ctx, opts, "salesShipments", state.shipments.values(), |s| {
                    s.to_json(epoch, lines)
                }),
            }
        }
        Resource::Shipment(id) => {
            check_expand(opts, &["salesShipmentLines"], "Microsoft.NAV.salesShipment")?;
            let s = state
                .shipment_ids
                .get(id.as_str())
                .and_then(|n| state.shipments.get(n))
                .ok_or_else(|| ODataError::record_not_found("Sales Shipment Header", id))?;
            Ok(single(
                ctx,
                "salesShipments",
                opts,
                s.to_json(epoch, opts.expands("salesShipmentLines")),
            ))
        }
        Resource::ShipmentLines(id) => {
            let s = state
                .shipment_ids
                .get(id.as_str())
                .and_then(|n| state.shipments.get(n))
                .ok_or_else(|| ODataError::record_not_found("Sales Shipment Header", id))?;
            let body = s.to_json(epoch, true);
            let value = body.get("salesShipmentLines").cloned().unwrap_or(json!([]));
            let n = s.lines.len();
            Ok(ReadAnswer {
                body: json!({ "@odata.context": context_url(ctx, "salesShipmentLines"), "value": value }).into(),
                entities: n,
            })
        }
        Resource::Token | Resource::Batch => Err(ODataError::new(
            "BadRequest_MethodNotAllowed",
            "This resource accepts POST only.",
        )),
    }
}

/// The string value of a top-level `field eq '…'` comparison, for index lookups.
fn eq_value<'a>(opts: &'a QueryOptions, field: &str) -> Option<&'a str> {
    opts.filter.iter().find_map(|c| match (&c.op, &c.value) {
        (super::odata::Op::Eq, super::odata::Literal::Str(s)) if c.field == field => Some(s.as_str()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CID: &str = "6f1d8a4e-0000-4000-8000-000000000001";

    #[test]
    fn paths_classify_with_company_check() {
        let base = format!("/api/v2.0/companies({CID})");
        assert_eq!(classify("/api/v2.0/companies", CID).unwrap(), Resource::Companies);
        assert_eq!(classify(&base, CID).unwrap(), Resource::Company);
        assert_eq!(classify(&format!("{base}/items"), CID).unwrap(), Resource::Items);
        assert_eq!(
            classify(&format!("{base}/salesOrders(ABC)/salesOrderLines"), CID).unwrap(),
            Resource::SalesOrderLines("abc".into())
        );
        assert_eq!(classify("/tenant/oauth2/v2.0/token", CID).unwrap(), Resource::Token);
        let e = classify("/api/v2.0/companies(other)/items", CID).unwrap_err();
        assert_eq!(e.status, 404);
        assert_eq!(
            classify(&format!("{base}/vendors"), CID).unwrap_err().code,
            "BadRequest_NotFound"
        );
        assert!(classify("/nope", CID).is_err());
        assert_eq!(
            classify(&format!("/api/v2.0/companies%28{CID}%29/items"), CID).unwrap(),
            Resource::Items
        );
        assert!(classify("/api/v2.0/companies%2", CID).is_err());
        assert!(Resource::SalesOrders.allows("POST") && !Resource::Items.allows("POST"));
    }
}
