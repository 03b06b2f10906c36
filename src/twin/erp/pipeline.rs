//! The request pipeline: routing, auth, rate limits, worker pool, timeouts,
//! faults and the handlers, behind [`Twin::handle`].
//!
//! Order of checks for an API call: route (404 `BadRequest_NotFound`, 405) →
//! bearer token (401 `Authentication_InvalidCredentials`) → rate-limit rules
//! (429 from the profile) → query options (400 `BadRequest`) → worker pool
//! (429 beyond workers + queue) → operation timeout (408) and gateway timeout
//! (504) → fault draw → handler. Reads are served before admission (they change
//! nothing) so their service time can count the entities returned.

use std::time::Duration;

use serde_json::{json, Value};

use super::odata::QueryOptions;
use super::routes::{self, Resource};
use super::{batch, customers, orders, payload, Ctx, ErpTwin, Inner, ODataError};
use crate::clock::SimTime;
use crate::observe::{Event, System};
use crate::twin::faults::Fault;
use crate::twin::ratelimit::Refusal;
use crate::twin::tokens::TokenError;
use crate::twin::{Delivery, Twin, TwinRequest, TwinResponse};

impl ErpTwin {
    fn error(&self, g: &mut Inner, label: &str, e: ODataError, delay: Duration) -> TwinResponse {
        let corr = g.ids.correlation();
        self.stats.count(label, e.status, 0);
        e.into_response(&corr).with_delay(delay)
    }

    fn wall(&self, d: Duration) -> Duration {
        self.clock.speed().to_wall(d)
    }

    /// `POST /oauth/token`: client credentials, form or JSON body (Entra ID's answer shape).
    fn token(&self, g: &mut Inner, req: &TwinRequest, now: SimTime, label: &str) -> TwinResponse {
        let delay = self.wall(self.profile.service_time.token);
        let is_json = req.header("content-type").is_some_and(|c| c.contains("json"));
        let pairs: Result<Vec<(String, String)>, ()> = if is_json {
            match serde_json::from_slice::<Value>(&req.body) {
                Ok(Value::Object(m)) => Ok(m
                    .into_iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
                    .collect()),
                _ => Err(()),
            }
        } else {
            std::str::from_utf8(&req.body)
                .map_err(|_| ())
                .and_then(|s| payload::form_pairs(s).map_err(|_| ()))
        };
        let entra = |status: u16, error: &str, desc: &str| {
            self.stats.count(label, status, 0);
            TwinResponse::json(
                status,
                &json!({ "error": error, "error_description": desc, "error_codes": [], "timestamp": "", "trace_id": "", "correlation_id": "" }),
            )
            .with_delay(delay)
        };
        let Ok(pairs) = pairs else {
            return entra(
                400,
                "invalid_request",
                "AADSTS900144: The request body must contain the parameter 'grant_type'.",
            );
        };
        let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        let client = get("client_id").unwrap_or_default();
        if let Err(refusal) = g
            .limiter
            .check(now, req.method.as_str(), &req.path, &req.peer.to_string(), client)
        {
            return self.throttled(g, label, refusal, now);
        }
        match get("grant_type") {
            Some("client_credentials") => {}
            Some(other) => {
                return entra(
                    400,
                    "unsupported_grant_type",
                    &format!("AADSTS70003: The app requested an unsupported grant type '{other}'."),
                )
            }
            None => {
                return entra(
                    400,
                    "invalid_request",
                    "AADSTS900144: The request body must contain the parameter 'grant_type'.",
                )
            }
        }
        if client != self.client_id {
            return entra(
                400,
                "unauthorized_client",
                &format!("AADSTS700016: Application with identifier '{client}' was not found in the directory."),
            );
        }
        if get("client_secret") != Some(self.client_secret.as_str()) {
            return entra(
                401,
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.",
            );
        }
        let token = g.tokens.issue(client, now);
        let ttl = self.profile.auth.token_ttl.as_secs();
        self.stats.count(label, 200, 0);
        TwinResponse::json(
            200,
            &json!({ "token_type": "Bearer", "expires_in": ttl, "ext_expires_in": ttl, "access_token": token }),
        )
        .with_delay(delay)
    }

