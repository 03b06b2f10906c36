//! `synctwin engine` (run the reference engine against any Shopware and ERP)
//! and `synctwin exceptions list|retry` (the exception queue in its state file).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use tabled::settings::Style;
use tabled::{Table, Tabled};

use crate::clock::{ScaledClock, SharedClock, Speed};
use crate::engine::config::EngineConfig;
use crate::engine::driver::Engine;
use crate::engine::http::erp::ErpClient;
use crate::engine::http::shopware::ShopwareClient;
use crate::engine::state::EngineState;

#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// Shopware base URL, e.g. http://127.0.0.1:8000 (a trailing /api is fine).
    #[arg(long)]
    pub shopware_url: String,
    /// ERP base URL (Business Central API v2.0 shape), e.g. http://127.0.0.1:9000.
    #[arg(long)]
    pub erp_url: String,
    /// Engine configuration (TOML); defaults to the careful strategy.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The engine's state file (SQLite): watermarks, outbox, exceptions.
    #[arg(long, default_value = "synctwin-engine.sqlite")]
    pub state: PathBuf,
    #[arg(long, env = "SYNCTWIN_SHOPWARE_CLIENT_ID")]
    pub shopware_client_id: String,
    /// Prefer the environment variable, or --shopware-secret-file.
    #[arg(long, env = "SYNCTWIN_SHOPWARE_CLIENT_SECRET", hide_env_values = true)]
    pub shopware_client_secret: Option<String>,
    #[arg(long)]
    pub shopware_secret_file: Option<PathBuf>,
    #[arg(long, env = "SYNCTWIN_ERP_CLIENT_ID")]
    pub erp_client_id: String,
    #[arg(long, env = "SYNCTWIN_ERP_CLIENT_SECRET", hide_env_values = true)]
    pub erp_client_secret: Option<String>,
    #[arg(long)]
    pub erp_secret_file: Option<PathBuf>,
    /// Speed of the systems' clock (match the twins' --speed; 1 for real systems).
    #[arg(long, default_value = "1")]
    pub speed: Speed,
    /// Run every flow once and exit.
    #[arg(long)]
    pub once: bool,
}

