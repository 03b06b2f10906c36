//! `POST /api/v2.0/$batch`: several operations in one request (JSON batch).
//!
//! Body: `{"requests":[{"id":"1","method":"POST","url":"companies(<id>)/salesOrders","body":{…}}, …]}`,
//! answer: `200 {"responses":[{"id":"1","status":201,"body":{…}}, …]}`. URLs may
//! be relative to `/api/v2.0/`, absolute paths or full URLs. At most 100
//! operations (ERP.md: Learn module "API limits").
//!
//! Without a header `Isolation: snapshot`, operations succeed or fail on their
//! own, as in Business Central. With it, the batch is one transaction: the first
//! failing operation rolls back everything before it; that operation carries
//! its error and every other one answers 424 (assumption: the twin's rendering
//! of a rolled-back atomic batch; BC documents only that nothing is committed).
//!
//! Assumptions: the batch counts as one request against the rate limit and takes
//! one worker for the sum of its operations' service times; fault injection
//! applies to single-order POSTs only.

use std::borrow::Cow;

use serde_json::{json, Value};

use super::errors::ODataError;
use super::odata::QueryOptions;
use super::routes::{self, ReadCtx, Resource};
use super::state::SalesOrder;
use super::{customers, orders, Ctx, Inner};
use crate::observe::{Event, ObservationLog};

/// Most operations in one batch.
pub const MAX_OPERATIONS: usize = 100;

/// One operation of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    pub id: String,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub body: Option<Value>,
}

impl Op {
    /// Order lines this operation writes (for its service time).
    pub fn lines(&self) -> usize {
        self.body
            .as_ref()
            .and_then(|b| b.get("salesOrderLines"))
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
    }
}

/// Parses a batch body into operations.
pub fn parse(body: &Value) -> Result<Vec<Op>, ODataError> {
    let requests = body
        .get("requests")
        .and_then(Value::as_array)
        .ok_or_else(|| ODataError::bad_request("Invalid Request Body: a batch needs a 'requests' array."))?;
    if requests.len() > MAX_OPERATIONS {
        return Err(ODataError::bad_request(format!(
            "The batch contains {} operations; at most {MAX_OPERATIONS} are allowed.",
            requests.len()
        )));
    }
    requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let bad = |what: &str| ODataError::bad_request(format!("Batch operation {}: {what}.", i + 1));
            let obj = r.as_object().ok_or_else(|| bad("must be a JSON object"))?;
            for k in obj.keys() {
                if !["id", "method", "url", "body", "headers", "atomicityGroup", "dependsOn"].contains(&k.as_str()) {
                    return Err(bad(&format!("unknown property '{k}'")));
                }
            }
            let id = match obj.get("id") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                None => (i + 1).to_string(),
                Some(_) => return Err(bad("'id' must be a string")),
            };
            let method = obj
                .get("method")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("'method' is required"))?
                .to_ascii_uppercase();
            let url = obj
                .get("url")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("'url' is required"))?;
            let (path, query) = normalise(url);
            Ok(Op {
                id,
                method,
                path,
                query,
                body: obj.get("body").cloned(),
            })
        })
        .collect()
}

/// `http://h/api/v2.0/x?q`, `/api/v2.0/x?q` or `x?q` → (`/api/v2.0/x`, `q`).
fn normalise(url: &str) -> (String, Option<String>) {
    let no_host = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => url,
    };
    let (p, q) = match no_host.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string())),
        None => (no_host, None),
    };
    let path = if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/api/v2.0/{p}")
    };
    (path, q)
}

/// What the batch needs from the twin besides the state.
pub(crate) struct Env<'a> {
    pub company_id: &'a str,
    pub host: Option<&'a str>,
    pub company: Value,
    pub max_page: usize,
    pub epoch: time::OffsetDateTime,
}

/// How to undo one write of an atomic batch.
enum Undo {
    Created(String),
    Replaced(Box<SalesOrder>),
    Customer(String),
}

