//! The twins: stateful fakes of Shopware's Admin API and of an ERP.
//!
//! A twin's logic knows nothing of its transport. It implements [`Twin`]: one
//! synchronous `handle` from a [`TwinRequest`] to a [`TwinResponse`] that also
//! says how long (wall time) the answer must be held back to honour the
//! profile's service times. Two transports serve any twin:
//!
//! - [`http::serve`]: a lean hyper server for `synctwin mock`, `synctwin run` and
//!   long replays (flat memory, both cores);
//! - [`mount::mount`]: a wiremock responder, so Rust tests can mount a twin on a
//!   `MockServer` and use wiremock's expectations (WIREMOCK.md says why both).
//!
//! Shared behaviour lives beside them: [`capacity`] (worker pool with a queue,
//! 503 beyond it), [`ratelimit`] (windows and policies per route), [`faults`]
//! (seeded fault injection), [`tokens`] (bearer tokens on the scenario clock) and
//! [`profile`] (loading profile files with errors that name the file and key).

pub mod at_rest;
pub mod capacity;
pub mod erp;
pub mod faults;
pub mod http;
pub mod mount;
pub mod profile;
pub mod ratelimit;
pub mod shopware;
pub mod tokens;

use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;

pub use hyper::header::HeaderMap;
pub use hyper::Method;

/// A request as a twin sees it, independent of the transport that carried it.
#[derive(Debug, Clone)]
pub struct TwinRequest {
    pub method: Method,
    /// The path without query string, percent-decoding left to the twin.
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The client's address (rate limits and auth throttling are per IP).
    pub peer: IpAddr,
}

impl TwinRequest {
    /// A request handed to a twin in-process (benches, tests), from loopback:
    /// `target` is the path with its query string, headers start empty.
    pub fn local(method: Method, target: &str, body: impl Into<Bytes>) -> TwinRequest {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (target.to_string(), None),
        };
        TwinRequest {
            method,
            path,
            query,
            headers: HeaderMap::new(),
            body: body.into(),
            peer: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        }
    }

    /// Adds a header (a value that is not a valid header value is a caller bug).
    pub fn with_header(mut self, name: &'static str, value: &str) -> TwinRequest {
        let value = value
            .parse()
            .unwrap_or_else(|_| panic!("'{value}' is not a valid {name} header value"));
        self.headers.insert(name, value);
        self
    }

    /// Adds `Authorization: Bearer <token>` when there is a token.
    pub fn with_bearer(self, token: Option<&str>) -> TwinRequest {
        match token {
            Some(t) => self.with_header("authorization", &format!("Bearer {t}")),
            None => self,
        }
    }

    /// A header's value as text, if present and valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Authorization: Bearer …` token, if any.
    pub fn bearer(&self) -> Option<&str> {
        let v = self.header("authorization")?;
        let (scheme, token) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
    }

    /// One query parameter's raw value (`?_response=1`).
    pub fn query_param(&self, key: &str) -> Option<&str> {
        self.query
            .as_deref()?
            .split('&')
            .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }
}

#[cfg(test)]
mod request_tests {
    use super::*;

    #[test]
    fn local_requests_split_the_query_and_carry_their_headers() {
        let r = TwinRequest::local(Method::GET, "/api/v2.0/items?$top=5&$skip=10", Bytes::new())
            .with_bearer(Some("t1"))
            .with_header("accept", "application/json");
        assert_eq!(
            (r.path.as_str(), r.query_param("$skip")),
            ("/api/v2.0/items", Some("10"))
        );
        assert_eq!((r.bearer(), r.header("accept")), (Some("t1"), Some("application/json")));
        assert!(r.peer.is_loopback());
        let anonymous = TwinRequest::local(Method::POST, "/api/oauth/token", b"{}".to_vec()).with_bearer(None);
        assert_eq!((anonymous.query.as_deref(), anonymous.bearer()), (None, None));
    }
}

/// What happens to the connection after the twin has decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delivery {
    /// Send the response (after `delay`).
    #[default]
    Respond,
    /// Close the connection without answering (after `delay`): an ambiguous
    /// failure. Transports that cannot drop a connection (wiremock) answer 504.
    Drop,
}

/// A twin's answer.
#[derive(Debug, Clone)]
pub struct TwinResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// Wall time to hold the answer back: the request's queueing plus service
    /// time on the scenario clock, divided by the speed.
    pub delay: Duration,
    pub delivery: Delivery,
}

impl TwinResponse {
    pub fn new(status: u16) -> Self {
        TwinResponse {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
            delay: Duration::ZERO,
            delivery: Delivery::Respond,
        }
    }

    /// A JSON body with its content type.
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::json_typed(status, value, "application/json")
    }

    pub fn json_typed(status: u16, value: &serde_json::Value, content_type: &str) -> Self {
        let body = serde_json::to_vec(value).expect("serde_json::Value always serialises");
        TwinResponse::new(status)
            .with_header("content-type", content_type)
            .with_body(body)
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A twin: state plus route handlers, behind one synchronous entry point.
///
/// `handle` must never panic on client input and must answer every request:
/// malformed bodies, unknown routes and oversized payloads get the real
/// system's error format.
pub trait Twin: Send + Sync + 'static {
    /// Short name for logs (`shopware`, `erp`).
    fn name(&self) -> &'static str;
    /// Handles one request.
    fn handle(&self, req: TwinRequest) -> TwinResponse;
    /// The largest body the transport should read; larger ones get
    /// [`Twin::body_too_large`] without being buffered.
    fn max_body_bytes(&self) -> usize;
    /// The answer to a body over [`Twin::max_body_bytes`] (413 in the system's
    /// error format).
    fn body_too_large(&self, req: &TwinRequest, limit: usize) -> TwinResponse;
}

/// Hex id in Shopware's format: 32 lowercase hex digits, no dashes.
pub fn hex_id(rng: &mut impl rand::RngCore) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    // Set the version nibble to 4 like Uuid::randomHex().
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    hex::encode(b)
}
