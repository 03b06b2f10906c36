//! Reading JSON request bodies field by field, with BC's errors.
//!
//! Bodies are parsed into a `serde_json` object and read one field at a time,
//! so every error can name the field and the entity type: malformed JSON and
//! unknown or mistyped properties are `BadRequest` (400), over-long text is
//! `Application_StringExceededLength`. Nothing here panics on client input.

use serde_json::{Map, Value};

use super::errors::ODataError;

/// A JSON object body of one entity type.
#[derive(Debug)]
pub struct Body<'a> {
    pub obj: &'a Map<String, Value>,
    pub type_name: &'static str,
}

/// Parses bytes into a JSON value; malformed JSON is a `BadRequest`.
pub fn parse_json(bytes: &[u8]) -> Result<Value, ODataError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ODataError::bad_request(format!("Invalid Request Body: the body is not valid JSON ({e}).")))
}

impl<'a> Body<'a> {
    /// Wraps a value that must be an object.
    pub fn new(v: &'a Value, type_name: &'static str) -> Result<Self, ODataError> {
        let obj = v.as_object().ok_or_else(|| {
            ODataError::bad_request(format!(
                "Invalid Request Body: a JSON object of type '{type_name}' is expected."
            ))
        })?;
        Ok(Body { obj, type_name })
    }

    /// Refuses properties not in `known` (BC: "The property 'x' does not exist on type …").
    pub fn only(&self, known: &[&str]) -> Result<(), ODataError> {
        for k in self.obj.keys() {
            if !known.contains(&k.as_str()) && !k.starts_with('@') {
                return Err(ODataError::bad_request(format!(
                    "The property '{k}' does not exist on type '{}'. Make sure to only use property names that are defined by the type.",
                    self.type_name
                )));
            }
        }
        Ok(())
    }

    fn wrong_type(&self, key: &str, edm: &str) -> ODataError {
        ODataError::bad_request(format!(
            "Cannot convert the value of property '{key}' on type '{}' to the expected type '{edm}'.",
            self.type_name
        ))
    }

    /// An optional string; `null` counts as absent. Longer than `max` → `Application_StringExceededLength`.
    pub fn text(&self, key: &str, max: usize, bc_field: &str) -> Result<Option<String>, ODataError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                if s.chars().count() > max {
                    Err(ODataError::string_too_long(bc_field, s, max))
                } else {
                    Ok(Some(s.clone()))
                }
            }
            Some(_) => Err(self.wrong_type(key, "Edm.String")),
        }
    }

    pub fn boolean(&self, key: &str) -> Result<Option<bool>, ODataError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.wrong_type(key, "Edm.Boolean")),
        }
    }

    /// A decimal as `f64` (BC also accepts numbers sent as strings? No: a string is a type error).
    pub fn number(&self, key: &str) -> Result<Option<f64>, ODataError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_f64()
                .filter(|f| f.is_finite() && f.abs() < 1e12)
                .map(Some)
                .ok_or_else(|| self.wrong_type(key, "Edm.Decimal")),
            Some(_) => Err(self.wrong_type(key, "Edm.Decimal")),
        }
    }

    /// A money amount in cents (rounded half away from zero to two decimals).
    pub fn cents(&self, key: &str) -> Result<Option<i64>, ODataError> {
        Ok(self.number(key)?.map(|f| (f * 100.0).round() as i64))
    }

    /// A unit price in 1/100,000 (five decimals, BC's unit-amount precision).
    pub fn price_e5(&self, key: &str) -> Result<Option<i64>, ODataError> {
        Ok(self.number(key)?.map(|f| (f * 100_000.0).round() as i64))
    }

    /// An array of objects (deep insert).
    pub fn array(&self, key: &str) -> Result<Option<&'a Vec<Value>>, ODataError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(_) => Err(self.wrong_type(key, "Collection")),
        }
    }
}

/// Decodes an `application/x-www-form-urlencoded` body into pairs.
pub fn form_pairs(body: &str) -> Result<Vec<(String, String)>, ODataError> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Ok((super::odata::percent_decode(k)?, super::odata::percent_decode(v)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_read_with_named_errors() {
        let v = json!({"a": "hello", "n": 1.005, "b": true, "x": [1]});
        let b = Body::new(&v, "Microsoft.NAV.test").unwrap();
        assert_eq!(b.text("a", 5, "A").unwrap().as_deref(), Some("hello"));
        assert_eq!(
            b.text("a", 4, "A").unwrap_err().code,
            "Application_StringExceededLength"
        );
        assert!(b.text("n", 4, "N").unwrap_err().message.contains("'n'"));
        assert_eq!(b.cents("n").unwrap(), Some(100));
        assert_eq!(b.price_e5("n").unwrap(), Some(100_500));
        assert!(b.number("a").is_err());
        assert!(b.only(&["a", "n", "b"]).unwrap_err().message.contains("'x'"));
        assert!(Body::new(&json!([1]), "T").is_err());
        assert_eq!(parse_json(b"{oops").unwrap_err().code, "BadRequest");
    }

    #[test]
    fn form_bodies_decode() {
        let p = form_pairs("grant_type=client_credentials&client_secret=a%2Bb%3D").unwrap();
        assert_eq!(p[1], ("client_secret".into(), "a+b=".into()));
    }
}
