//! `synctwin sweep SCENARIO --set KEY=v1,v2 ...`: the scenario run once per grid
//! point (times `--repeat`), each point exactly as `synctwin run` would run it with
//! those settings; then the sweep report (JSON, table, HTML) and the
//! recommendation. Exit code: 0 a point is recommended, 1 no point passed, 2 the
//! sweep could not be done (bad flags or scenario, or no run could be done). With
//! `--shard` the code is about the shard's own points (a shard without points
//! exits 0); the merged report's code is about the grid.
//!
//! Every grid point's scenario is validated before the first run, so a bad value
//! stops the sweep at once with the scenario's own error. Points that generate the
//! same traffic (only engine or twin keys swept) share one trace file.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use sha2::{Digest, Sha256};

use crate::clock::Speed;
use crate::report::json::JsonExporter;
use crate::report::{Exporter, RunReport};
use crate::run::orchestrate::execute;
use crate::run::prepare;
use crate::scenario::Plan;
use crate::sweep::evaluate::{failed_run, summarize};
use crate::sweep::grid::{Axis, Grid, Shard};
use crate::sweep::model::{RunSummary, SweepReport};
use crate::sweep::overrides::plan_with;
use crate::sweep::recommend::{build, point, settings_text};

#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// Scenario file.
    pub scenario: PathBuf,
    /// A scenario key and its values, e.g. engine.inventory.batch_size=50,100,250 (repeat the
    /// flag for more keys; the grid is their product, the first key varying slowest).
    #[arg(long = "set", value_name = "KEY=V1,V2,...")]
    pub set: Vec<String>,
    /// Runs per point; points are compared on the medians, and pass only if every run passes.
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// Override the scenario's speed factor for every run.
    #[arg(long)]
    pub speed: Option<Speed>,
    /// Run only shard I of N (I from 1): the points whose number, counted from 0, leaves
    /// remainder I-1 when divided by N. Merge the shards' sweep.json with `synctwin report merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Sweep directory (default: reports/<scenario>/sweep-<timestamp>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No progress display (the default when stderr is not a terminal or CI is set).
    #[arg(long)]
    pub quiet: bool,
}

/// A grid point to run: its number, its settings in axis order, its validated scenario.
type PointPlan = (u64, Vec<(String, String)>, Plan);

/// The trace file a plan's traffic goes to: plans that generate the same traffic share it.
fn trace_name(plan: &Plan) -> anyhow::Result<String> {
    let key = serde_json::to_vec(&(
        plan.seed,
        plan.duration.as_millis() as u64,
        &plan.catalogue,
        &plan.phases,
        &plan.erp_events,
    ))
    .context("cannot describe the plan's traffic")?;
    Ok(format!("{}.jsonl", &hex::encode(Sha256::digest(&key))[..16]))
}