    fn throttled(&self, g: &mut Inner, label: &str, refusal: Refusal, now: SimTime) -> TwinResponse {
        let retry = refusal.retry_after.then(|| refusal.wait_secs());
        self.log.record(
            now,
            System::Erp,
            Event::Throttled {
                route: label.to_string(),
                status: refusal.status,
                retry_after_secs: retry,
            },
        );
        let code = refusal
            .code
            .clone()
            .unwrap_or_else(|| "Application_TooManyRequests".into());
        let e = ODataError::with_status(
            refusal.status,
            &code,
            format!(
                "Too many requests: the limit '{}' was exceeded. Retry after a cool-off period.",
                refusal.rule
            ),
        )
        .with_retry_after(retry);
        self.error(g, label, e, Duration::ZERO)
    }

    fn overloaded(&self, g: &mut Inner, label: &str, now: SimTime) -> TwinResponse {
        let o = &self.profile.overload;
        let retry = o.retry_after.then_some(1);
        self.log.record(
            now,
            System::Erp,
            Event::Throttled {
                route: label.to_string(),
                status: o.status,
                retry_after_secs: retry,
            },
        );
        let e = ODataError::with_status(
            o.status,
            &o.code,
            "The server is busy: too many requests are in process or queued. Retry after a cool-off period.",
        )
        .with_retry_after(retry);
        self.error(g, label, e, Duration::ZERO)
    }

    /// Admits a request to the pool and applies the operation timeouts.
    /// `Ok(finish)` or the refusal/timeout answer.
    fn admit(&self, g: &mut Inner, label: &str, now: SimTime, service: Duration) -> Result<SimTime, TwinResponse> {
        let slot = match g.pool.admit(now, service) {
            Ok(s) => s,
            Err(_) => return Err(self.overloaded(g, label, now)),
        };
        let latency = slot.latency(now);
        let api = &self.profile.api;
        if latency > api.gateway_timeout {
            return Err(self.timeout(g, label, now, 504, api.gateway_timeout, "gateway_timeout"));
        }
        if latency > api.operation_timeout {
            return Err(self.timeout(g, label, now, 408, api.operation_timeout, "operation_timeout"));
        }
        Ok(slot.finish)
    }

    fn timeout(
        &self,
        g: &mut Inner,
        label: &str,
        now: SimTime,
        status: u16,
        after: Duration,
        kind: &str,
    ) -> TwinResponse {
        self.log.record(
            now.plus(after),
            System::Erp,
            Event::Fault {
                route: label.to_string(),
                kind: kind.to_string(),
                status,
            },
        );
        let (code, msg) = if status == 408 {
            (
                "RequestTimeout",
                "The operation exceeded the operation timeout and was cancelled.",
            )
        } else {
            ("GatewayTimeout", "The gateway did not receive a response in time.")
        };
        let e = ODataError::with_status(status, code, msg);
        let delay = self.wall(after);
        self.error(g, label, e, delay)
    }

    fn get(
        &self,
        g: &mut Inner,
        req: &TwinRequest,
        r: &Resource,
        opts: &QueryOptions,
        label: &str,
        now: SimTime,
    ) -> TwinResponse {
        let ctx = routes::ReadCtx {
            epoch: self.epoch(),
            max_page: self.profile.api.max_page_size,
            host: req.header("host"),
            path: &req.path,
            company_id: &self.company_id,
            company: self.company_json(),
        };
        let answer = match routes::read(&g.state, r, opts, &ctx) {
            Ok(a) => a,
            Err(e) => {
                let delay = self.wall(self.profile.service_time.base);
                return self.error(g, label, e, delay);
            }
        };
        let st = &self.profile.service_time;
        let service = st.base + st.per_entity_read * answer.entities as u32;
        let finish = match self.admit(g, label, now, service) {
            Ok(f) => f,
            Err(resp) => return resp,
        };
        if g.faults.draw_read() == Some(Fault::Timeout) {
            let after = g.faults.config().timeout_after;
            return self.timeout(g, label, now, 504, after, "timeout");
        }
        self.stats.count(label, 200, 0);
        TwinResponse::new(200)
            .with_header(
                "content-type",
                "application/json; odata.metadata=minimal; odata.streaming=true",
            )
            .with_body(answer.body.into_bytes())
            .with_delay(self.wall(finish.saturating_sub(now)))
    }

