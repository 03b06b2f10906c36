//! Routing and the request pipeline of the Shopware twin.
//!
//! Every request: route match → rate limits (per profile rule) → bearer auth →
//! worker-pool admission (503 beyond the queue) → fault draw → handler →
//! answer held back by its queueing plus service time. Observations are stamped
//! with the time the answer becomes visible (the end of its service time).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::criteria::{self, Criteria};
use super::errors::{self, errors_response, SwError};
use super::render::{self, Format};
use super::states;
use super::stock;
use super::store::{entity_from_url, url_name, Store};
use super::sync;
use super::twin::ShopwareTwin;
use super::write;
use crate::clock::SimTime;
use crate::observe::{Event, SkuQty};
use crate::twin::capacity::Slot;
use crate::twin::faults::Fault;
use crate::twin::ratelimit::Refusal;
use crate::twin::tokens::TokenError;
use crate::twin::{Delivery, Method, Twin, TwinRequest, TwinResponse};

/// A matched route.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Token,
    Version,
    Search {
        entity: &'static str,
        ids_only: bool,
    },
    Detail {
        entity: &'static str,
        id: String,
    },
    Patch {
        entity: &'static str,
        id: String,
    },
    Sync,
    Transition {
        entity: &'static str,
        id: String,
        action: String,
    },
    /// Known path, wrong method.
    MethodNotAllowed {
        allow: &'static str,
    },
    /// An entity the twin does not model.
    UnknownEntity(String),
    NotFound,
}

impl Route {
    /// A bounded label for request counters (`POST /api/search/order`).
    fn label(&self, method: &Method) -> String {
        match self {
            Route::Token => "POST /api/oauth/token".into(),
            Route::Version => "GET /api/_info/version".into(),
            Route::Search {
                entity,
                ids_only: false,
            } => format!("POST /api/search/{}", url_name(entity)),
            Route::Search { entity, ids_only: true } => format!("POST /api/search-ids/{}", url_name(entity)),
            Route::Detail { entity, .. } => format!("GET /api/{}/{{id}}", url_name(entity)),
            Route::Patch { entity, .. } => format!("PATCH /api/{}/{{id}}", url_name(entity)),
            Route::Sync => "POST /api/_action/sync".into(),
            Route::Transition { entity, action, .. } => format!("POST /api/_action/{entity}/{{id}}/state/{action}"),
            Route::MethodNotAllowed { .. } | Route::UnknownEntity(_) | Route::NotFound => {
                format!("{method} (unrouted)")
            }
        }
    }
}

fn route(method: &Method, path: &str) -> Route {
    let trimmed = path.trim_end_matches('/');
    let segs: Vec<&str> = trimmed.trim_start_matches('/').split('/').collect();
    let is = |m: Method| *method == m;
    match segs.as_slice() {
        ["api", "oauth", "token"] => {
            if is(Method::POST) {
                Route::Token
            } else {
                Route::MethodNotAllowed { allow: "POST" }
            }
        }
        ["api", "_info", "version"] => {
            if is(Method::GET) {
                Route::Version
            } else {
                Route::MethodNotAllowed { allow: "GET" }
            }
        }
        ["api", "_action", "sync"] => {
            if is(Method::POST) {
                Route::Sync
            } else {
                Route::MethodNotAllowed { allow: "POST" }
            }
        }
        ["api", "_action", entity, id, "state", action] => {
            if !is(Method::POST) {
                return Route::MethodNotAllowed { allow: "POST" };
            }
            match states::machine_for_entity(&entity.replace('-', "_")) {
                Some(m) => Route::Transition {
                    entity: m.entity,
                    id: id.to_string(),
                    action: action.to_string(),
                },
                None => Route::NotFound,
            }
        }
        ["api", kind @ ("search" | "search-ids"), entity] => match entity_from_url(entity) {
            Some(e) if is(Method::POST) => Route::Search {
                entity: e,
                ids_only: *kind == "search-ids",
            },
            Some(_) => Route::MethodNotAllowed { allow: "POST" },
            None => Route::UnknownEntity(entity.to_string()),
        },
        ["api", entity, id] if !entity.starts_with('_') => match entity_from_url(entity) {
            Some(e) if is(Method::GET) => Route::Detail {
                entity: e,
                id: id.to_string(),
            },
            Some(e) if is(Method::PATCH) => Route::Patch {
                entity: e,
                id: id.to_string(),
            },
            Some(_) => Route::MethodNotAllowed { allow: "GET, PATCH" },
            None => Route::UnknownEntity(entity.to_string()),
        },
        _ => Route::NotFound,
    }
}

