//! `synctwin audit`: the data-integrity checks of [`crate::audit`] against a
//! live (or twin) Shopware and an ERP item master (its API or a CSV).
//! Credentials come from the environment or files, as for `synctwin engine`.
//! Exit code: 0 no finding at or above `--fail-on`, 1 findings, 2 the audit
//! could not be done (the error names the endpoint or file).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::engine::secret;
use crate::audit::render::{render, AuditFormat};
use crate::audit::{audit, AuditSetup, ErpSource};
use crate::clock::{ScaledClock, SharedClock, Speed};
use crate::diagnose::Severity;
use crate::engine::config::EngineConfig;
use crate::engine::http::erp::ErpClient;
use crate::engine::http::shopware::ShopwareClient;

#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("erp").required(true).args(["erp_url", "erp_items"])))]
pub struct AuditArgs {
    /// Shopware base URL, e.g. https://shop.example.com (a trailing /api is fine).
    #[arg(long)]
    pub shopware_url: String,
    /// ERP base URL (Business Central API v2.0 shape), e.g. http://127.0.0.1:9000.
    #[arg(long)]
    pub erp_url: Option<String>,
    /// The ERP item master as CSV: number,type,description,unit price,tax code,on hand.
    #[arg(long)]
    pub erp_items: Option<PathBuf>,
    /// Orders of this many days before --until are checked.
    #[arg(long, default_value_t = 30)]
    pub days: u64,
    /// End of the order window, RFC 3339 (default: now).
    #[arg(long)]
    pub until: Option<String>,
    /// The engine configuration whose mapping rules are checked (default: the
    /// built-in careful settings, the same as scenarios/engine/careful.toml).
    #[arg(long)]
    pub engine_config: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
    pub format: AuditFormat,
    /// Write the report here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Exit 1 when a finding of this severity or above exists: info, warning, critical.
    #[arg(long, default_value = "warning")]
    pub fail_on: Severity,
    #[arg(long, env = "SYNCTWIN_SHOPWARE_CLIENT_ID")]
    pub shopware_client_id: String,
    /// Prefer the environment variable, or --shopware-secret-file.
    #[arg(long, env = "SYNCTWIN_SHOPWARE_CLIENT_SECRET", hide_env_values = true)]
    pub shopware_client_secret: Option<String>,
    #[arg(long)]
    pub shopware_secret_file: Option<PathBuf>,
    /// Needed with --erp-url.
    #[arg(long, env = "SYNCTWIN_ERP_CLIENT_ID")]
    pub erp_client_id: Option<String>,
    #[arg(long, env = "SYNCTWIN_ERP_CLIENT_SECRET", hide_env_values = true)]
    pub erp_client_secret: Option<String>,
    #[arg(long)]
    pub erp_secret_file: Option<PathBuf>,
    /// Request timeout in seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
}

pub fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let (mapping, engine_name) = match &args.engine_config {
        Some(p) => (EngineConfig::load(p)?.mapping, p.display().to_string()),
        None => (
            EngineConfig::default().mapping,
            "the engine config (built-in careful defaults; pass --engine-config)".to_string(),
        ),
    };
    let until = match &args.until {
        Some(t) => OffsetDateTime::parse(t, &Rfc3339)
            .with_context(|| format!("--until {t} is not an RFC 3339 time (e.g. 2026-11-27T00:00:00Z)"))?,
        None => OffsetDateTime::now_utc(),
    };
    if args.days == 0 || args.days > 3650 {
        anyhow::bail!("--days must be between 1 and 3650, got {}", args.days);
    }
    let clock: SharedClock = Arc::new(ScaledClock::start(Speed::new(1.0).expect("1 is a valid speed")));
    let timeout = Duration::from_secs(args.timeout.max(1));
    let shop_secret = secret("shopware", &args.shopware_client_secret, &args.shopware_secret_file)?;
    let shop = ShopwareClient::new(
        &args.shopware_url,
        &args.shopware_client_id,
        &shop_secret,
        clock.clone(),
        timeout,
    );
    let erp = match (&args.erp_url, &args.erp_items) {
        (Some(url), _) => {
            let id = args
                .erp_client_id
                .clone()
                .context("--erp-url needs --erp-client-id or SYNCTWIN_ERP_CLIENT_ID")?;
            let erp_secret = secret("erp", &args.erp_client_secret, &args.erp_secret_file)?;
            ErpSource::Api {
                client: ErpClient::new(url, &id, &erp_secret, clock.clone(), timeout),
                url: url.clone(),
            }
        }
        (None, Some(csv)) => ErpSource::Csv(csv.clone()),
        (None, None) => anyhow::bail!("name the ERP: --erp-url URL or --erp-items FILE.csv"),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("Failed to start the async runtime")?;
    let report = rt.block_on(audit(AuditSetup {
        shopware_url: args.shopware_url.clone(),
        shop,
        erp,
        mapping,
        engine_name,
        until,
        days: args.days,
    }))?;
    let text = render(&report, args.format)?;
    match &args.out {
        Some(p) => {
            std::fs::write(p, &text).with_context(|| format!("cannot write the audit report {}", p.display()))?;
            eprintln!(
                "audit report: {} ({})",
                p.display(),
                crate::diagnose::render::headline(&report.findings)
            );
        }
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(ExitCode::from(report.exit_code(args.fail_on)))
}