    /// `POST $batch`: one admission for the whole batch, then the operations in order.
    fn batch(&self, g: &mut Inner, req: &TwinRequest, label: &str, now: SimTime) -> TwinResponse {
        let base_delay = self.wall(self.profile.service_time.base);
        let ops = match payload::parse_json(&req.body).and_then(|b| batch::parse(&b)) {
            Ok(ops) => ops,
            Err(e) => return self.error(g, label, e, base_delay),
        };
        let st = &self.profile.service_time;
        let lines: usize = ops.iter().map(batch::Op::lines).sum();
        let service = st.base * ops.len().max(1) as u32 + st.per_line * lines as u32;
        let finish = match self.admit(g, label, now, service) {
            Ok(f) => f,
            Err(resp) => return resp,
        };
        let isolated = req
            .header("isolation")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("snapshot"));
        let ctx = Ctx {
            profile: &self.profile,
            tax_rates: &self.tax_rates,
            log: &self.log,
            at: finish,
        };
        let env = batch::Env {
            company_id: &self.company_id,
            host: req.header("host"),
            company: self.company_json(),
            max_page: self.profile.api.max_page_size,
            epoch: self.epoch(),
        };
        let (responses, records) = batch::execute(g, &ctx, &env, &ops, isolated);
        self.stats.count(label, 200, records);
        TwinResponse::json(200, &json!({ "responses": responses })).with_delay(self.wall(finish.saturating_sub(now)))
    }

    fn post(
        &self,
        g: &mut Inner,
        req: &TwinRequest,
        r: &Resource,
        opts: &QueryOptions,
        label: &str,
        now: SimTime,
    ) -> TwinResponse {
        let base_delay = self.wall(self.profile.service_time.base);
        let body = match payload::parse_json(&req.body) {
            Ok(b) => b,
            Err(e) => {
                if *r == Resource::SalesOrders {
                    self.log.record(
                        now,
                        System::Erp,
                        Event::ErpOrderRejected {
                            external_document_number: String::new(),
                            code: e.code.clone(),
                            message: e.message.clone(),
                        },
                    );
                }
                return self.error(g, label, e, base_delay);
            }
        };
        let lines = body
            .get("salesOrderLines")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        let st = &self.profile.service_time;
        let service = st.base + st.per_line * lines as u32;
        let finish = match self.admit(g, label, now, service) {
            Ok(f) => f,
            Err(resp) => return resp,
        };
        let delay = self.wall(finish.saturating_sub(now));
        let ctx = Ctx {
            profile: &self.profile,
            tax_rates: &self.tax_rates,
            log: &self.log,
            at: finish,
        };
        match r {
            Resource::SalesOrders => {
                let fault = g.faults.draw_write(lines);
                let after = g.faults.config().timeout_after;
                match fault {
                    Some(Fault::Timeout) => return self.timeout(g, label, now, 504, after, "timeout"),
                    Some(Fault::Deadlock) => {
                        self.log.record(
                            finish,
                            System::Erp,
                            Event::Fault {
                                route: label.to_string(),
                                kind: "deadlock".into(),
                                status: 500,
                            },
                        );
                        let e = ODataError::new(
                            "Internal_ServerError",
                            "The operation could not complete because a record in the Sales Header table was locked by another user.",
                        );
                        return self.error(g, label, e, delay);
                    }
                    _ => {}
                }
                let posted = match orders::post(g, &ctx, &body) {
                    Ok(p) => p,
                    Err(e) => return self.error(g, label, e, delay),
                };
                match fault {
                    Some(Fault::CommitThenTimeout) => {
                        return self.timeout(
                            g,
                            label,
                            now,
                            504,
                            after.max(finish.saturating_sub(now)),
                            "commit_then_timeout",
                        )
                    }
                    Some(Fault::CommitThenDrop) => {
                        self.log.record(
                            finish,
                            System::Erp,
                            Event::Fault {
                                route: label.to_string(),
                                kind: "commit_then_drop".into(),
                                status: 0,
                            },
                        );
                        self.stats.count(label, 0, posted.lines);
                        let mut resp = TwinResponse::new(504).with_delay(delay);
                        resp.delivery = Delivery::Drop;
                        return resp;
                    }
                    _ => {}
                }
                let order = g
                    .state
                    .orders
                    .get(&posted.number)
                    .expect("a posted order is on the shelf");
                let v = order.to_json(self.epoch(), opts.expands("salesOrderLines"));
                self.stats.count(label, posted.status, posted.lines);
                TwinResponse::json_typed(
                    posted.status,
                    &v,
                    "application/json; odata.metadata=minimal; odata.streaming=true",
                )
                .with_header("location", format!("{}/salesOrders({})", self.api_base(), order.id))
                .with_delay(delay)
            }
            Resource::Customers => match customers::post(g, &ctx, &body) {
                Ok(number) => {
                    let v = g
                        .state
                        .customers
                        .get(&number)
                        .expect("a posted customer is on the shelf")
                        .to_json(self.epoch());
                    self.stats.count(label, 201, 1);
                    TwinResponse::json_typed(
                        201,
                        &v,
                        "application/json; odata.metadata=minimal; odata.streaming=true",
                    )
                    .with_delay(delay)
                }
                Err(e) => self.error(g, label, e, delay),
            },
            _ => self.error(
                g,
                label,
                ODataError::new("BadRequest_MethodNotAllowed", "The resource does not support POST."),
                base_delay,
            ),
        }
    }
}

