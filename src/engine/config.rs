//! The engine's configuration file (TOML): strategies, batch sizes, intervals,
//! mapping rules and retry settings. Credentials are never in it: the command
//! line takes them from the environment or from files.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::backoff::RetryPolicy;
use super::export::ExportConfig;
use super::fulfilment::FulfilmentConfig;
use super::http::TokenStrategy;
use super::inventory::InventoryConfig;
use super::mapping::MappingConfig;
use crate::clock::serde_duration;

/// The serde default of the flows' `concurrency` and `pages_per_pass`: one.
pub(crate) fn one() -> usize {
    1
}
use crate::twin::profile::{load_validated, parse_validated, ProfileError, Validate};

/// How often each flow runs (scenario time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intervals {
    #[serde(with = "serde_duration")]
    pub orders: Duration,
    #[serde(with = "serde_duration")]
    pub inventory: Duration,
    /// A full inventory pull repairs drift the deltas miss.
    #[serde(with = "serde_duration")]
    pub full_inventory: Duration,
    #[serde(with = "serde_duration")]
    pub shipments: Duration,
}

impl Default for Intervals {
    fn default() -> Self {
        Intervals {
            orders: Duration::from_secs(60),
            inventory: Duration::from_secs(300),
            full_inventory: Duration::from_secs(6 * 3600),
            shipments: Duration::from_secs(300),
        }
    }
}

/// Client-side request rates (requests per scenario second); none = unpaced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    pub shopware_per_second: Option<f64>,
    /// Business Central allows 6,000 per 5 minutes = 20/s per client.
    pub erp_per_second: Option<f64>,
}

/// How the engine authenticates (F10).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// `cached` (one token until shortly before it expires) or `per_request`.
    #[serde(default)]
    pub token: TokenStrategy,
}

/// The whole engine configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    #[serde(default)]
    pub export: ExportConfig,
    #[serde(default)]
    pub inventory: InventoryConfig,
    #[serde(default)]
    pub fulfilment: FulfilmentConfig,
    #[serde(default)]
    pub mapping: MappingConfig,
    #[serde(default)]
    pub retry: RetryPolicy,
    #[serde(default)]
    pub intervals: Intervals,
    #[serde(default)]
    pub rate_limits: RateLimits,
    #[serde(default)]
    pub auth: AuthConfig,
    /// Request timeout (wall time).
    #[serde(default = "default_timeout", with = "serde_duration")]
    pub request_timeout: Duration,
}

fn default_timeout() -> Duration {
    Duration::from_secs(60)
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            export: ExportConfig::default(),
            inventory: InventoryConfig::default(),
            fulfilment: FulfilmentConfig::default(),
            mapping: MappingConfig::default(),
            retry: RetryPolicy::default(),
            intervals: Intervals::default(),
            rate_limits: RateLimits::default(),
            auth: AuthConfig::default(),
            request_timeout: default_timeout(),
        }
    }
}

impl EngineConfig {
    /// Loads a config file; a `mapping.product_map_csv` is read relative to it.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let mut c: EngineConfig = load_validated(path)?;
        if let Some(csv) = c.mapping.product_map_csv.clone() {
            let full = path.parent().map(|d| d.join(&csv)).unwrap_or(csv);
            let map = super::mapping::load_product_map(&full).map_err(|message| ProfileError::Invalid {
                path: path.display().to_string(),
                message,
            })?;
            c.mapping.products.extend(map);
        }
        Ok(c)
    }

    pub fn parse(origin: &str, text: &str) -> Result<Self, ProfileError> {
        parse_validated(origin, text)
    }
}

impl Validate for EngineConfig {
    fn validate(&self) -> Result<(), String> {
        if self.inventory.batch_size == 0 || self.inventory.batch_size > 10_000 {
            return Err(format!(
                "inventory.batch_size must be between 1 and 10000, got {}",
                self.inventory.batch_size
            ));
        }
        if self.inventory.concurrency == 0 || self.inventory.concurrency > 64 {
            return Err(format!(
                "inventory.concurrency must be between 1 and 64, got {}",
                self.inventory.concurrency
            ));
        }
        if self.export.page_size == 0 || self.export.page_size > 500 {
            return Err(format!(
                "export.page_size must be between 1 and 500 (Shopware's max limit), got {}",
                self.export.page_size
            ));
        }
        for (key, rate) in [
            ("rate_limits.shopware_per_second", self.rate_limits.shopware_per_second),
            ("rate_limits.erp_per_second", self.rate_limits.erp_per_second),
        ] {
            if rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
                return Err(format!("{key} must be a positive number of requests per second"));
            }
        }
        if self.retry.max_attempts == 0 {
            return Err("retry.max_attempts must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_product_map_csv_is_read_relative_to_the_config() {
        let dir = std::env::temp_dir().join(format!("synctwin-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("map.csv"), "shopware_number,erp_number\nSW10000,ITEM-1\n").unwrap();
        std::fs::write(dir.join("engine.toml"), "[mapping]\nproduct_map_csv = \"map.csv\"\ntax_codes = { \"19\" = \"VAT19\" }\ndescription_max = 100\nguests = { strategy = \"find_or_create\" }\n").unwrap();
        let c = EngineConfig::load(&dir.join("engine.toml")).unwrap();
        assert_eq!(c.mapping.products.get("SW10000").map(String::as_str), Some("ITEM-1"));
        std::fs::write(dir.join("map.csv"), "SW10000\n").unwrap();
        let e = EngineConfig::load(&dir.join("engine.toml")).unwrap_err().to_string();
        assert!(e.contains("map.csv, line 1"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_shipped_engine_configs_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/engine");
        let careful = EngineConfig::load(&dir.join("careful.toml")).unwrap();
        assert!(careful.export.lookup_before_create);
        let naive = EngineConfig::load(&dir.join("naive.toml")).unwrap();
        assert!(!naive.export.lookup_before_create);
        assert_eq!(naive.inventory.policy, crate::engine::stock_policy::StockPolicy::OnHand);
    }

    #[test]
    fn an_empty_file_gives_the_careful_defaults() {
        let c = EngineConfig::parse("e.toml", "").unwrap();
        assert!(c.export.lookup_before_create);
        assert_eq!(c.intervals.orders, Duration::from_secs(60));
    }

    #[test]
    fn settings_parse_and_bad_values_name_the_key() {
        let text = r#"
            [inventory]
            batch_size = 250
            concurrency = 4
            policy = { policy = "on_hand" }
            strategy = "per_sku_patch"
            [export]
            page_size = 100
            overlap = "2m"
            lookup_before_create = false
            [mapping]
            discount_item = "RABATT"
            shipping_item = "VERSAND"
            tax_codes = { "19" = "MWST19", "7" = "MWST7" }
            description_max = 100
            guests = { strategy = "single_customer", number = "GAST" }
        "#;
        let c = EngineConfig::parse("e.toml", text).unwrap();
        assert_eq!(c.inventory.batch_size, 250);
        assert!(!c.export.lookup_before_create);
        let e = EngineConfig::parse("e.toml", "[inventory]\nbatch_size = 0\nconcurrency = 1\npolicy = { policy = \"on_hand\" }\nstrategy = \"sync_batches\"\n").unwrap_err();
        assert!(e.to_string().contains("inventory.batch_size"), "{e}");
        let e = EngineConfig::parse("e.toml", "[export]\npagesize = 5\n").unwrap_err();
        assert!(e.to_string().contains("pagesize"), "{e}");
    }
}