/// The outcome of a handler before the pipeline finishes it.
struct Handled {
    resp: TwinResponse,
    /// Work done, for the service time.
    service: Duration,
    /// Records written (counters).
    records: u64,
}

impl Handled {
    fn new(resp: TwinResponse, service: Duration) -> Self {
        Handled {
            resp,
            service,
            records: 0,
        }
    }
}

impl Twin for ShopwareTwin {
    fn name(&self) -> &'static str {
        "shopware"
    }

    fn max_body_bytes(&self) -> usize {
        self.profile.max_body_bytes
    }

    fn body_too_large(&self, req: &TwinRequest, limit: usize) -> TwinResponse {
        let r = route(&req.method, &req.path);
        self.stats.count(&r.label(&req.method), 413, 0);
        SwError::new(
            413,
            "FRAMEWORK__REQUEST_BODY_TOO_LARGE",
            format!("The request body exceeds the limit of {limit} bytes."),
        )
        .response()
    }

    fn handle(&self, req: TwinRequest) -> TwinResponse {
        let now = self.clock.now();
        let r = route(&req.method, &req.path);
        let label = r.label(&req.method);
        let (resp, records) = self.pipeline(&req, &r, &label, now);
        self.stats.count(&label, resp.status, records);
        resp
    }
}

impl ShopwareTwin {
    fn pipeline(&self, req: &TwinRequest, r: &Route, label: &str, now: SimTime) -> (TwinResponse, u64) {
        match r {
            Route::NotFound => return (errors::no_route(req.method.as_str(), &req.path), 0),
            Route::MethodNotAllowed { allow } => {
                let resp = SwError::new(
                    405,
                    "FRAMEWORK__METHOD_NOT_ALLOWED",
                    format!(
                        "No route found for \"{} {}\": Method Not Allowed (Allow: {allow})",
                        req.method, req.path
                    ),
                )
                .response()
                .with_header("allow", *allow);
                return (resp, 0);
            }
            _ => {}
        }
        let ip = req.peer.to_string();
        // One look at the token serves both the per-client limits and auth.
        let (auth, refused) = {
            let mut control = self.control();
            let auth = control.tokens.validate(req.bearer(), now).map(str::to_string);
            let client = auth.as_deref().unwrap_or("");
            // Rate limits first: proxies and Shopware's limiters answer before auth.
            let refused = control.limiter.check(now, req.method.as_str(), &req.path, &ip, client);
            (auth, refused)
        };
        if let Err(refusal) = refused {
            self.observe(
                now,
                Event::Throttled {
                    route: label.to_string(),
                    status: refusal.status,
                    retry_after_secs: refusal.retry_after.then(|| refusal.wait_secs()),
                },
            );
            return (
                throttled(&refusal, r == &Route::Token, self.profile.auth.throttle_retry_after),
                0,
            );
        }
        if *r == Route::Token {
            return (self.token(req, now), 0);
        }
        if *r != Route::Version {
            match auth {
                Ok(_) => {}
                Err(TokenError::Missing) => return (errors::access_denied("Missing \"Authorization\" header"), 0),
                Err(TokenError::Unknown) => return (errors::access_denied("Access token could not be verified"), 0),
                Err(TokenError::Expired) => return (errors::access_denied("Access token is expired"), 0),
            }
        }
        let base = format!("http://{}", req.header("host").unwrap_or("127.0.0.1"));
        let handled =
            match r {
                Route::Version => Handled::new(
                    TwinResponse::json(200, &json!({"version": self.profile.version})),
                    self.profile.service.base,
                ),
                Route::UnknownEntity(e) => Handled::new(
                    SwError::new(
                        400,
                        "FRAMEWORK__DEFINITION_NOT_FOUND",
                        format!(
                        "Definition for entity \"{e}\" does not exist in the synctwin Shopware twin; it models: {}.",
                        super::store::ENTITIES.iter().map(|e| url_name(e)).collect::<Vec<_>>().join(", ")
                    ),
                    )
                    .response(),
                    self.profile.service.base,
                ),
                Route::Search { entity, ids_only } => self.search(req, entity, *ids_only, &base),
                Route::Detail { entity, id } => self.detail(req, entity, id, &base),
                Route::Patch { .. } | Route::Sync | Route::Transition { .. } => {
                    return self.write_request(req, r, label, now, &base)
                }
                Route::Token | Route::NotFound | Route::MethodNotAllowed { .. } => unreachable!("answered above"),
            };
        // Reads: admit with the cost of what was read; timeouts are the only read fault.
        let fault = self.control().faults.draw_read();
        match self.admit(now, handled.service, label) {
            Err(resp) => (resp, 0),
            Ok(slot) => match fault {
                Some(_) => (self.gateway_timeout(now, label), 0),
                None => (handled.resp.with_delay(self.wall(slot.finish, now)), handled.records),
            },
        }
    }