/// Writes `sweep.json`, `sweep.txt` and `sweep.html` into `dir`; returns the JSON's path.
pub(super) fn write_outputs(report: &SweepReport, dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create the sweep directory {}", dir.display()))?;
    let mut json = serde_json::to_vec_pretty(report).context("cannot serialise the sweep report")?;
    json.push(b'\n');
    let path = dir.join("sweep.json");
    for (file, bytes) in [
        ("sweep.json", json),
        ("sweep.txt", crate::sweep::table::render(report).into_bytes()),
        ("sweep.html", crate::sweep::html::render(report).into_bytes()),
    ] {
        let p = dir.join(file);
        std::fs::write(&p, bytes).with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(path)
}

/// Prints the table and says where the files are; the exit code of the recommendation.
pub(super) fn finish(report: &SweepReport, dir: &Path) -> anyhow::Result<ExitCode> {
    let json = write_outputs(report, dir)?;
    let mut stdout = std::io::stdout().lock();
    write!(stdout, "{}", crate::sweep::table::render(report))?;
    writeln!(
        stdout,
        "sweep report: {} (table sweep.txt, page sweep.html)",
        json.display()
    )?;
    Ok(ExitCode::from(if report.recommendation.is_some() { 0 } else { 1 }))
}

pub fn run(args: SweepArgs) -> anyhow::Result<ExitCode> {
    let path = &args.scenario;
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read scenario {}", path.display()))?;
    let axes = args.set.iter().map(|a| Axis::parse(a)).collect::<Result<Vec<_>, _>>()?;
    let grid = Grid::new(axes)?;
    let shard: Shard = match &args.shard {
        Some(s) => s.parse()?,
        None => Shard::WHOLE,
    };
    if args.repeat == 0 {
        anyhow::bail!("--repeat 0: runs per point must be at least 1");
    }
    if args.speed.is_some() && grid.axes.iter().any(|a| a.key == "speed") {
        anyhow::bail!("--speed and --set speed=... both set the speed: give one of them");
    }
    // Validate every point of the grid (not only this shard's) before running any.
    let mut plans: Vec<PointPlan> = Vec::new();
    for index in 0..grid.len() {
        let settings = grid.settings(index);
        let mut plan = plan_with(path, &text, &settings)?;
        if let Some(s) = args.speed {
            plan.speed = s;
        }
        if shard.contains(index) {
            plans.push((index, settings, plan));
        }
    }
    let name = plans
        .first()
        .map(|p| p.2.name.clone())
        .unwrap_or_else(|| plan_with(path, &text, &[]).map(|p| p.name).unwrap_or_default());
    let out_dir = match &args.out {
        Some(d) => d.clone(),
        None => super::run::default_out_dir(
            &name,
            &if shard == Shard::WHOLE {
                "sweep-".to_string()
            } else {
                format!("sweep-shard-{}-of-{}-", shard.index, shard.count)
            },
        ),
    };
    std::fs::create_dir_all(out_dir.join("traces"))
        .with_context(|| format!("cannot create the sweep directory {}", out_dir.display()))?;
    let interactive = !args.quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("Failed to start the async runtime")?;
    let total_runs = plans.len() as u64 * u64::from(args.repeat);
    if interactive {
        eprintln!(
            "sweeping {name}: {} of {} grid points (shard {shard}), {} run{} each, {total_runs} runs",
            plans.len(),
            grid.len(),
            args.repeat,
            if args.repeat == 1 { "" } else { "s" }
        );
    }
    let started = Instant::now();
    let mut points = Vec::new();
    let mut done = 0u64;
    let mut errors = 0u64;
    for (index, settings, plan) in &plans {
        let mut runs: Vec<RunSummary> = Vec::new();
        for repeat in 1..=args.repeat {
            let rel = format!("points/p{index:04}-r{repeat}/run.json");
            let label = format!(
                "[{}/{total_runs}] point {index} {}{}",
                done + 1,
                settings_text(&grid, &settings.iter().cloned().collect()),
                if args.repeat > 1 {
                    format!(" (run {repeat}/{})", args.repeat)
                } else {
                    String::new()
                }
            );
            let result = run_point(
                &rt,
                plan,
                settings,
                path,
                &out_dir,
                &out_dir.join(&rel),
                &|line: &str| {
                    if interactive {
                        eprint!("\r{label}  {line}   ");
                    }
                },
            );
            done += 1;
            let summary = match result {
                Ok(report) => summarize(&report, repeat, Some(rel)),
                Err(e) => {
                    errors += 1;
                    failed_run(repeat, &e)
                }
            };
            if interactive {
                let eta = started.elapsed().as_secs_f64() / done as f64 * (total_runs - done) as f64;
                eprintln!(
                    "\r{label}  {}  (about {} left){}",
                    if summary.failures.is_empty() {
                        "pass".to_string()
                    } else {
                        format!("FAIL: {}", summary.failures[0])
                    },
                    crate::report::units::duration(eta * 1000.0),
                    " ".repeat(20)
                );
            }
            runs.push(summary);
        }
        points.push(point(*index, settings.iter().cloned().collect(), runs));
    }
    let report = build(&name, &grid, args.repeat, vec![shard.to_string()], points);
    if plans.is_empty() {
        // More shards than points: nothing to run is not a failure of the grid.
        write_outputs(&report, &out_dir)?;
        println!(
            "shard {shard} has no point of this {}-point grid: nothing to run (sweep report: {})",
            grid.len(),
            out_dir.join("sweep.json").display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let code = finish(&report, &out_dir)?;
    if total_runs > 0 && errors == total_runs {
        eprintln!("Error: no run of the sweep could be done (see the failures above)");
        return Ok(ExitCode::from(2));
    }
    Ok(code)
}

/// One run of one point: the scenario's recorded trace, or a generated one (shared
/// by points with the same traffic); twins, engine, thresholds; the report is
/// written to `report_path`.
fn run_point(
    rt: &tokio::runtime::Runtime,
    plan: &Plan,
    settings: &[(String, String)],
    scenario: &Path,
    dir: &Path,
    report_path: &Path,
    progress: &dyn Fn(&str),
) -> anyhow::Result<RunReport> {
    let erp_profile = crate::twin::erp::ErpProfile::load(&plan.twins.erp_path)?;
    let replay = plan.trace.as_ref().map(|t| t.path.clone());
    let catalogue = super::run::scenario_catalogue(plan, scenario, replay.as_deref(), &erp_profile)?;
    let trace = match replay {
        Some(t) => t,
        None => {
            let t = dir.join("traces").join(trace_name(plan)?);
            if !t.exists() {
                prepare::write_trace(plan, &catalogue, &t)?;
            }
            t
        }
    };
    let traffic = prepare::read_trace(&trace)?;
    let setup = prepare::setup(plan, prepare::reference_engine(plan), catalogue)?;
    let outcome = rt.block_on(execute(
        setup,
        traffic,
        |_| {},
        |p| {
            progress(&format!(
                "{} / {}  orders {}  backlog {}  429s {}{}",
                p.at,
                p.end,
                p.orders_placed,
                p.backlog,
                p.throttled,
                if p.draining { "  (draining)" } else { "" }
            ))
        },
    ))?;
    let mut report = outcome.report;
    prepare::evaluate(plan, &mut report)?;
    report.scenario.overrides = settings.iter().cloned().collect();
    if let Some(parent) = report_path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let bytes = JsonExporter.render(&report)?;
    std::fs::write(report_path, bytes).with_context(|| format!("cannot write {}", report_path.display()))?;
    Ok(report)
}
