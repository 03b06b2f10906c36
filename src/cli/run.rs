//! `synctwin run [SCENARIO]`: a scenario end to end, then the report.
//!
//! Loads and validates the scenario, builds both catalogues, generates the
//! trace into the report directory (or replays `--trace`), runs twins, traffic
//! and engine on one clock, evaluates the thresholds, writes the report files
//! and prints the terminal report. Exit code: 0 all thresholds passed, 1 a
//! threshold failed, 2 the run could not be done.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::clock::Speed;
use crate::report::export::ExportManager;
use crate::report::Format;
use crate::run::orchestrate::{execute, EngineMode};
use crate::run::prepare;
use crate::twin::erp::ErpProfile;

/// The scenario `synctwin run` uses when none is named.
pub const DEFAULT_SCENARIO: &str = "scenarios/default.toml";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineChoice {
    /// The reference engine with the scenario's engine settings.
    Reference,
    /// An integration you run yourself against the twins' URLs (printed at start).
    External,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Scenario file (default: scenarios/default.toml).
    pub scenario: Option<PathBuf>,
    /// Replay this trace (JSONL from `synctwin generate` or `record`) instead of the scenario's traffic.
    /// A recorded trace brings its catalogue.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Override the scenario's speed factor.
    #[arg(long)]
    pub speed: Option<Speed>,
    #[arg(long, value_enum, default_value_t = EngineChoice::Reference)]
    pub engine: EngineChoice,
    /// Use this engine configuration instead of the scenario's (e.g. scenarios/engine/naive.toml).
    #[arg(long)]
    pub engine_config: Option<PathBuf>,
    /// Report directory (default: reports/<scenario>/<timestamp>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Compare against a committed report and show the deltas.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// No progress display (the default when stderr is not a terminal or CI is set).
    #[arg(long)]
    pub quiet: bool,
}

/// `reports/<scenario>/<prefix><yyyymmdd-hhmmss>/` (UTC): a fresh report directory.
pub(super) fn default_out_dir(scenario: &str, prefix: &str) -> PathBuf {
    let stamp = time::OffsetDateTime::now_utc();
    PathBuf::from("reports")
        .join(crate::report::export::path_component(scenario, "scenario"))
        .join(format!(
            "{prefix}{:04}{:02}{:02}-{:02}{:02}{:02}",
            stamp.year(),
            u8::from(stamp.month()),
            stamp.day(),
            stamp.hour(),
            stamp.minute(),
            stamp.second()
        ))
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let path = args.scenario.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_SCENARIO));
    if !path.exists() {
        anyhow::bail!(
            "scenario file {} not found (run from the repository root, or name a scenario file)",
            path.display()
        );
    }
    let mut plan = crate::scenario::plan::load(&path)?;
    if let Some(s) = args.speed {
        plan.speed = s;
    }
    if let Some(p) = &args.engine_config {
        plan.engine.config = crate::engine::config::EngineConfig::load(p)?;
        plan.engine.name = p.display().to_string();
    }
    let erp_profile = ErpProfile::load(&plan.twins.erp_path)?;
    // The trace to replay: --trace, else the scenario's `trace`, else generated below.
    let replay = args
        .trace
        .clone()
        .or_else(|| plan.trace.as_ref().map(|t| t.path.clone()));
    let catalogue = scenario_catalogue(&plan, &path, replay.as_deref(), &erp_profile)?;
    let baseline = match &args.baseline {
        Some(p) => Some(crate::report::baseline::load(p)?),
        None => None,
    };
    let out_dir = match &args.out {
        Some(d) => d.clone(),
        None => default_out_dir(&plan.name, ""),
    };
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create the report directory {}", out_dir.display()))?;
    let trace_path = match &replay {
        Some(t) => t.clone(),
        None => {
            let p = out_dir.join("trace.jsonl");
            prepare::write_trace(&plan, &catalogue, &p)?;
            p
        }
    };
    let traffic = prepare::read_trace(&trace_path)?;
    let engine = match args.engine {
        EngineChoice::Reference => prepare::reference_engine(&plan),
        EngineChoice::External => EngineMode::External,
    };
    let setup = prepare::setup(&plan, engine, catalogue)?;
    let interactive = !args.quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    let external = args.engine == EngineChoice::External;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("Failed to start the async runtime")?;
    eprintln!(
        "running {} ({} of scenario time at {}x, engine: {})",
        plan.name,
        crate::report::units::duration(plan.duration.as_millis() as f64),
        plan.speed.factor(),
        if external {
            "external"
        } else {
            plan.engine.name.as_str()
        }
    );
    let outcome = rt.block_on(execute(
        setup,
        traffic,
        |e| {
            if external {
                eprintln!(
                    "shopware twin: {}/api  client_id={} client_secret={}",
                    e.shopware_url, e.shopware_client_id, e.shopware_client_secret
                );
                eprintln!(
                    "erp twin:      {}  client_id={} client_secret={}",
                    e.erp_url, e.erp_client_id, e.erp_client_secret
                );
            }
        },
        |p| {
            if interactive {
                eprint!(
                    "\r{} / {}  orders {}  not yet in ERP {}  429s {}{}   ",
                    p.at,
                    p.end,
                    p.orders_placed,
                    p.backlog,
                    p.throttled,
                    if p.draining { "  (draining)" } else { "" }
                );
            }
        },
    ))?;
    if interactive {
        eprintln!();
    }
    let mut report = outcome.report;
    prepare::evaluate(&plan, &mut report)?;
    let mut exports = ExportManager::to_dir(&out_dir);
    if let Some(b) = &baseline {
        exports = exports.with_baseline(crate::report::baseline::compare(b, &report)?);
    }
    exports.add(Format::Table, "-")?;
    let mut stdout = std::io::stdout().lock();
    exports.write_all(&report, &mut stdout)?;
    writeln!(stdout, "report files: {}", out_dir.display())?;
    Ok(ExitCode::from(crate::report::threshold::exit_code(&report)))
}

/// Both twins' catalogues for a scenario: from its recorded trace (`replay`)
/// when that trace carries a catalogue, else generated from its `[catalogue]`.
pub fn scenario_catalogue(
    plan: &crate::scenario::plan::Plan,
    path: &std::path::Path,
    replay: Option<&std::path::Path>,
    erp_profile: &ErpProfile,
) -> anyhow::Result<crate::scenario::catalogue::BuiltCatalogue> {
    let recorded = match replay {
        Some(t) => crate::scenario::recorded::build(t, erp_profile)?,
        None => None,
    };
    Ok(match recorded {
        Some(c) => {
            if plan.catalogue.skus > 0 {
                eprintln!(
                    "note: the trace {} brings its own catalogue (recorded); the scenario's [catalogue] is not used",
                    replay.unwrap_or(std::path::Path::new("")).display()
                );
            }
            c
        }
        None if plan.catalogue.skus == 0 => anyhow::bail!(
            "the trace {} carries no catalogue, and the scenario {} describes none: name a recorded trace or a scenario with [catalogue]",
            replay.unwrap_or(std::path::Path::new("")).display(),
            path.display()
        ),
        None => crate::scenario::catalogue::build(plan),
    })
}
