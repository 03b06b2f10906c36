//! Thin HTTP adapters of the engine: they speak the systems' wire formats and
//! classify answers for [`super::backoff`]; they decide nothing else.
//! [`shopware`] speaks the Admin API, [`erp`] the Business Central API v2.0.

pub mod erp;
pub mod shopware;

use std::time::Duration;

use serde_json::Value;

use super::backoff::Outcome;

/// How a client gets its OAuth tokens (F10).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenStrategy {
    /// One token, reused until shortly before it expires (and renewed once on a 401).
    #[default]
    Cached,
    /// A new token for every request (naive: trips token-endpoint limits such
    /// as Shopware SaaS's 10 per minute).
    PerRequest,
}

/// A failed call, classified.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The system answered with an error status.
    #[error("{summary} ({status} from {endpoint})")]
    Status {
        endpoint: String,
        status: u16,
        /// The wait the system asked for (`Retry-After` or the body's seconds).
        retry_after: Option<Duration>,
        body: Value,
        summary: String,
    },
    /// No answer: timeout, reset, refused connection.
    #[error("no answer: {reason} ({endpoint})")]
    NoAnswer { endpoint: String, reason: String },
    /// The answer was not what the wire format promises.
    #[error("{endpoint} answered something unexpected: {reason}")]
    Protocol { endpoint: String, reason: String },
}

impl CallError {
    pub fn outcome(&self) -> Outcome {
        match self {
            CallError::Status { status, .. } => Outcome::Status(*status),
            CallError::NoAnswer { .. } => Outcome::NoAnswer,
            CallError::Protocol { .. } => Outcome::Status(502),
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CallError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            CallError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Whose error format an answer is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `{"errors":[{code, detail, meta.parameters.seconds}]}`
    Shopware,
    /// OData `{"error":{code, message}}`
    OData,
}

pub(crate) fn no_answer(endpoint: &str, e: &reqwest::Error) -> CallError {
    let reason = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        format!("cannot connect ({e})")
    } else {
        e.to_string()
    };
    CallError::NoAnswer {
        endpoint: endpoint.to_string(),
        reason,
    }
}

pub(crate) fn protocol(endpoint: &str, reason: &str) -> CallError {
    CallError::Protocol {
        endpoint: endpoint.to_string(),
        reason: reason.to_string(),
    }
}

/// Reads an answer: JSON on success (Null for an empty body), a classified
/// error otherwise, with the wait the system asked for (the `Retry-After`
/// header, or Shopware's `meta.parameters.seconds`).
pub(crate) async fn read(endpoint: &str, resp: reqwest::Response, dialect: Dialect) -> Result<Value, CallError> {
    read_raw(endpoint, resp, dialect).await.map(|bytes| json_of(&bytes))
}

/// A successful answer's body as JSON: Null when empty, the text itself
/// (its first 500 characters) when it is not JSON.
pub(crate) fn json_of(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).chars().take(500).collect()))
    }
}

/// As [`read`], with a successful answer's body as it came (a caller that
/// reads a large page row by row does not build it as JSON values whole).
pub(crate) async fn read_raw(
    endpoint: &str,
    resp: reqwest::Response,
    dialect: Dialect,
) -> Result<bytes::Bytes, CallError> {
    let status = resp.status().as_u16();
    let header_wait = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| super::backoff::parse_retry_after(v, time::OffsetDateTime::now_utc()));
    let bytes = resp.bytes().await.map_err(|e| CallError::NoAnswer {
        endpoint: endpoint.to_string(),
        reason: e.to_string(),
    })?;
    if (200..300).contains(&status) {
        return Ok(bytes);
    }
    let body = json_of(&bytes);
    let text = |p: &str| body.pointer(p).and_then(Value::as_str).unwrap_or("");
    let (summary, body_wait) = match dialect {
        Dialect::Shopware if body.pointer("/errors/0").is_some() => (
            format!("{} {}", text("/errors/0/code"), text("/errors/0/detail")),
            body.pointer("/errors/0/meta/parameters/seconds")
                .and_then(Value::as_u64)
                .map(Duration::from_secs),
        ),
        Dialect::OData if body.pointer("/error/code").is_some() => {
            (format!("{} {}", text("/error/code"), text("/error/message")), None)
        }
        _ => (
            body.as_str()
                .map_or_else(|| body.to_string(), str::to_string)
                .chars()
                .take(120)
                .collect(),
            None,
        ),
    };
    Err(CallError::Status {
        endpoint: endpoint.to_string(),
        status,
        retry_after: header_wait.or(body_wait),
        body,
        summary,
    })
}

/// Waits for the next paced slot, if the client is paced.
pub(crate) async fn pace(pacer: &Option<std::sync::Arc<super::pacing::Pacer>>, clock: &crate::clock::SharedClock) {
    if let Some(p) = pacer {
        let wait = p.reserve(clock.now());
        if !wait.is_zero() {
            crate::clock::sleep_wall(clock.speed().to_wall(wait)).await;
        }
    }
}
