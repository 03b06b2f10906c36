//! `synctwin sweep` and `synctwin report merge` through the binary: a small
//! scenario (60 SKUs, 20 scenario minutes at 1200x, under a second a run) over a
//! 2 × 2 grid of engine settings. The grid is run, each point with its settings;
//! shards partition the grid exactly; merging the shards gives the unsharded
//! sweep's points; exit codes follow the recommendation.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The scenario: a receipt burst over every SKU at 5 m, orders until 15 m, and the
/// careful engine's file, whose batch size and concurrency the grid overrides.
fn scenario(dir: &Path) -> PathBuf {
    let careful = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/engine/careful.toml");
    let text = format!(
        r#"name = "sweep-it"
seed = 11
duration = "20m"
speed = 1200

[catalogue]
skus = 60
initial_stock = [5, 30]

[[phases]]
start = "0m"
end = "15m"
orders_per_hour = 240

[[erp_events]]
kind = "burst"
at = ["5m"]
spread = "10s"
share = 1.0
qty = [5, 20]

[twins]
shopware_profile = "mocks/shopware/self-hosted-6.6.toml"
erp_profile = "mocks/erp/business-central.toml"

[engine]
config = "{}"

[thresholds]
"reconciliation.missing_orders" = "== 0"
"#,
        careful.display()
    );
    let path = dir.join("sweep-it.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A fresh directory for one test.
fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synctwin-it-sweep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const GRID: [&str; 4] = [
    "--set",
    "engine.inventory.batch_size=10,50",
    "--set",
    "engine.inventory.concurrency=1,2",
];

fn synctwin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_synctwin"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CI", "1")
        .output()
        .expect("the synctwin binary runs")
}

fn sweep(scenario: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["sweep", scenario.to_str().unwrap()];
    args.extend(GRID);
    args.extend(["--out", out.to_str().unwrap()]);
    args.extend(extra);
    synctwin(&args)
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// (index, settings) of every point of a sweep report.
fn point_set(report: &Value) -> BTreeSet<(u64, BTreeMap<String, String>)> {
    report["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let settings = serde_json::from_value(p["settings"].clone()).unwrap();
            (p["index"].as_u64().unwrap(), settings)
        })
        .collect()
}

/// The exit code says whether a point was recommended; the table says the same first.
fn check_exit_code(out: &Output, report: &Value) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if report["recommendation"].is_null() {
        assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
        assert!(stdout.starts_with("NO RECOMMENDATION"), "{stdout}");
    } else {
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        assert!(
            stdout.starts_with("RECOMMENDED  engine.inventory.batch_size="),
            "{stdout}"
        );
    }
}

/// Records per sync request at the Shopware twin, from a point's run report.
fn sync_records_per_request(run: &Value) -> (u64, u64) {
    let sync = &run["rate_limits"]["endpoints"]["shopware"]["POST /api/_action/sync"];
    (
        sync["requests"].as_u64().unwrap_or(0),
        sync["records"].as_u64().unwrap_or(0),
    )
}