/// Runs the operations; returns the `responses` array and the records written.
pub(crate) fn execute(g: &mut Inner, ctx: &Ctx<'_>, env: &Env<'_>, ops: &[Op], isolated: bool) -> (Vec<Value>, u64) {
    // Observations wait in a buffer so a rolled-back batch leaves no trace but its rejection.
    let buffer = ObservationLog::new();
    let bctx = Ctx {
        profile: ctx.profile,
        tax_rates: ctx.tax_rates,
        log: &buffer,
        at: ctx.at,
    };
    let mut responses = Vec::with_capacity(ops.len());
    let mut undo = Vec::new();
    let mut records = 0;
    let mut failed_at = None;
    for (i, op) in ops.iter().enumerate() {
        let result = run_one(g, &bctx, env, op, isolated.then_some(&mut undo));
        let (status, body) = match result {
            Ok((status, body, n)) => {
                records += n;
                (status, body)
            }
            Err(e) => {
                let corr = g.ids.correlation();
                (e.status, e.to_json(&corr))
            }
        };
        responses.push(
            json!({"id": op.id, "status": status, "headers": {"content-type": "application/json"}, "body": body}),
        );
        if isolated && status >= 400 {
            failed_at = Some(i);
            break;
        }
    }
    let observed = buffer.drain();
    match failed_at {
        Some(failed) => {
            for u in undo.into_iter().rev() {
                match u {
                    Undo::Created(n) => {
                        if let Some(o) = g.state.remove_order(&n) {
                            orders::release(g, &o);
                        }
                    }
                    Undo::Replaced(old) => {
                        if let Some(new) = g.state.remove_order(&old.number) {
                            orders::release(g, &new);
                        }
                        orders::reserve(g, &old);
                        g.state.insert_order(*old);
                    }
                    Undo::Customer(n) => {
                        g.state.remove_customer(&n);
                    }
                }
            }
            for o in observed {
                if matches!(o.event, Event::ErpOrderRejected { .. }) {
                    ctx.log.record(o.at, o.system, o.event);
                }
            }
            let failed_response = responses[failed].clone();
            let corr = g.ids.correlation();
            let rolled_back = ODataError::with_status(
                424,
                "BadRequest_BatchRolledBack",
                "Another operation of this atomic batch failed; nothing was committed.",
            )
            .to_json(&corr);
            let all = ops
                .iter()
                .enumerate()
                .map(|(i, op)| {
                    if i == failed {
                        failed_response.clone()
                    } else {
                        json!({"id": op.id, "status": 424, "headers": {"content-type": "application/json"}, "body": rolled_back})
                    }
                })
                .collect();
            (all, 0)
        }
        None => {
            for o in observed {
                ctx.log.record(o.at, o.system, o.event);
            }
            (responses, records)
        }
    }
}

fn run_one(
    g: &mut Inner,
    ctx: &Ctx<'_>,
    env: &Env<'_>,
    op: &Op,
    undo: Option<&mut Vec<Undo>>,
) -> Result<(u16, Value, u64), ODataError> {
    let r = routes::classify(&op.path, env.company_id)?;
    if r == Resource::Token || r == Resource::Batch || !r.allows(&op.method) {
        return Err(ODataError::new(
            "BadRequest_MethodNotAllowed",
            format!("{} {} is not allowed in a batch.", op.method, op.path),
        ));
    }
    let opts = QueryOptions::parse(op.query.as_deref())?;
    if op.method == "GET" {
        let rctx = ReadCtx {
            epoch: env.epoch,
            max_page: env.max_page,
            host: env.host,
            path: &op.path,
            company_id: env.company_id,
            company: env.company.clone(),
        };
        let a = routes::read(&g.state, &r, &opts, &rctx)?;
        return Ok((200, a.body.into_value(), 0));
    }
    let body = op
        .body
        .as_ref()
        .ok_or_else(|| ODataError::bad_request("Invalid Request Body: the operation has no body."))?;
    match r {
        Resource::SalesOrders => {
            let before = body
                .get("externalDocumentNumber")
                .and_then(Value::as_str)
                .and_then(|ext| g.state.ext_index.first(ext))
                .and_then(|n| g.state.orders.get(n))
                .map(Cow::into_owned);
            let posted = orders::post(g, ctx, body)?;
            if let Some(u) = undo {
                u.push(match (posted.status, before) {
                    (200, Some(old)) => Undo::Replaced(Box::new(old)),
                    _ => Undo::Created(posted.number.clone()),
                });
            }
            let o = g
                .state
                .orders
                .get(&posted.number)
                .ok_or_else(|| ODataError::record_not_found("Sales Header", &posted.number))?;
            Ok((
                posted.status,
                o.to_json(env.epoch, opts.expands("salesOrderLines")),
                posted.lines,
            ))
        }
        Resource::Customers => {
            let number = customers::post(g, ctx, body)?;
            if let Some(u) = undo {
                u.push(Undo::Customer(number.clone()));
            }
            let c = g
                .state
                .customers
                .get(&number)
                .ok_or_else(|| ODataError::record_not_found("Customer", &number))?;
            Ok((201, c.to_json(env.epoch), 1))
        }
        _ => Err(ODataError::new(
            "BadRequest_MethodNotAllowed",
            "The resource does not support POST.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_normalise_and_limits_apply() {
        assert_eq!(
            normalise("companies(1)/items?$top=1"),
            ("/api/v2.0/companies(1)/items".into(), Some("$top=1".into()))
        );
        assert_eq!(normalise("http://h:1/api/v2.0/companies").0, "/api/v2.0/companies");
        assert_eq!(normalise("/api/v2.0/companies").0, "/api/v2.0/companies");
        let many: Vec<Value> = (0..101).map(|_| json!({"method": "GET", "url": "companies"})).collect();
        assert!(parse(&json!({"requests": many}))
            .unwrap_err()
            .message
            .contains("at most 100"));
        assert!(parse(&json!({"requests": [{"url": "x"}]}))
            .unwrap_err()
            .message
            .contains("'method'"));
        assert!(parse(&json!({"requests": [{"method": "GET", "url": "x", "extra": 1}]})).is_err());
        assert!(parse(&json!([])).is_err());
    }
}
