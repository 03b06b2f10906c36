//! Shopware's error envelope (SHOPWARE.md §8): `{"errors":[{status, code, title,
//! detail, meta, source}]}`, `status` a string, JSON whatever the `Accept`.

use serde_json::{json, Map, Value};

use crate::twin::TwinResponse;

/// One entry of `errors[]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SwError {
    pub status: u16,
    pub code: String,
    pub title: String,
    pub detail: String,
    pub pointer: Option<String>,
    pub parameters: Map<String, Value>,
}

impl SwError {
    pub fn new(status: u16, code: &str, detail: impl Into<String>) -> Self {
        SwError {
            status,
            code: code.to_string(),
            title: title_for(status).to_string(),
            detail: detail.into(),
            pointer: None,
            parameters: Map::new(),
        }
    }

    pub fn title(mut self, title: &str) -> Self {
        self.title = title.to_string();
        self
    }

    pub fn pointer(mut self, p: impl Into<String>) -> Self {
        self.pointer = Some(p.into());
        self
    }

    pub fn param(mut self, k: &str, v: impl Into<Value>) -> Self {
        self.parameters.insert(k.to_string(), v.into());
        self
    }

    pub fn to_json(&self) -> Value {
        let mut e = json!({
            "status": self.status.to_string(),
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
            "meta": {"parameters": php_map(&self.parameters)},
        });
        if let Some(p) = &self.pointer {
            e["source"] = json!({"pointer": p});
        }
        e
    }

    pub fn response(self) -> TwinResponse {
        errors_response(self.status, &[self])
    }
}

/// PHP's json_encode writes an empty associative array as `[]`: Shopware's
/// bodies carry `[]` where a map is empty, and clients must cope.
pub fn php_map(m: &Map<String, Value>) -> Value {
    if m.is_empty() {
        Value::Array(Vec::new())
    } else {
        Value::Object(m.clone())
    }
}

/// A response carrying several errors (sync validation aggregates them).
pub fn errors_response(status: u16, errors: &[SwError]) -> TwinResponse {
    let body = json!({"errors": errors.iter().map(SwError::to_json).collect::<Vec<_>>()});
    TwinResponse::json(status, &body)
}

fn title_for(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

/// 401 for a missing, unknown or expired token (league/oauth2-server `accessDenied`).
pub fn access_denied(detail: &str) -> TwinResponse {
    SwError::new(401, "9", detail)
        .title("The resource owner or authorization server denied the request.")
        .response()
        .with_header("www-authenticate", "Bearer")
}

/// 401 for wrong client credentials (league `invalidClient`).
pub fn invalid_client() -> TwinResponse {
    SwError::new(401, "4", "Client authentication failed")
        .title("Client authentication failed")
        .response()
}

/// 404 for an unknown id.
pub fn not_found(entity: &str, id: &str) -> TwinResponse {
    SwError::new(
        404,
        "FRAMEWORK__RESOURCE_NOT_FOUND",
        format!("The {entity} resource with the following primary key was not found: id({id})"),
    )
    .param("type", entity)
    .param("primaryKey", format!("id({id})"))
    .response()
}

/// 404 for a route the twin does not serve (Symfony's NotFoundHttpException).
pub fn no_route(method: &str, path: &str) -> TwinResponse {
    SwError::new(
        404,
        "FRAMEWORK__ROUTE_NOT_FOUND",
        format!("No route found for \"{method} {path}\""),
    )
    .response()
}

/// 400 for a body that is not JSON.
pub fn malformed_json(err: &serde_json::Error) -> TwinResponse {
    SwError::new(
        400,
        "FRAMEWORK__INVALID_REQUEST_PARAMETER",
        format!("The JSON payload is malformed: {err}"),
    )
    .response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_has_string_status_and_pointer() {
        let r = SwError::new(400, "FRAMEWORK__QUERY_LIMIT_EXCEEDED", "x")
            .pointer("/limit")
            .response();
        assert_eq!(r.status, 400);
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["errors"][0]["status"], "400");
        assert_eq!(v["errors"][0]["source"]["pointer"], "/limit");
        assert_eq!(r.header("content-type"), Some("application/json"));
    }

    #[test]
    fn token_errors_use_league_codes() {
        let v: Value = serde_json::from_slice(&access_denied("Access token is expired").body).unwrap();
        assert_eq!(v["errors"][0]["code"], "9");
        let v: Value = serde_json::from_slice(&invalid_client().body).unwrap();
        assert_eq!(v["errors"][0]["code"], "4");
    }
}