#[test]
fn a_sweep_runs_every_grid_point_with_its_settings() {
    let dir = workdir("grid");
    let scenario = scenario(&dir);
    let out_dir = dir.join("whole");
    let out = sweep(&scenario, &out_dir, &[]);
    let report = read(&out_dir.join("sweep.json"));
    check_exit_code(&out, &report);
    assert_eq!(report["version"], 1);
    assert_eq!(report["grid_points"], 4);
    assert_eq!(report["shards"], serde_json::json!(["1/1"]));
    assert_eq!(report["missing_points"], serde_json::json!([]));
    let expected: BTreeSet<(u64, BTreeMap<String, String>)> = [("10", "1"), ("10", "2"), ("50", "1"), ("50", "2")]
        .iter()
        .enumerate()
        .map(|(i, (b, c))| {
            let settings = [
                ("engine.inventory.batch_size".to_string(), b.to_string()),
                ("engine.inventory.concurrency".to_string(), c.to_string()),
            ]
            .into();
            (i as u64, settings)
        })
        .collect();
    assert_eq!(point_set(&report), expected);
    let mut sync_requests = BTreeMap::new();
    for p in report["points"].as_array().unwrap() {
        let runs = p["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 1);
        let run = read(&out_dir.join(runs[0]["report"].as_str().unwrap()));
        // The point's run report carries its settings, and the twin saw them applied:
        // no sync request carried more records than the batch size.
        assert_eq!(run["scenario"]["overrides"], p["settings"]);
        let careful = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/engine/careful.toml");
        assert_eq!(
            run["scenario"]["engine"],
            careful.display().to_string(),
            "named as the scenario names it"
        );
        let batch: u64 = p["settings"]["engine.inventory.batch_size"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let (requests, records) = sync_records_per_request(&run);
        assert!(
            records > 0 && records <= requests * batch,
            "{requests} requests, {records} records, batch {batch}"
        );
        *sync_requests.entry(batch).or_insert(0) += requests;
        // The summary is the run's own figures.
        assert_eq!(runs[0]["throttled_429"], run["rate_limits"]["throttled_429"]);
        assert_eq!(
            runs[0]["time_to_consistency_ms"],
            run["latency"]["stock_consistency"]["time_to_consistency_ms"]
        );
        assert!(
            run["latency"]["stock_consistency"]["last_erp_stock_change_ms"]
                .as_u64()
                .unwrap()
                >= 300_000
        );
    }
    assert!(
        sync_requests[&10] > sync_requests[&50],
        "smaller batches, more requests: {sync_requests:?}"
    );
    // The recommendation, if any, is a passing point with the lowest time to consistency.
    if let Some(index) = report["recommendation"]["index"].as_u64() {
        let points = report["points"].as_array().unwrap();
        let best = points[index as usize]["time_to_consistency_ms"].as_f64().unwrap();
        assert!(points[index as usize]["passed"].as_bool().unwrap());
        for p in points.iter().filter(|p| p["passed"].as_bool().unwrap()) {
            assert!(p["time_to_consistency_ms"].as_f64().unwrap() >= best);
        }
        assert_eq!(report["recommendation"]["neighbours"].as_array().unwrap().len(), 2);
    }
    let html = std::fs::read_to_string(out_dir.join("sweep.html")).unwrap();
    assert_eq!(html.matches("<svg ").count(), 5);
    assert!(std::fs::read_to_string(out_dir.join("sweep.txt"))
        .unwrap()
        .contains("batch_size"));
    assert_eq!(
        std::fs::read_dir(out_dir.join("traces")).unwrap().count(),
        1,
        "one traffic, one trace"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shards_partition_the_grid_and_merge_into_the_unsharded_points() {
    let dir = workdir("shards");
    let scenario = scenario(&dir);
    let mut seen: BTreeMap<u64, String> = BTreeMap::new();
    let mut shard_files = Vec::new();
    for i in 1..=3 {
        let shard = format!("{i}/3");
        let out_dir = dir.join(format!("shard{i}"));
        let out = sweep(&scenario, &out_dir, &["--shard", &shard]);
        let report = read(&out_dir.join("sweep.json"));
        check_exit_code(&out, &report);
        assert_eq!(report["shards"], serde_json::json!([shard]));
        for (index, _) in point_set(&report) {
            assert_eq!(index % 3, i - 1, "shard {shard} ran point {index}");
            if let Some(other) = seen.insert(index, shard.clone()) {
                panic!("point {index} ran in shards {other} and {shard}");
            }
        }
        shard_files.push(out_dir.join("sweep.json"));
    }
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        [0, 1, 2, 3],
        "every point in one shard"
    );
    // Merged, the shards are the unsharded sweep's grid.
    let merged_dir = dir.join("merged");
    let mut args = vec!["report", "merge"];
    let files: Vec<String> = shard_files.iter().map(|p| p.display().to_string()).collect();
    args.extend(files.iter().map(String::as_str));
    args.extend(["-o", merged_dir.to_str().unwrap()]);
    let out = synctwin(&args);
    let merged = read(&merged_dir.join("sweep.json"));
    check_exit_code(&out, &merged);
    let whole_dir = dir.join("whole");
    let whole_out = sweep(&scenario, &whole_dir, &[]);
    let whole = read(&whole_dir.join("sweep.json"));
    check_exit_code(&whole_out, &whole);
    assert_eq!(point_set(&merged), point_set(&whole));
    assert_eq!(merged["axes"], whole["axes"]);
    assert_eq!(merged["missing_points"], serde_json::json!([]));
    assert_eq!(merged["shards"], serde_json::json!(["1/3", "2/3", "3/3"]));
    // The merged runs point at the shards' run reports.
    for p in merged["points"].as_array().unwrap() {
        let path = p["runs"][0]["report"].as_str().unwrap();
        assert!(
            read(Path::new(path))["scenario"]["overrides"] == p["settings"],
            "{path}"
        );
    }
    // Point reports merge too.
    let run_files: Vec<String> = merged["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["runs"][0]["report"].as_str().unwrap().to_string())
        .collect();
    let from_runs = dir.join("from-runs");
    let mut args = vec!["report", "merge"];
    args.extend(run_files.iter().map(String::as_str));
    args.extend(["-o", from_runs.to_str().unwrap()]);
    let out = synctwin(&args);
    let by_runs = read(&from_runs.join("sweep.json"));
    check_exit_code(&out, &by_runs);
    assert_eq!(point_set(&by_runs), point_set(&whole));
    // The same shard twice is refused.
    let out = synctwin(&[
        "report",
        "merge",
        &files[0],
        &files[0],
        "-o",
        merged_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("shards never overlap"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_sweep_where_no_point_passes_exits_1_and_says_why() {
    let dir = workdir("none");
    let scenario = scenario(&dir);
    let out_dir = dir.join("out");
    // No run can have a 429 ratio below 0 %.
    let out = synctwin(&[
        "sweep",
        scenario.to_str().unwrap(),
        "--set",
        "thresholds.\"rate_limits.ratio_429\"=< 0%",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with("NO RECOMMENDATION"), "{stdout}");
    assert!(stdout.contains("fails the scenario's threshold < 0%"), "{stdout}");
    let report = read(&out_dir.join("sweep.json"));
    assert!(report["recommendation"].is_null());
    assert_eq!(report["criteria"]["ratio_429_source"], "scenario");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_flags_and_keys_stop_the_sweep_before_any_run() {
    let dir = workdir("bad");
    let scenario = scenario(&dir);
    let s = scenario.to_str().unwrap();
    let out_dir = dir.join("out");
    let o = out_dir.to_str().unwrap();
    for (args, wanted) in [
        (
            vec!["sweep", s, "--set", "engine.inventory.batch_sise=1,2", "--out", o],
            "batch_sise",
        ),
        (
            vec!["sweep", s, "--set", "engine.inventory.batch_size=50,0", "--out", o],
            "inventory.batch_size must be between 1 and 10000, got 0",
        ),
        (
            vec!["sweep", s, "--set", "catalogue.skuz=5", "--out", o],
            "key 'catalogue.skuz'",
        ),
        (vec!["sweep", s, "--set", "batch_size", "--out", o], "--set batch_size"),
        (
            vec!["sweep", s, "--set", "seed=1,2", "--shard", "3/2", "--out", o],
            "--shard 3/2",
        ),
        (vec!["sweep", "scenarios/nope.toml", "--out", o], "scenarios/nope.toml"),
    ] {
        let out = synctwin(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(wanted), "{args:?}: {stderr}");
        assert!(!out_dir.exists(), "{args:?}: nothing runs before every point is valid");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_shard_without_points_runs_nothing_and_exits_0() {
    let dir = workdir("empty-shard");
    let scenario = scenario(&dir);
    let out_dir = dir.join("out");
    let out = synctwin(&[
        "sweep",
        scenario.to_str().unwrap(),
        "--set",
        "seed=1,2",
        "--shard",
        "4/4",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("shard 4/4 has no point of this 2-point grid"),
        "{stdout}"
    );
    let report = read(&out_dir.join("sweep.json"));
    assert_eq!(report["points"], serde_json::json!([]));
    assert_eq!(report["missing_points"], serde_json::json!([0, 1]));
    let _ = std::fs::remove_dir_all(&dir);
}
