//! The wiremock transport: mounts any [`Twin`] as a responder on a `MockServer`.
//!
//! For tests only: wiremock keeps a copy of every matched request and serves one
//! request at a time (WIREMOCK.md), which is fine for short tests and gives them
//! wiremock's expectations and request inspection. A dropped connection, which
//! wiremock cannot produce, is answered 504 instead.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bytes::Bytes;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::{Delivery, Twin, TwinRequest};

/// A wiremock responder backed by a twin.
#[derive(Clone)]
pub struct TwinResponder {
    twin: Arc<dyn Twin>,
}

impl TwinResponder {
    pub fn new(twin: Arc<dyn Twin>) -> Self {
        TwinResponder { twin }
    }
}

impl Respond for TwinResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let headers = {
            let mut h = hyper::HeaderMap::new();
            for (k, v) in request.headers.iter() {
                if let (Ok(name), Ok(value)) = (
                    hyper::header::HeaderName::from_bytes(k.as_str().as_bytes()),
                    hyper::header::HeaderValue::from_bytes(v.as_bytes()),
                ) {
                    h.append(name, value);
                }
            }
            h
        };
        let method = hyper::Method::from_bytes(request.method.as_str().as_bytes()).unwrap_or(hyper::Method::GET);
        let req = TwinRequest {
            method,
            path: request.url.path().to_string(),
            query: request.url.query().map(str::to_string),
            headers,
            body: Bytes::copy_from_slice(&request.body),
            peer: IpAddr::V4(Ipv4Addr::LOCALHOST),
        };
        let limit = self.twin.max_body_bytes();
        let resp = if req.body.len() > limit {
            self.twin.body_too_large(&req, limit)
        } else {
            self.twin.handle(req)
        };
        let status = if resp.delivery == Delivery::Drop {
            504
        } else {
            resp.status
        };
        let mut template = ResponseTemplate::new(status);
        let mut content_type = None;
        for (k, v) in &resp.headers {
            if k.eq_ignore_ascii_case("content-type") {
                content_type = Some(v.clone());
            } else {
                template = template.insert_header(k.as_str(), v.as_str());
            }
        }
        template = match content_type {
            Some(ct) => template.set_body_raw(resp.body.to_vec(), &ct),
            None => template.set_body_bytes(resp.body.to_vec()),
        };
        if !resp.delay.is_zero() {
            template = template.set_delay(resp.delay);
        }
        template
    }
}

/// Mounts `twin` on `server` as a catch-all mock (lowest priority, so tests can
/// mount specific stubs in front of it).
pub async fn mount(twin: Arc<dyn Twin>, server: &MockServer) {
    let name = twin.name();
    Mock::given(any())
        .respond_with(TwinResponder::new(twin))
        .with_priority(u8::MAX)
        .named(format!("synctwin {name} twin"))
        .mount(server)
        .await;
}