    /// Writes: admit by declared size, draw a fault, then validate and write.
    fn write_request(
        &self,
        req: &TwinRequest,
        r: &Route,
        label: &str,
        now: SimTime,
        base: &str,
    ) -> (TwinResponse, u64) {
        let body = match parse_json_body(req) {
            Ok(b) => b,
            Err(resp) => return (resp, 0),
        };
        let reindex = indexing_enabled(req);
        let records = match r {
            Route::Sync => sync::record_count(&body).max(1),
            _ => 1,
        };
        let svc = &self.profile.service;
        let per_record = svc.per_record_write
            + if reindex {
                svc.per_record_indexing
            } else {
                Duration::ZERO
            };
        let service = match r {
            Route::Transition { .. } => svc.base + svc.transition,
            _ => svc.base + per_record * records as u32,
        };
        let slot = match self.admit(now, service, label) {
            Ok(s) => s,
            Err(resp) => return (resp, 0),
        };
        let fault = self.control().faults.draw_write(records);
        match fault {
            Some(Fault::Timeout) => return (self.gateway_timeout(now, label), 0),
            Some(Fault::Deadlock) => {
                self.observe(
                    slot.finish,
                    Event::Fault {
                        route: label.to_string(),
                        kind: "deadlock".into(),
                        status: 500,
                    },
                );
                let resp = SwError::new(
                    500,
                    "0",
                    "An exception occurred while executing a query: SQLSTATE[40001]: Serialization failure: 1213 Deadlock found when trying to get lock; try restarting transaction",
                )
                .response()
                .with_delay(self.wall(slot.finish, now));
                return (resp, 0);
            }
            _ => {}
        }
        let at = slot.finish;
        let handled = match r {
            Route::Sync => self.sync(req, &body, reindex, at),
            Route::Patch { entity, id } => self.patch(req, entity, id, &body, at, base),
            Route::Transition { entity, id, action } => self.transition_http(entity, id, action, &body, at),
            _ => unreachable!("only writes come here"),
        };
        let ok = handled.resp.status < 400;
        match fault {
            Some(Fault::CommitThenTimeout) if ok => {
                self.observe(
                    at,
                    Event::Fault {
                        route: label.to_string(),
                        kind: "commit_then_timeout".into(),
                        status: 504,
                    },
                );
                (self.timeout_response(now), handled.records)
            }
            Some(Fault::CommitThenDrop) if ok => {
                self.observe(
                    at,
                    Event::Fault {
                        route: label.to_string(),
                        kind: "commit_then_drop".into(),
                        status: 0,
                    },
                );
                let mut resp = handled.resp.with_delay(self.wall(at, now));
                resp.delivery = Delivery::Drop;
                (resp, handled.records)
            }
            _ => (handled.resp.with_delay(self.wall(at, now)), handled.records),
        }
    }

    /// Wall time from `now` until scenario instant `t`.
    fn wall(&self, t: SimTime, now: SimTime) -> Duration {
        self.clock.speed().to_wall(t.saturating_sub(now))
    }

