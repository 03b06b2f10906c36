//! The OData error envelope and the HTTP status of each error family.
//!
//! Business Central answers every failure as
//! `{"error":{"code":"Internal_InvalidTableRelation","message":"…  CorrelationId:  <guid>."}}`
//! (ERP.md §1, "Error format"). The status follows the code's family:
//!
//! | code | status |
//! |---|---|
//! | `Authentication_*` | 401 |
//! | `Authorization_*` | 403 |
//! | `BadRequest_NotFound`, `BadRequest_ResourceNotFound`, `Internal_RecordNotFound` | 404 |
//! | `BadRequest_MethodNotAllowed` | 405 |
//! | `Internal_EntityWithSameKeyExists` | 409 |
//! | `Request_EntityChanged` | 412 |
//! | `BadRequest_RequestEntityTooLarge` | 413 |
//! | `Internal_ServerError` | 500 |
//! | any other `BadRequest*`, `Internal_*`, `Application_*` | 400 |
//!
//! Throttling, overload and timeouts carry their status explicitly. The
//! correlation id is also sent as the `request-id` header (assumption: BC sends a
//! `request-id` header; the docs only show the id inside the message).

use crate::twin::TwinResponse;

/// The response header carrying the correlation id.
pub const CORRELATION_HEADER: &str = "request-id";

/// An error as the ERP reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ODataError {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// `Retry-After` in (scenario) seconds, for throttling answers.
    pub retry_after: Option<u64>,
}

impl ODataError {
    /// An error whose status follows its code's family.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ODataError {
            status: status_for(code),
            code: code.to_string(),
            message: message.into(),
            retry_after: None,
        }
    }

    /// An error with an explicit status (throttling, timeouts).
    pub fn with_status(status: u16, code: &str, message: impl Into<String>) -> Self {
        ODataError {
            status,
            code: code.to_string(),
            message: message.into(),
            retry_after: None,
        }
    }

    /// Malformed query or body.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new("BadRequest", message)
    }

    pub fn not_found_route(path: &str) -> Self {
        Self::new(
            "BadRequest_NotFound",
            format!("No HTTP resource was found that matches the request URI '{path}'."),
        )
    }

    pub fn record_not_found(table: &str, id: &str) -> Self {
        Self::new(
            "Internal_RecordNotFound",
            format!("The {table} does not exist. Identification fields and values: Id='{id}'"),
        )
    }

    /// A value that must exist in a related table does not (unknown item, tax code, customer).
    pub fn table_relation(field: &str, table: &str, value: &str, related: &str) -> Self {
        Self::new(
            "Internal_InvalidTableRelation",
            format!(
                "The field {field} of table {table} contains a value ({value}) that cannot be found in the related table ({related})."
            ),
        )
    }

    pub fn string_too_long(field: &str, value: &str, max: usize) -> Self {
        Self::new(
            "Application_StringExceededLength",
            format!(
                "The length of the string for {field} is {}, but it must be less than or equal to {max} characters. Value: {value}",
                value.chars().count()
            ),
        )
    }

    pub fn with_retry_after(mut self, secs: Option<u64>) -> Self {
        self.retry_after = secs;
        self
    }

    /// The envelope as JSON: `{"error":{"code","message"}}` with the correlation id in the message.
    pub fn to_json(&self, correlation_id: &str) -> serde_json::Value {
        serde_json::json!({
            "error": {
                "code": self.code,
                "message": format!("{}  CorrelationId:  {correlation_id}.", self.message),
            }
        })
    }

    /// The OData envelope, with the correlation id in the message and a header.
    pub fn into_response(self, correlation_id: &str) -> TwinResponse {
        let body = self.to_json(correlation_id);
        let mut r = TwinResponse::json_typed(
            self.status,
            &body,
            "application/json; odata.metadata=minimal; odata.streaming=true",
        )
        .with_header(CORRELATION_HEADER, correlation_id);
        if let Some(s) = self.retry_after {
            r = r.with_header("retry-after", s.to_string());
        }
        if self.status == 401 {
            r = r.with_header(
                "www-authenticate",
                "Bearer authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", error=\"invalid_token\"",
            );
        }
        r
    }
}

/// HTTP status for an error code, by family.
pub fn status_for(code: &str) -> u16 {
    match code {
        "BadRequest_NotFound" | "BadRequest_ResourceNotFound" | "Internal_RecordNotFound" => 404,
        "BadRequest_MethodNotAllowed" => 405,
        "Internal_EntityWithSameKeyExists" => 409,
        "Request_EntityChanged" => 412,
        "BadRequest_RequestEntityTooLarge" => 413,
        "Internal_ServerError" => 500,
        c if c.starts_with("Authentication_") => 401,
        c if c.starts_with("Authorization_") => 403,
        _ => 400,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_family() {
        assert_eq!(status_for("Authentication_InvalidCredentials"), 401);
        assert_eq!(status_for("Internal_InvalidTableRelation"), 400);
        assert_eq!(status_for("Application_StringExceededLength"), 400);
        assert_eq!(status_for("Internal_EntityWithSameKeyExists"), 409);
        assert_eq!(status_for("Internal_RecordNotFound"), 404);
    }

    #[test]
    fn envelope_carries_code_message_and_correlation_id() {
        let r = ODataError::string_too_long("Description", "abcdef", 3).into_response("c-1");
        assert_eq!(r.status, 400);
        assert_eq!(r.header(CORRELATION_HEADER), Some("c-1"));
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["error"]["code"], "Application_StringExceededLength");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains("is 6") && msg.ends_with("CorrelationId:  c-1."), "{msg}");
    }
}
