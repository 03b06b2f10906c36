//! Loading twin profiles (`mocks/<system>/*.toml`) with errors a person can act on.
//!
//! Profiles are data: capacity, rate limits, faults and version quirks, each
//! figure with its source in a comment. Unknown keys are errors; every error
//! names the file, the line and the key, and what would be valid.

use std::path::Path;

use serde::de::DeserializeOwned;

/// A profile that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read profile '{path}'")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("profile '{path}' is not valid: {message}")]
    Invalid { path: String, message: String },
}

/// Parses TOML text into `T`, naming `origin` (a path or `built-in`) in errors.
pub fn parse_toml<T: DeserializeOwned>(origin: &str, text: &str) -> Result<T, ProfileError> {
    toml::from_str(text).map_err(|e| ProfileError::Invalid {
        path: origin.to_string(),
        message: describe(&e, text),
    })
}

/// Reads and parses a profile file.
pub fn load_toml<T: DeserializeOwned>(path: &Path) -> Result<T, ProfileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse_toml(&path.display().to_string(), &text)
}

/// A file format with checks serde cannot express.
pub trait Validate: DeserializeOwned {
    /// Checks the values; the message names the key and what is allowed.
    fn validate(&self) -> Result<(), String>;
}

/// Parses TOML text and validates it; errors name `origin`.
pub fn parse_validated<T: Validate>(origin: &str, text: &str) -> Result<T, ProfileError> {
    let v: T = parse_toml(origin, text)?;
    v.validate().map_err(|message| ProfileError::Invalid {
        path: origin.to_string(),
        message,
    })?;
    Ok(v)
}

/// Reads a TOML file and validates it; errors name the path.
pub fn load_validated<T: Validate>(path: &Path) -> Result<T, ProfileError> {
    let v: T = load_toml(path)?;
    v.validate().map_err(|message| ProfileError::Invalid {
        path: path.display().to_string(),
        message,
    })?;
    Ok(v)
}

/// `line L, column C: message` from a toml error.
fn describe(e: &toml::de::Error, text: &str) -> String {
    let msg = plain_types(e.message().trim());
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {col}: {msg}")
        }
        None => msg,
    }
}

/// Rust type names mean nothing to a consultant: say what kind of value is wanted.
pub(crate) fn plain_types(msg: &str) -> String {
    let mut out = msg.to_string();
    for (rust, plain) in [
        ("expected u8", "expected a whole number"),
        ("expected u16", "expected a whole number"),
        ("expected u32", "expected a whole number (integer)"),
        ("expected u64", "expected a whole number (integer)"),
        ("expected usize", "expected a whole number (integer)"),
        ("expected i64", "expected a whole number (integer)"),
        ("expected f64", "expected a number"),
        ("expected a boolean", "expected true or false"),
    ] {
        out = out.replace(rust, plain);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct P {
        workers: u32,
    }

    #[test]
    fn unknown_keys_name_line_key_and_alternatives() {
        let err = parse_toml::<P>("mocks/x.toml", "workers = 1\nworkerz = 2\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("mocks/x.toml"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("workerz"), "{err}");
        assert!(err.contains("workers"), "{err}");
    }

    #[test]
    fn wrong_types_are_explained() {
        let err = parse_toml::<P>("p.toml", "workers = \"many\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1") && err.contains("integer"), "{err}");
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = load_toml::<P>(Path::new("/nonexistent/p.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/p.toml"), "{err}");
    }
}