#[derive(Debug, Subcommand)]
pub enum ExceptionsCommand {
    /// List parked exceptions with their owner.
    List {
        #[arg(long, default_value = "synctwin-engine.sqlite")]
        state: PathBuf,
        /// Include resolved ones.
        #[arg(long)]
        all: bool,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Send exceptions back for another try once the data is fixed (the next engine pass picks them up).
    Retry {
        #[arg(long, default_value = "synctwin-engine.sqlite")]
        state: PathBuf,
        /// Exception ids (from `list`).
        ids: Vec<i64>,
        /// Every open exception.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
}

pub(super) fn secret(system: &str, value: &Option<String>, file: &Option<PathBuf>) -> anyhow::Result<String> {
    match (value, file) {
        (Some(v), _) => Ok(v.clone()),
        (None, Some(f)) => Ok(std::fs::read_to_string(f)
            .with_context(|| format!("cannot read the {system} client secret file {}", f.display()))?
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()),
        (None, None) => anyhow::bail!(
            "no {system} client secret: set SYNCTWIN_{}_CLIENT_SECRET or pass --{system}-secret-file",
            system.to_uppercase()
        ),
    }
}

fn open_state(path: &std::path::Path) -> anyhow::Result<EngineState> {
    EngineState::open(path).with_context(|| format!("cannot open the engine state file {}", path.display()))
}

pub fn run_engine(args: EngineArgs) -> anyhow::Result<std::process::ExitCode> {
    let cfg = match &args.config {
        Some(p) => EngineConfig::load(p)?,
        None => EngineConfig::default(),
    };
    let shop_secret = secret("shopware", &args.shopware_client_secret, &args.shopware_secret_file)?;
    let erp_secret = secret("erp", &args.erp_client_secret, &args.erp_secret_file)?;
    let state = open_state(&args.state)?;
    let clock: SharedClock = Arc::new(ScaledClock::start(args.speed));
    let shop = ShopwareClient::new(
        &args.shopware_url,
        &args.shopware_client_id,
        &shop_secret,
        clock.clone(),
        cfg.request_timeout,
    )
    .with_rate_limit(cfg.rate_limits.shopware_per_second)
    .with_token_strategy(cfg.auth.token);
    let erp = ErpClient::new(
        &args.erp_url,
        &args.erp_client_id,
        &erp_secret,
        clock.clone(),
        cfg.request_timeout,
    )
    .with_rate_limit(cfg.rate_limits.erp_per_second)
    .with_token_strategy(cfg.auth.token);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("Failed to start the async runtime")?;
    let mut engine = Engine::new(shop, erp, state, cfg, clock, 42);
    let print = |r: &crate::engine::driver::TickReport, errors: &[String]| {
        let mut parts = Vec::new();
        if let Some(e) = &r.export {
            parts.push(format!(
                "orders: {} read, {} created, {} found, {} parked",
                e.read, e.created, e.found, e.exceptions
            ));
        }
        if let Some(f) = &r.fulfilment {
            parts.push(format!("shipments: {} new, {} transitions", f.shipments, f.transitions));
        }
        if let Some(i) = &r.inventory {
            let kind = if r.full_inventory { "full" } else { "delta" };
            parts.push(format!(
                "stock ({kind}): {} pushed, {} already shown, {} rejected, {} requests",
                i.pushed, i.unchanged, i.rejected, i.requests
            ));
        }
        if !parts.is_empty() {
            println!("[{}] {}", r.at, parts.join("; "));
        }
        for e in errors {
            eprintln!("[{}] warning: {e} (retried next tick)", r.at);
        }
    };
    rt.block_on(async {
        if args.once {
            let r = engine.tick().await?;
            print(&r, &engine.last_errors);
            anyhow::Ok(())
        } else {
            engine
                .run(
                    async {
                        let _ = tokio::signal::ctrl_c().await;
                    },
                    print,
                )
                .await?;
            Ok(())
        }
    })?;
    let open = engine.state().exceptions(false)?.len();
    if open > 0 {
        println!(
            "{open} exception(s) parked: synctwin exceptions list --state {}",
            args.state.display()
        );
    }
    Ok(std::process::ExitCode::SUCCESS)
}

#[derive(Tabled)]
struct Row {
    id: i64,
    subject: String,
    category: String,
    owner: String,
    detail: String,
}

pub fn run_exceptions(cmd: ExceptionsCommand) -> anyhow::Result<std::process::ExitCode> {
    match cmd {
        ExceptionsCommand::List { state, all, json } => {
            let s = open_state(&state)?;
            let list = s.exceptions(all)?;
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
            } else if list.is_empty() {
                writeln!(out, "no open exceptions")?;
            } else {
                let rows: Vec<Row> = list
                    .iter()
                    .map(|e| Row {
                        id: e.id,
                        subject: e.subject.clone(),
                        category: e.category.clone(),
                        owner: serde_json::to_value(e.owner)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                        detail: e.detail.chars().take(100).collect(),
                    })
                    .collect();
                writeln!(out, "{}", Table::new(rows).with(Style::sharp()))?;
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
        ExceptionsCommand::Retry { state, ids, all } => {
            let s = open_state(&state)?;
            let ids: Vec<i64> = if all {
                s.exceptions(false)?.iter().map(|e| e.id).collect()
            } else {
                ids
            };
            if ids.is_empty() {
                anyhow::bail!("name exception ids (see `synctwin exceptions list`) or pass --all");
            }
            let mut missing = Vec::new();
            for id in ids {
                match s.retry_exception(id)? {
                    Some(e) => println!(
                        "{id}: {} ({}) sent back for the next engine pass",
                        e.subject, e.category
                    ),
                    None => missing.push(id.to_string()),
                }
            }
            if !missing.is_empty() {
                anyhow::bail!("no open exception with id {}", missing.join(", "));
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}
