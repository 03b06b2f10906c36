//! Thin HTTP adapters of the engine: they speak the systems' wire formats and
//! classify answers for [`super::backoff`]; they decide nothing else.
//! [`shopware`] speaks the Admin API, [`erp`] the Business Central API v2.0.

pub mod erp;
pub mod shopware;

use std::time::Duration;

use serde_json::Value;

use super::backoff::Outcome;

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
