//! `synctwin audit`: static data-integrity checks of a shop and an ERP item
//! master before go-live, reported with the same [`Finding`] model as a run's
//! diagnosis (count, examples, owner, fix, ranked by impact).
//!
//! - [`source`]: reading the shop through the Admin API (paged) and the ERP's
//!   item master through the Business Central API or a CSV;
//! - [`checks`]: the checks, pure over those snapshots and the engine's mapping;
//! - [`render`]: the audit report as a table, JSON or Markdown.
//!
//! [`audit`] reads and checks; the exit code ([`AuditReport::exit_code`]) is 0
//! when no finding reaches the chosen severity, 1 when one does. A source that
//! cannot be read is an error naming the endpoint or file (exit 2 at the CLI).

pub mod checks;
pub mod render;
pub mod source;

use std::path::PathBuf;

use serde::Serialize;
use time::OffsetDateTime;

use crate::diagnose::finding::{at_least, rank, Finding, Severity};
use crate::engine::http::erp::ErpClient;
use crate::engine::http::shopware::ShopwareClient;
use crate::engine::mapping::MappingConfig;
pub use source::SourceError;

/// Bumped on any incompatible change of [`AuditReport`]'s JSON.
pub const AUDIT_VERSION: u32 = 1;

/// Where the ERP's item master comes from.
pub enum ErpSource {
    /// The Business Central API (`url` for the report).
    Api { client: ErpClient, url: String },
    /// An item-master CSV.
    Csv(PathBuf),
}

/// Everything an audit needs.
pub struct AuditSetup {
    /// For the report (credentials are never part of it).
    pub shopware_url: String,
    pub shop: ShopwareClient,
    pub erp: ErpSource,
    pub mapping: MappingConfig,
    /// How the engine configuration is named in fix texts and the report.
    pub engine_name: String,
    /// The end of the order window.
    pub until: OffsetDateTime,
    /// The window's length in days.
    pub days: u64,
}

/// How much the audit read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Scanned {
    pub products: usize,
    pub variants: usize,
    pub taxes: usize,
    pub orders: usize,
    pub erp_items: usize,
}

/// The audit's result.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub version: u32,
    pub shopware_url: String,
    /// The ERP's URL or the item-master CSV.
    pub erp_source: String,
    pub engine_config: String,
    /// The order window (RFC 3339) and its length.
    pub since: String,
    pub until: String,
    pub days: u64,
    pub scanned: Scanned,
    /// Ranked, most impact first.
    pub findings: Vec<Finding>,
}

/// The exit code when no finding reaches the severity.
pub const EXIT_CLEAN: u8 = 0;
/// The exit code when one does.
pub const EXIT_FINDINGS: u8 = 1;

impl AuditReport {
    /// 0 when no finding is at or above `fail_on`, 1 otherwise.
    pub fn exit_code(&self, fail_on: Severity) -> u8 {
        if at_least(&self.findings, fail_on) > 0 {
            EXIT_FINDINGS
        } else {
            EXIT_CLEAN
        }
    }
}

/// A URL without user information (`https://user:pass@host` → `https://host`), for reports.
pub fn public_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme && !url[scheme + 3..at].contains('/') => {
            format!("{}{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// Reads the shop and the ERP and runs every check.
pub async fn audit(setup: AuditSetup) -> Result<AuditReport, SourceError> {
    let since = setup.until - time::Duration::days(setup.days as i64);
    let (since_s, until_s) = (crate::clock::rfc3339_ms(since), crate::clock::rfc3339_ms(setup.until));
    let shopware_url = public_url(&setup.shopware_url);
    // A local CSV first: a typo in its path should not wait for the shop.
    let csv = match &setup.erp {
        ErpSource::Csv(path) => Some((source::read_items_csv(path)?, path.display().to_string())),
        ErpSource::Api { .. } => None,
    };
    let shop = source::read_shop(&setup.shop, &shopware_url, &since_s, &until_s).await?;
    let (erp, erp_source) = match (&setup.erp, csv) {
        (_, Some(csv)) => csv,
        (ErpSource::Api { client, url }, None) => {
            let url = public_url(url);
            (source::read_erp(client, &url).await?, url)
        }
        (ErpSource::Csv(_), None) => unreachable!("a CSV source was read above"),
    };
    let mut findings = checks::check(
        &shop,
        &erp,
        &checks::CheckSettings {
            mapping: &setup.mapping,
            engine_name: &setup.engine_name,
            days: setup.days,
        },
    );
    rank(&mut findings);
    Ok(AuditReport {
        version: AUDIT_VERSION,
        shopware_url,
        erp_source,
        engine_config: setup.engine_name,
        since: since_s,
        until: until_s,
        days: setup.days,
        scanned: Scanned {
            products: shop.products.len(),
            variants: shop.products.iter().filter(|p| p.parent_id.is_some()).count(),
            taxes: shop.taxes.len(),
            orders: shop.orders.len(),
            erp_items: erp.items.len(),
        },
        findings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_user_information() {
        assert_eq!(public_url("https://u:p@shop.example/api"), "https://shop.example/api");
        assert_eq!(public_url("http://127.0.0.1:8000"), "http://127.0.0.1:8000");
        assert_eq!(public_url("http://host/a@b"), "http://host/a@b");
    }
}