    fn admit(&self, now: SimTime, service: Duration, label: &str) -> Result<Slot, TwinResponse> {
        let admitted = self.control().pool.admit(now, service);
        admitted.map_err(|o| {
            self.observe(now, Event::Fault { route: label.to_string(), kind: "overloaded".into(), status: 503 });
            TwinResponse::new(503)
                .with_header("content-type", "text/html")
                .with_body(format!(
                    "<html><head><title>503 Service Unavailable</title></head><body><h1>503 Service Unavailable</h1><p>All {} workers busy, {} requests queued.</p></body></html>",
                    self.profile.pool.workers, o.queued
                ))
        })
    }

    fn timeout_response(&self, now: SimTime) -> TwinResponse {
        let after = self.profile.faults.timeout_after;
        TwinResponse::new(504)
            .with_header("content-type", "text/html")
            .with_body("<html><head><title>504 Gateway Time-out</title></head><body><h1>504 Gateway Time-out</h1></body></html>")
            .with_delay(self.wall(now.plus(after), now))
    }

    fn gateway_timeout(&self, now: SimTime, label: &str) -> TwinResponse {
        self.observe(
            now.plus(self.profile.faults.timeout_after),
            Event::Fault {
                route: label.to_string(),
                kind: "timeout".into(),
                status: 504,
            },
        );
        self.timeout_response(now)
    }

    /// `POST /api/oauth/token`: client credentials (integrations), password
    /// (admin users; iPaaS connectors use it with `client_id=administration`)
    /// and refresh token. Errors as league/oauth2-server answers them.
    fn token(&self, req: &TwinRequest, now: SimTime) -> TwinResponse {
        let fields = match token_fields(req) {
            Ok(f) => f,
            Err(resp) => return resp,
        };
        let field = |k: &str| fields.get(k).map(String::as_str).unwrap_or("");
        let ip = req.peer.to_string();
        let ttl = self.profile.auth.token_ttl;
        let (subject, refresh) = match field("grant_type") {
            "client_credentials" => {
                let (id, secret) = (field("client_id"), field("client_secret"));
                if id != self.credentials.client_id
                    || !constant_time_eq(secret.as_bytes(), self.credentials.client_secret.as_bytes())
                {
                    return errors::invalid_client();
                }
                (id.to_string(), false)
            }
            "password" => {
                if field("client_id") != "administration" {
                    return errors::invalid_client();
                }
                let (user, password) = (field("username"), field("password"));
                if user != self.credentials.admin_user
                    || !constant_time_eq(password.as_bytes(), self.credentials.admin_password.as_bytes())
                {
                    return SwError::new(400, "6", "The user credentials were incorrect.")
                        .title("The user credentials were incorrect.")
                        .response();
                }
                (format!("user:{user}"), true)
            }
            "refresh_token" => {
                let presented = field("refresh_token");
                let mut control = self.control();
                match control.refresh_tokens.remove(presented) {
                    Some((user, exp)) if exp > now && field("client_id") == "administration" => {
                        drop(control);
                        (user, true)
                    }
                    _ => {
                        return SwError::new(401, "8", "The refresh token is invalid.")
                            .title("The refresh token is invalid.")
                            .param("hint", "Token has been revoked or has expired")
                            .response()
                    }
                }
            }
            "" => {
                return SwError::new(400, "3", "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.")
                    .title("The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.")
                    .param("hint", "Check the `grant_type` parameter")
                    .response()
            }
            other => {
                return SwError::new(400, "2", format!("The authorization grant type \"{other}\" is not supported by the authorization server; the twin supports client_credentials, password and refresh_token."))
                    .title("The authorization grant type is not supported by the authorization server.")
                    .response()
            }
        };
        let mut control = self.control();
        control.limiter.reset("POST", "/api/oauth/token", &ip, &subject);
        let token = control.tokens.issue(&subject, now);
        let mut body = json!({"token_type": "Bearer", "expires_in": ttl.as_secs(), "access_token": token});
        if refresh {
            // shopware.api.refresh_token_ttl: P1W.
            let week = Duration::from_secs(7 * 86_400);
            if control.refresh_tokens.len() >= 10_000 {
                control.refresh_tokens.retain(|_, (_, exp)| *exp > now);
            }
            let refresh_token = format!("rt.{}", crate::twin::hex_id(&mut control.rng));
            control
                .refresh_tokens
                .insert(refresh_token.clone(), (subject, now.plus(week)));
            body["refresh_token"] = json!(refresh_token);
        }
        let slot = control.pool.admit(now, self.profile.service.token);
        drop(control);
        let delay = slot.map(|s| self.wall(s.finish, now)).unwrap_or_default();
        TwinResponse::json(200, &body).with_delay(delay)
    }

