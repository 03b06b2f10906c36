//! `synctwin record --shopware-url U --from T --to T -o trace.jsonl`: a live
//! shop's orders in a window and its catalogue, as a trace `synctwin run`
//! replays, personal data pseudonymised (see [`crate::record`]). Optionally a
//! scenario that replays it (`--scenario`). Exit code: 0 recorded, 2 not.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::clock::Speed;
use crate::record::pseudonym::{Pseudonymiser, Salt};
use crate::record::{record, RecordOptions, RecordSummary};

#[derive(Debug, Clone, Args)]
pub struct RecordArgs {
    /// Shopware base URL, e.g. https://shop.example.com (a trailing /api is fine).
    #[arg(long)]
    pub shopware_url: String,
    /// Start of the window, inclusive: RFC 3339 (2026-11-27T08:00:00Z) or a date (midnight UTC).
    #[arg(long, value_parser = parse_instant)]
    pub from: OffsetDateTime,
    /// End of the window, exclusive.
    #[arg(long, value_parser = parse_instant)]
    pub to: OffsetDateTime,
    /// The trace to write (JSON Lines).
    #[arg(short = 'o', long)]
    pub output: PathBuf,
    /// Write names, e-mails, addresses and phone numbers as they are (only for data you may copy).
    #[arg(long)]
    pub no_anonymise: bool,
    /// Keep pseudonyms stable across recordings with this secret salt file (made,
    /// random, if absent; keep it private). Default: a new random salt, never stored.
    #[arg(long, conflicts_with = "no_anonymise")]
    pub salt_file: Option<PathBuf>,
    /// Rows per Admin API page (1 to 500).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=500))]
    pub page_size: u16,
    /// Also write a scenario that replays the trace (`synctwin run FILE`).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// The shop's clock speed: 1 for a real shop; a twin's --speed when recording a twin.
    #[arg(long, default_value = "1")]
    pub speed: Speed,
    #[arg(long, env = "SYNCTWIN_SHOPWARE_CLIENT_ID")]
    pub shopware_client_id: String,
    /// Prefer the environment variable, or --shopware-secret-file.
    #[arg(long, env = "SYNCTWIN_SHOPWARE_CLIENT_SECRET", hide_env_values = true)]
    pub shopware_client_secret: Option<String>,
    /// A file whose first line is the client secret.
    #[arg(long)]
    pub shopware_secret_file: Option<PathBuf>,
}

/// RFC 3339, or a calendar date meaning its midnight in UTC.
fn parse_instant(s: &str) -> Result<OffsetDateTime, String> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let date = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| format!("'{s}' is neither RFC 3339 (2026-11-27T08:00:00Z) nor a date (2026-11-27)"))?;
    Ok(date.midnight().assume_utc())
}

