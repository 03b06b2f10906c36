//! The ERP profile: every behaviour of the twin that is data, not code.
//!
//! Parsed from `mocks/erp/*.toml` (serde with `deny_unknown_fields`) and then
//! validated into a profile that cannot be inconsistent; errors name the file,
//! line and key ([`crate::twin::profile`]). The built-in default is
//! `mocks/erp/business-central.toml`, compiled in.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::totals::{Rounding, RoundingMode};
use crate::clock::serde_duration;
use crate::twin::capacity::PoolConfig;
use crate::twin::faults::FaultConfig;
use crate::twin::profile::ProfileError;
use crate::twin::ratelimit::RuleConfig;

/// The shipped default (Business Central).
pub const BUSINESS_CENTRAL: &str = include_str!("../../../mocks/erp/business-central.toml");
/// A NetSuite-like ERP: small concurrency limit, upsert by external id.
pub const NETSUITE_LIKE: &str = include_str!("../../../mocks/erp/netsuite-like.toml");
/// Unique references, per-document rounding.
pub const STRICT: &str = include_str!("../../../mocks/erp/strict.toml");

/// A whole ERP profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErpProfile {
    pub name: String,
    pub auth: AuthConfig,
    pub api: ApiConfig,
    pub service_time: ServiceTimes,
    pub pool: PoolConfig,
    pub overload: OverloadConfig,
    #[serde(default)]
    pub rate_limits: Vec<RuleConfig>,
    pub orders: OrderRules,
    pub text_limits: TextLimits,
    pub fulfilment: FulfilmentConfig,
    #[serde(default)]
    pub faults: FaultConfig,
    pub tax_codes: Vec<TaxCode>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Lifetime of an access token (scenario time).
    #[serde(with = "serde_duration")]
    pub token_ttl: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Most entities in one page; more come with `@odata.nextLink`.
    pub max_page_size: usize,
    /// Larger bodies are answered 413.
    pub max_body_bytes: usize,
    /// Calls whose queueing plus service exceed this get 408 (nothing written).
    #[serde(with = "serde_duration")]
    pub operation_timeout: Duration,
    /// Calls over this get 504 from the gateway.
    #[serde(with = "serde_duration")]
    pub gateway_timeout: Duration,
    pub company_name: String,
    pub currency_code: String,
}

/// Service time per request kind, in scenario time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceTimes {
    #[serde(with = "serde_duration")]
    pub base: Duration,
    /// Added per order line written.
    #[serde(with = "serde_duration")]
    pub per_line: Duration,
    /// Added per entity returned by a read.
    #[serde(with = "serde_duration")]
    pub per_entity_read: Duration,
    /// The token endpoint (served by the identity provider, outside the pool).
    #[serde(with = "serde_duration")]
    pub token: Duration,
}

/// How a request beyond the worker pool's queue is refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverloadConfig {
    pub status: u16,
    pub code: String,
    #[serde(default)]
    pub retry_after: bool,
}

/// What a second order with the same `externalDocumentNumber` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExternalRefMode {
    /// Creates a second order (Business Central's default).
    Duplicate,
    /// 409 `Internal_EntityWithSameKeyExists`.
    Unique,
    /// Replaces the existing order (if nothing has shipped) and answers 200.
    Upsert,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRules {
    pub external_document_number: ExternalRefMode,
    pub rounding: Rounding,
    pub rounding_mode: RoundingMode,
    /// `pricesIncludeTax` of customers created without saying otherwise.
    pub prices_include_tax: bool,
    /// Post shipments even when on hand goes below zero.
    pub allow_negative_inventory: bool,
}

/// Maximum lengths of text fields (characters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextLimits {
    pub external_document_number: usize,
    pub line_description: usize,
    pub line_description2: usize,
    pub customer_name: usize,
    pub email: usize,
    pub address: usize,
    pub city: usize,
    pub postal_code: usize,
    pub phone: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FulfilmentConfig {
    /// First shipment: delay after the order, uniform in [min, max].
    #[serde(with = "serde_duration")]
    pub delay_min: Duration,
    #[serde(with = "serde_duration")]
    pub delay_max: Duration,
    /// Share of orders shipped in two parts.
    pub partial_share: f64,
    /// Second part: delay after the first, uniform in [min, max].
    #[serde(with = "serde_duration")]
    pub second_delay_min: Duration,
    #[serde(with = "serde_duration")]
    pub second_delay_max: Duration,
    pub shipping_agent: String,
}

/// A tax code and its rate in percent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxCode {
    pub code: String,
    pub rate: f64,
}

impl ErpProfile {
    /// The built-in default profile (Business Central).
    pub fn business_central() -> Self {
        Self::parse("built-in business-central.toml", BUSINESS_CENTRAL).expect("the shipped default profile is valid")
    }

    /// Parses and validates TOML text; `origin` names it in errors.
    pub fn parse(origin: &str, text: &str) -> Result<Self, ProfileError> {
        crate::twin::profile::parse_validated(origin, text)
    }

    /// Reads, parses and validates a profile file.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        crate::twin::profile::load_validated(path)
    }
}