    fn search(&self, req: &TwinRequest, entity: &'static str, ids_only: bool, base: &str) -> Handled {
        let svc = &self.profile.service;
        let Some(format) = Format::from_accept(req.header("accept")) else {
            return Handled::new(unsupported_accept(req), svc.base);
        };
        let body = if req.body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            match parse_json_body(req) {
                Ok(b) => b,
                Err(resp) => return Handled::new(resp, svc.base),
            }
        };
        let c = match criteria::parse(&body) {
            Ok(c) => c,
            Err(errs) => return Handled::new(errors_response(400, &errs), svc.base),
        };
        let store = self.read();
        let res = super::search::search(&store, entity, &c);
        let rows = res.rows.len() as u32;
        let resp = if ids_only {
            let ids: Vec<Value> = res.rows.iter().filter_map(|r| r.get("id").cloned()).collect();
            TwinResponse::json(200, &json!({"total": res.total, "data": ids}))
        } else {
            match format {
                Format::Json => TwinResponse::new(200)
                    .with_header("content-type", format.content_type())
                    .with_body(render::search_json(&store, entity, &res, &c)),
                Format::JsonApi => TwinResponse::json_typed(
                    200,
                    &render::search_jsonapi(&store, entity, &res, &c, base),
                    format.content_type(),
                ),
            }
        };
        Handled::new(resp, svc.base + svc.per_row_read * rows)
    }

    fn detail(&self, req: &TwinRequest, entity: &'static str, id: &str, base: &str) -> Handled {
        let svc = &self.profile.service;
        let Some(format) = Format::from_accept(req.header("accept")) else {
            return Handled::new(unsupported_accept(req), svc.base);
        };
        let store = self.read();
        let Some(row) = store.get(entity, id) else {
            return Handled::new(errors::not_found(entity, id), svc.base);
        };
        let c = Criteria::default();
        let doc = match format {
            Format::Json => render::detail_json(&store, entity, &row, &c),
            Format::JsonApi => render::detail_jsonapi(&store, entity, &row, &c, base),
        };
        Handled::new(
            TwinResponse::json_typed(200, &doc, format.content_type()),
            svc.base + svc.per_row_read,
        )
    }

    fn sync(&self, _req: &TwinRequest, body: &Value, reindex: bool, at: SimTime) -> Handled {
        let now_ts = self.timestamp(at);
        let mut store = self.write();
        let ops = match sync::prepare(&store, body) {
            Ok(ops) => ops,
            Err(errs) => return Handled::new(errors_response(400, &errs), Duration::ZERO),
        };
        let applied = sync::apply(&mut store, ops, reindex, &now_ts);
        let tracking = self.tracking_events(&store, &applied.tracking);
        drop(store);
        for c in &applied.stock_changes {
            self.observe(at, stock_event(c, "sync"));
        }
        for e in tracking {
            self.observe(at, e);
        }
        Handled {
            resp: TwinResponse::json(200, &applied.body),
            service: Duration::ZERO,
            records: applied.records as u64,
        }
    }

    fn patch(
        &self,
        req: &TwinRequest,
        entity: &'static str,
        id: &str,
        body: &Value,
        at: SimTime,
        base: &str,
    ) -> Handled {
        let Some(fields) = body.as_object() else {
            let detail = if body.is_array() {
                "Expected an object, got a list. To write several records at once use the /sync api endpoint."
            } else {
                "The request body must be a JSON object of the fields to write."
            };
            return Handled::new(
                SwError::new(400, "FRAMEWORK__INVALID_REQUEST_PARAMETER", detail).response(),
                Duration::ZERO,
            );
        };
        if !write::writable(entity) {
            return Handled::new(
                SwError::new(
                    405,
                    "FRAMEWORK__METHOD_NOT_ALLOWED",
                    format!("The synctwin Shopware twin does not accept writes to {entity}; writable: product, order, order-delivery, order-transaction, customer."),
                )
                .response(),
                Duration::ZERO,
            );
        }
        let now_ts = self.timestamp(at);
        let mut store = self.write();
        let Some(existing) = store.get(entity, id) else {
            return Handled::new(errors::not_found(entity, id), Duration::ZERO);
        };
        let mut errs = Vec::new();
        let mut fields = fields.clone();
        fields.insert("id".into(), json!(id));
        write::validate_record(&store, entity, &fields, Some(&existing), "", &mut errs);
        if !errs.is_empty() {
            return Handled::new(errors_response(400, &errs), Duration::ZERO);
        }
        let mut applied = sync::Applied::default();
        sync::upsert(&mut store, entity, id, fields, true, &now_ts, &mut applied);
        let tracking = self.tracking_events(&store, &applied.tracking);
        let location = format!("{base}/api/{}/{id}", url_name(entity));
        let resp = if req
            .query_param("_response")
            .is_some_and(|v| v == "1" || v == "true" || v == "detail")
        {
            let row = store.get(entity, id).unwrap_or_default();
            TwinResponse::json(200, &render::detail_json(&store, entity, &row, &Criteria::default()))
        } else {
            TwinResponse::new(204)
        };
        drop(store);
        for c in &applied.stock_changes {
            self.observe(at, stock_event(c, "patch"));
        }
        for e in tracking {
            self.observe(at, e);
        }
        Handled {
            resp: resp.with_header("location", location),
            service: Duration::ZERO,
            records: 1,
        }
    }

    fn tracking_events(&self, store: &Store, tracking: &[(String, Vec<String>)]) -> Vec<Event> {
        tracking
            .iter()
            .map(|(delivery_id, codes)| Event::TrackingSet {
                delivery_id: delivery_id.clone(),
                order_number: order_number_of(store, "order_delivery", delivery_id),
                codes: codes.clone(),
            })
            .collect()
    }

    fn transition_http(&self, entity: &'static str, id: &str, action: &str, body: &Value, at: SimTime) -> Handled {
        if !(body.is_null() || body.is_object()) {
            return Handled::new(
                SwError::new(
                    400,
                    "FRAMEWORK__INVALID_REQUEST_PARAMETER",
                    "The body must be a JSON object such as {\"sendMail\": false}.",
                )
                .response(),
                Duration::ZERO,
            );
        }
        // Shopware answers a transition with the bare new state (a plain JsonResponse, whatever the Accept).
        let resp = match self.transition(entity, id, action, at) {
            Ok(state) => {
                let store = self.read();
                let doc = store
                    .get("state_machine_state", &state)
                    .map_or(Value::Null, |r| Value::Object(Arc::unwrap_or_clone(r)));
                TwinResponse::json(200, &doc)
            }
            Err(e) => e.response(),
        };
        Handled {
            resp,
            service: Duration::ZERO,
            records: 1,
        }
    }

    /// Runs a state transition (Admin API or storefront side); returns the new state id.
    pub fn transition(
        &self,
        entity: &'static str,
        id: &str,
        action: &str,
        at: SimTime,
    ) -> Result<String, Box<SwError>> {
        let machine = states::machine_for_entity(entity).ok_or_else(|| {
            Box::new(SwError::new(
                400,
                "SYSTEM__STATE_MACHINE_NOT_FOUND",
                format!("No state machine for entity {entity}."),
            ))
        })?;
        let now_ts = self.timestamp(at);
        let mut store = self.write();
        let Some(row) = store.get(entity, id) else {
            return Err(Box::new(
                SwError::new(
                    400,
                    "SYSTEM__STATE_MACHINE_INVALID_ENTITY_ID",
                    format!("The entity {entity} with id {id} is not valid."),
                )
                .param("entityName", entity)
                .param("entityId", id),
            ));
        };
        let from_id = row
            .get("stateId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let from = states::technical_name(&store, &from_id).unwrap_or_else(|| machine.initial.to_string());
        let to = states::target(&machine, &from, action).map_err(|e| {
            Box::new(
                SwError::new(
                    400,
                    "SYSTEM__ILLEGAL_STATE_TRANSITION",
                    format!(
                        "Illegal transition \"{}\" from state \"{}\". Possible transitions are: {}",
                        e.action,
                        e.from,
                        e.possible.join(", ")
                    ),
                )
                .param("transition", e.action.clone())
                .param("fromStateName", e.from.clone())
                .param("possibleTransitions", e.possible.clone()),
            )
        })?;
        let to_id = states::state_id(&machine, to);
        let mut fields = Map::new();
        fields.insert("stateId".into(), json!(to_id));
        fields.insert("updatedAt".into(), json!(now_ts));
        store.update(entity, id, &fields);
        let order_number = order_number_of(&store, entity, id);
        // 6.6 stock: cancel gives stock back, leaving cancelled takes it again.
        let mut changes = Vec::new();
        if entity == "order" && (to == "cancelled" || from == "cancelled") {
            let sign = if to == "cancelled" { 1 } else { -1 };
            for (product_id, qty) in product_quantities(&store, id) {
                if let Some(c) = stock::apply_delta(&mut store, &product_id, sign * qty, true) {
                    changes.push(c);
                }
            }
        }
        drop(store);
        for c in &changes {
            self.observe(at, stock_event(c, if to == "cancelled" { "cancel" } else { "reopen" }));
        }
        self.observe(
            at,
            Event::StateChanged {
                entity: entity.to_string(),
                id: id.to_string(),
                order_number,
                transition: action.to_string(),
                from,
                to: to.to_string(),
            },
        );
        Ok(to_id)
    }
}