impl Twin for ErpTwin {
    fn name(&self) -> &'static str {
        "erp"
    }

    fn handle(&self, req: TwinRequest) -> TwinResponse {
        let now = self.clock.now();
        let mut guard = self.lock();
        let g = &mut *guard;
        self.post_due(g, now);
        g.requests += 1;
        if g.requests % 4096 == 0 {
            g.limiter.prune(now);
        }
        let method = req.method.as_str().to_string();
        let resource = match routes::classify(&req.path, &self.company_id) {
            Ok(r) => r,
            Err(e) => return self.error(g, &format!("{method} (unrouted)"), e, Duration::ZERO),
        };
        let label = format!("{method} {}", resource.pattern());
        if !resource.allows(&method) {
            let e = ODataError::new(
                "BadRequest_MethodNotAllowed",
                format!("The requested resource does not support http method '{method}'."),
            );
            return self.error(g, &label, e, Duration::ZERO);
        }
        if resource == Resource::Token {
            return self.token(g, &req, now, &label);
        }
        let client = match g.tokens.validate(req.bearer(), now) {
            Ok(c) => c.to_string(),
            Err(why) => {
                let msg = match why {
                    TokenError::Missing => "The server has rejected the client credentials: no bearer token was sent.",
                    TokenError::Unknown => "The server has rejected the client credentials.",
                    TokenError::Expired => "The server has rejected the client credentials: the token is expired.",
                };
                return self.error(
                    g,
                    &label,
                    ODataError::new("Authentication_InvalidCredentials", msg),
                    Duration::ZERO,
                );
            }
        };
        if let Err(refusal) = g.limiter.check(now, &method, &req.path, &req.peer.to_string(), &client) {
            return self.throttled(g, &label, refusal, now);
        }
        let opts = match QueryOptions::parse(req.query.as_deref()) {
            Ok(o) => o,
            Err(e) => return self.error(g, &label, e, Duration::ZERO),
        };
        if resource == Resource::Batch {
            self.batch(g, &req, &label, now)
        } else if method == "GET" {
            self.get(g, &req, &resource, &opts, &label, now)
        } else {
            self.post(g, &req, &resource, &opts, &label, now)
        }
    }

    fn max_body_bytes(&self) -> usize {
        self.profile.api.max_body_bytes
    }

    fn body_too_large(&self, req: &TwinRequest, limit: usize) -> TwinResponse {
        let mut g = self.lock();
        let label = match routes::classify(&req.path, &self.company_id) {
            Ok(r) => format!("{} {}", req.method.as_str(), r.pattern()),
            Err(_) => format!("{} (unrouted)", req.method.as_str()),
        };
        let e = ODataError::new(
            "BadRequest_RequestEntityTooLarge",
            format!("The request body is larger than the limit of {limit} bytes."),
        );
        self.error(&mut g, &label, e, Duration::ZERO)
    }
}