impl crate::twin::profile::Validate for ErpProfile {
    /// Checks what serde cannot; the message names the key.
    fn validate(&self) -> Result<(), String> {
        if self.api.max_page_size == 0 {
            return Err("api.max_page_size must be at least 1".into());
        }
        if self.api.max_body_bytes < 1024 {
            return Err("api.max_body_bytes must be at least 1024".into());
        }
        if self.api.gateway_timeout < self.api.operation_timeout {
            return Err("api.gateway_timeout must not be shorter than api.operation_timeout".into());
        }
        self.pool.validate().map_err(|e| format!("pool: {e}"))?;
        if !(400..=599).contains(&self.overload.status) {
            return Err("overload.status must be an HTTP error status (400-599)".into());
        }
        for r in &self.rate_limits {
            r.validate()?;
        }
        self.faults.validate()?;
        let f = &self.fulfilment;
        if !(0.0..=1.0).contains(&f.partial_share) {
            return Err(format!(
                "fulfilment.partial_share must be a share between 0 and 1, got {}",
                f.partial_share
            ));
        }
        if f.delay_min > f.delay_max {
            return Err("fulfilment.delay_min must not exceed fulfilment.delay_max".into());
        }
        if f.second_delay_min > f.second_delay_max {
            return Err("fulfilment.second_delay_min must not exceed fulfilment.second_delay_max".into());
        }
        let t = &self.text_limits;
        for (k, v) in [
            ("external_document_number", t.external_document_number),
            ("line_description", t.line_description),
            ("line_description2", t.line_description2),
            ("customer_name", t.customer_name),
            ("email", t.email),
            ("address", t.address),
            ("city", t.city),
            ("postal_code", t.postal_code),
            ("phone", t.phone),
        ] {
            if v == 0 {
                return Err(format!("text_limits.{k} must be at least 1"));
            }
        }
        if self.tax_codes.is_empty() {
            return Err("tax_codes must list at least one tax code".into());
        }
        let mut seen = BTreeMap::new();
        for tc in &self.tax_codes {
            if tc.code.is_empty() || tc.code.len() > 20 {
                return Err(format!("tax_codes: code '{}' must have 1 to 20 characters", tc.code));
            }
            if !(0.0..=100.0).contains(&tc.rate) || (tc.rate * 100.0 - (tc.rate * 100.0).round()).abs() > 1e-6 {
                return Err(format!(
                    "tax_codes: rate of '{}' must be a percentage between 0 and 100 with at most two decimals, got {}",
                    tc.code, tc.rate
                ));
            }
            if seen.insert(tc.code.clone(), ()).is_some() {
                return Err(format!("tax_codes: '{}' is listed twice", tc.code));
            }
        }
        Ok(())
    }
}

impl ErpProfile {
    /// Tax code → rate in basis points.
    pub fn tax_rates(&self) -> BTreeMap<String, i64> {
        self.tax_codes
            .iter()
            .map(|t| (t.code.clone(), (t.rate * 100.0).round() as i64))
            .collect()
    }
}

impl Default for ErpProfile {
    fn default() -> Self {
        Self::business_central()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_profile_parses_and_validates() {
        for (name, text) in [
            ("business-central.toml", BUSINESS_CENTRAL),
            ("netsuite-like.toml", NETSUITE_LIKE),
            ("strict.toml", STRICT),
        ] {
            let p = ErpProfile::parse(name, text).unwrap_or_else(|e| panic!("{e}"));
            assert!(!p.tax_codes.is_empty(), "{name}");
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("mocks/erp");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                ErpProfile::load(&path).unwrap_or_else(|e| panic!("{e}"));
                n += 1;
            }
        }
        assert!(n >= 3);
    }

    #[test]
    fn business_central_has_the_documented_limits() {
        let p = ErpProfile::business_central();
        assert_eq!(p.pool.workers, 5);
        assert_eq!(p.pool.queue, 95);
        assert_eq!(p.api.max_page_size, 20_000);
        assert_eq!(p.orders.external_document_number, ExternalRefMode::Duplicate);
        assert_eq!(p.tax_rates()["VAT19"], 1900);
    }

    #[test]
    fn the_other_profiles_differ_where_they_should() {
        let ns = ErpProfile::parse("ns", NETSUITE_LIKE).unwrap();
        assert_eq!(ns.orders.external_document_number, ExternalRefMode::Upsert);
        assert!(ns.pool.workers < 5 || ns.pool.queue == 0);
        let strict = ErpProfile::parse("strict", STRICT).unwrap();
        assert_eq!(strict.orders.external_document_number, ExternalRefMode::Unique);
        assert_eq!(strict.orders.rounding, Rounding::PerDocument);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let bad = BUSINESS_CENTRAL.replace("max_page_size = 20000", "max_page_size = 20000\nmax_pagesize = 1");
        let err = ErpProfile::parse("x.toml", &bad).unwrap_err().to_string();
        assert!(err.contains("x.toml") && err.contains("max_pagesize"), "{err}");
        let bad = BUSINESS_CENTRAL.replace("partial_share = 0.08", "partial_share = 1.5");
        let err = ErpProfile::parse("x.toml", &bad).unwrap_err().to_string();
        assert!(err.contains("fulfilment.partial_share"), "{err}");
        let bad = BUSINESS_CENTRAL.replace("rounding = \"per_line\"", "rounding = \"per_invoice\"");
        let err = ErpProfile::parse("x.toml", &bad).unwrap_err().to_string();
        assert!(err.contains("per_line") && err.contains("per_document"), "{err}");
    }
}