fn fmt_instant(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

pub fn run(args: RecordArgs) -> anyhow::Result<ExitCode> {
    if args.to <= args.from {
        anyhow::bail!(
            "--to ({}) must be after --from ({})",
            fmt_instant(args.to),
            fmt_instant(args.from)
        );
    }
    let secret = super::engine::secret("shopware", &args.shopware_client_secret, &args.shopware_secret_file)?;
    let (pseudonymiser, salt_note) = if args.no_anonymise {
        (None, "off (--no-anonymise)".to_string())
    } else if let Some(path) = &args.salt_file {
        let (salt, created) = Salt::load_or_create(path)?;
        let note = if created {
            format!(
                "on, new salt file {} (keep it to get the same pseudonyms next time)",
                path.display()
            )
        } else {
            format!("on, salt file {}", path.display())
        };
        (Some(Pseudonymiser::new(salt)), note)
    } else {
        (
            Some(Pseudonymiser::new(Salt::random())),
            "on, random salt (not stored: pass --salt-file for pseudonyms stable across recordings)".to_string(),
        )
    };
    let opts = RecordOptions {
        shopware_url: args.shopware_url.clone(),
        client_id: args.shopware_client_id.clone(),
        client_secret: secret,
        from: args.from,
        to: args.to,
        output: args.output.clone(),
        pseudonymiser,
        page_size: usize::from(args.page_size),
        timeout: Duration::from_secs(60),
        speed: args.speed,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("Failed to start the async runtime")?;
    let sum = rt.block_on(record(&opts))?;
    eprintln!("{}", describe(&sum, &args, &salt_note));
    if let Some(s) = &args.scenario {
        write_scenario(s, &args)?;
        eprintln!("scenario: {} (synctwin run {})", s.display(), s.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(s: &RecordSummary, args: &RecordArgs, salt_note: &str) -> String {
    let mut out = format!(
        "recorded {} orders ({} guest, {} with a promotion, {} with configurator options, {} cancelled in the window) by {} customers, {} products, {} currencies\n  from {} between {} and {} into {}\n  pseudonyms: {salt_note}\n  {} requests, {} retries, {} throttled (429), {:.1} s waited",
        s.orders,
        s.guest_orders,
        s.promotion_orders,
        s.configurator_orders,
        s.cancelled_in_window,
        s.customers,
        s.products,
        s.currencies,
        args.shopware_url,
        fmt_instant(args.from),
        fmt_instant(args.to),
        args.output.display(),
        s.fetch.requests,
        s.fetch.retries,
        s.fetch.throttled,
        s.fetch.waited.as_secs_f64(),
    );
    let mut warn = |w: String| {
        out.push_str("\n  note: ");
        out.push_str(&w);
    };
    if s.cancelled_after_window > 0 {
        warn(format!(
            "{} orders were cancelled after the window: the replay places them and does not cancel them",
            s.cancelled_after_window
        ));
    }
    if !s.skipped_lines.is_empty() {
        let kinds: Vec<String> = s.skipped_lines.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
        warn(format!(
            "line items the twin does not model were left out: {}",
            kinds.join(", ")
        ));
    }
    if s.extra_promotions > 0 {
        warn(format!(
            "{} promotion lines beyond an order's first were left out (a cart carries one promotion)",
            s.extra_promotions
        ));
    }
    if s.empty_orders > 0 {
        warn(format!(
            "{} orders had no line the twin models and were left out",
            s.empty_orders
        ));
    }
    if s.orders_beyond_stock > 0 {
        let shown: Vec<&str> = s.products_beyond_stock.iter().take(5).map(String::as_str).collect();
        warn(format!(
            "{} orders bought more than the shop had in stock (sold below zero: {}): a replay's customers buy only what the shop shows, so the replay does not place them",
            s.orders_beyond_stock,
            shown.join(", ")
        ));
    }
    if !s.unknown_products.is_empty() {
        let shown: Vec<&str> = s.unknown_products.iter().take(5).map(String::as_str).collect();
        warn(format!(
            "{} ordered products are no longer in the catalogue (e.g. {}): the replay refuses their orders",
            s.unknown_products.len(),
            shown.join(", ")
        ));
    }
    out
}

/// The trace as the scenario names it: relative when it sits at or below the
/// scenario's directory, absolute otherwise.
fn trace_reference(scenario: &Path, trace: &Path) -> anyhow::Result<String> {
    let trace = trace
        .canonicalize()
        .with_context(|| format!("cannot find the trace {}", trace.display()))?;
    let dir = match scenario.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = dir
        .canonicalize()
        .with_context(|| format!("the scenario's directory {} does not exist", dir.display()))?;
    Ok(trace.strip_prefix(&dir).unwrap_or(&trace).display().to_string())
}

fn write_scenario(path: &Path, args: &RecordArgs) -> anyhow::Result<()> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let name: String = stem
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let name = if name.is_empty() { "recorded".to_string() } else { name };
    let secs = (args.to - args.from).whole_seconds().max(1);
    let trace = trace_reference(path, &args.output)?;
    let text = format!(
        r#"# Recorded by `synctwin record` from {url}, orders placed from {from} to {to}.
# The trace brings the catalogue and the traffic; the twins and the engine come from here.
name = "{name}"
seed = 1
duration = "{secs}s"
speed = 60
trace = {trace}

[twins]
shopware_profile = "mocks/shopware/self-hosted-6.6.toml"
erp_profile = "mocks/erp/business-central.toml"

# [engine]
# config = "engine/careful.toml"      # relative to this file; without [engine]: the engine defaults

[thresholds]
"reconciliation.duplicated_orders" = "== 0"
"reconciliation.orphaned_orders" = "== 0"
"reconciliation.guests_merged" = "== 0"
"rate_limits.retry_after_violations" = "== 0"
"#,
        url = args.shopware_url,
        from = fmt_instant(args.from),
        to = fmt_instant(args.to),
        trace = toml::Value::String(trace),
    );
    std::fs::write(path, text).with_context(|| format!("cannot write the scenario {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_rfc3339_or_dates() {
        assert_eq!(
            parse_instant("2026-11-27T08:30:00+01:00").unwrap(),
            time::macros::datetime!(2026-11-27 07:30:00 UTC)
        );
        assert_eq!(
            parse_instant("2026-11-27").unwrap(),
            time::macros::datetime!(2026-11-27 00:00:00 UTC)
        );
        let e = parse_instant("last friday").unwrap_err();
        assert!(e.contains("RFC 3339") && e.contains("last friday"), "{e}");
    }
}