/// Product quantities of an order's product line items (including those nested
/// under customized-products containers).
pub(crate) fn product_quantities(store: &Store, order_id: &str) -> Vec<(String, i64)> {
    store
        .ids_by_fk("order_line_item", "orderId", order_id)
        .iter()
        .filter_map(|lid| store.get("order_line_item", lid))
        .filter(|li| li.get("type").and_then(Value::as_str) == Some("product"))
        .filter_map(|li| {
            let pid = li.get("productId").and_then(Value::as_str)?.to_string();
            Some((pid, li.get("quantity").and_then(Value::as_i64).unwrap_or(0)))
        })
        .collect()
}

fn order_number_of(store: &Store, entity: &str, id: &str) -> Option<String> {
    let order_id = if entity == "order" {
        id.to_string()
    } else {
        store.get(entity, id)?.get("orderId")?.as_str()?.to_string()
    };
    store
        .get("order", &order_id)?
        .get("orderNumber")?
        .as_str()
        .map(str::to_string)
}

pub(crate) fn stock_event(c: &stock::StockChange, via: &str) -> Event {
    Event::StockWritten {
        sku: c.product_number.clone(),
        before: c.before,
        after: c.after,
        via: via.to_string(),
        available: c.available,
    }
}

/// Quantities of an order by SKU, for observations.
pub fn sku_quantities(store: &Store, order_id: &str) -> Vec<SkuQty> {
    product_quantities(store, order_id)
        .into_iter()
        .map(|(pid, qty)| SkuQty {
            sku: store
                .get("product", &pid)
                .and_then(|p| p.get("productNumber").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_default(),
            qty,
        })
        .collect()
}

/// Synchronous indexing unless `indexing-behavior: disable-indexing` or the
/// stock indexer is skipped (`indexing-skip: product.stock`).
fn indexing_enabled(req: &TwinRequest) -> bool {
    let disabled = req
        .header("indexing-behavior")
        .is_some_and(|v| v.trim() == "disable-indexing");
    let skipped = req
        .header("indexing-skip")
        .is_some_and(|v| v.split(',').any(|s| s.trim() == "product.stock"));
    !(disabled || skipped)
}

fn is_json_content_type(req: &TwinRequest) -> bool {
    req.header("content-type").is_some_and(|ct| {
        let media = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        media == "application/json" || media == "application/vnd.api+json"
    })
}

fn parse_json_body(req: &TwinRequest) -> Result<Value, TwinResponse> {
    if req.body.is_empty() {
        return Ok(Value::Null);
    }
    if !is_json_content_type(req) {
        return Err(SwError::new(
            415,
            "FRAMEWORK__UNSUPPORTED_MEDIA_TYPE",
            format!(
                "The request body must be sent with Content-Type: application/json (got {}).",
                req.header("content-type").unwrap_or("none")
            ),
        )
        .response());
    }
    serde_json::from_slice(&req.body).map_err(|e| errors::malformed_json(&e))
}

fn unsupported_accept(req: &TwinRequest) -> TwinResponse {
    SwError::new(
        415,
        "FRAMEWORK__UNSUPPORTED_MEDIA_TYPE",
        format!(
            "The Accept header \"{}\" is not supported; use application/json or application/vnd.api+json.",
            req.header("accept").unwrap_or("")
        ),
    )
    .response()
}

/// The token request's fields, from JSON or a form body.
fn token_fields(req: &TwinRequest) -> Result<std::collections::BTreeMap<String, String>, TwinResponse> {
    let ct = req.header("content-type").unwrap_or("").to_ascii_lowercase();
    if ct.starts_with("application/x-www-form-urlencoded") {
        let text = String::from_utf8_lossy(&req.body);
        return Ok(text
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (form_decode(k), form_decode(v)))
            .collect());
    }
    let body = parse_json_body(req)?;
    Ok(body
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default())
}

fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A throttled answer: Shopware's error body, or a proxy's plain page when the
/// rule has no error code.
fn throttled(refusal: &Refusal, token_route: bool, auth_retry_after: bool) -> TwinResponse {
    let secs = refusal.wait_secs();
    let mut resp = match refusal.code.as_deref() {
        Some("FRAMEWORK__AUTH_THROTTLED") => {
            SwError::new(refusal.status, "FRAMEWORK__AUTH_THROTTLED", format!("Auth throttled for {secs} seconds."))
                .param("seconds", secs)
                .response()
        }
        Some(code) => {
            SwError::new(refusal.status, code, format!("Too many requests, try again in {secs} seconds."))
                .param("seconds", secs)
                .response()
        }
        None => TwinResponse::new(refusal.status).with_header("content-type", "text/html").with_body(format!(
            "<html><head><title>{0} Too Many Requests</title></head><body><center><h1>{0} Too Many Requests</h1></center><hr><center>nginx</center></body></html>",
            refusal.status
        )),
    };
    let header = if token_route && refusal.code.as_deref() == Some("FRAMEWORK__AUTH_THROTTLED") {
        auth_retry_after
    } else {
        refusal.retry_after
    };
    if header {
        resp = resp.with_header("retry-after", secs.to_string());
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_shopware_paths() {
        assert_eq!(route(&Method::POST, "/api/oauth/token"), Route::Token);
        assert_eq!(
            route(&Method::POST, "/api/search/order-delivery"),
            Route::Search {
                entity: "order_delivery",
                ids_only: false
            }
        );
        assert_eq!(
            route(&Method::POST, "/api/search-ids/product/"),
            Route::Search {
                entity: "product",
                ids_only: true
            }
        );
        assert_eq!(
            route(&Method::GET, "/api/order/abc"),
            Route::Detail {
                entity: "order",
                id: "abc".into()
            }
        );
        assert_eq!(
            route(&Method::PATCH, "/api/order-delivery/abc"),
            Route::Patch {
                entity: "order_delivery",
                id: "abc".into()
            }
        );
        assert_eq!(
            route(&Method::POST, "/api/_action/order_delivery/abc/state/ship"),
            Route::Transition {
                entity: "order_delivery",
                id: "abc".into(),
                action: "ship".into()
            }
        );
        assert_eq!(
            route(&Method::GET, "/api/_action/sync"),
            Route::MethodNotAllowed { allow: "POST" }
        );
        assert_eq!(
            route(&Method::POST, "/api/search/category"),
            Route::UnknownEntity("category".into())
        );
        assert_eq!(route(&Method::GET, "/nothing"), Route::NotFound);
    }

    #[test]
    fn labels_stay_bounded() {
        let a = route(&Method::GET, "/api/order/1").label(&Method::GET);
        let b = route(&Method::GET, "/api/order/2").label(&Method::GET);
        assert_eq!(a, b);
        assert_eq!(a, "GET /api/order/{id}");
    }

    #[test]
    fn form_bodies_decode() {
        assert_eq!(form_decode("a+b%21"), "a b!");
        assert_eq!(form_decode("100%"), "100%");
    }
}
