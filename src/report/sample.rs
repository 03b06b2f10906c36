//! A fixed, hand-built [`RunReport`] for tests, benches and format demos.
//!
//! It is not the result of a run: its numbers are chosen so every section of every
//! format has something to show (a failed threshold, 429s, money deltas, stock
//! mismatches, exceptions for each owner, a harness warning). Its diagnosis is not
//! hand-written: it is computed from those counts by [`crate::diagnose`] (no engine
//! settings, no exception queue), then the failed thresholds are explained.
//! Snapshot-like tests of the exporters assert on its rendering, so change it only
//! together with them.

use std::collections::BTreeMap;

use super::model::{
    Distribution, EndpointStats, ExceptionCount, Harness, Latency, MoneyDelta, RateLimits, Reconciliation, RunReport,
    ScenarioInfo, ShipmentGap, StockConsistency, StockMismatch, ThresholdResult, TimelinePoint, Verdict,
    REPORT_VERSION,
};

fn endpoint(requests: u64, statuses: &[(&str, u64)], records: u64) -> EndpointStats {
    EndpointStats {
        requests,
        by_status: statuses.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
        records,
    }
}

/// The sample report: scenario `f3-429-storm`, naive engine, one threshold failed.
pub fn sample_report() -> RunReport {
    let mut shopware = BTreeMap::new();
    shopware.insert(
        "POST /api/_action/sync".to_string(),
        endpoint(1_840, &[("200", 1_610), ("429", 230)], 36_800),
    );
    shopware.insert("POST /api/oauth/token".to_string(), endpoint(12, &[("200", 12)], 0));
    shopware.insert(
        "POST /api/search/order".to_string(),
        endpoint(620, &[("200", 608), ("429", 12)], 4_100),
    );
    let mut erp = BTreeMap::new();
    erp.insert(
        "POST /orders".to_string(),
        endpoint(4_210, &[("201", 4_100), ("409", 62), ("500", 48)], 4_100),
    );
    erp.insert("GET /stock/changes".to_string(), endpoint(360, &[("200", 360)], 9_400));
    let mut endpoints = BTreeMap::new();
    endpoints.insert("erp".to_string(), erp);
    endpoints.insert("shopware".to_string(), shopware);

    let timeline = (0..12u64)
        .map(|i| {
            // A 429 storm in the middle third; the backlog builds and then drains.
            let storm = (4..8).contains(&i);
            TimelinePoint {
                t_ms: i * 300_000,
                requests: if storm { 720 } else { 480 },
                throttled: if storm { 60 } else { 0 },
                orders_placed: 340 + 10 * (i % 3),
                orders_exported: if storm { 180 } else { 360 },
                backlog: [0, 4, 2, 6, 160, 330, 480, 610, 420, 240, 60, 0][i as usize],
                // Two orders wait on an unmapped SKU from the third interval on.
                never_exported: if i >= 2 { 2 } else { 0 },
                stock_lag_ms: if storm { 95_000.0 + 5_000.0 * i as f64 } else { 2_300.0 },
            }
        })
        .collect();

    let mut report = RunReport {
        version: REPORT_VERSION,
        scenario: ScenarioInfo {
            name: "f3-429-storm".into(),
            seed: 42,
            duration_ms: 3_600_000,
            speed: 60.0,
            engine: "reference/naive".into(),
            shopware_profile: "mocks/shopware/default.toml".into(),
            erp_profile: "mocks/erp/strict-limits.toml".into(),
            started_at: "2026-11-27T03:00:00Z".into(),
            overrides: Default::default(),
        },
        verdict: Verdict {
            passed: false,
            thresholds: vec![
                ThresholdResult {
                    metric: "latency.order_export.p95".into(),
                    condition: "< 5m".into(),
                    actual: Some(250_000.0),
                    passed: true,
                },
                ThresholdResult {
                    metric: "rate_limits.ratio_429".into(),
                    condition: "<= 2%".into(),
                    actual: Some(0.0346),
                    passed: false,
                },
                ThresholdResult {
                    metric: "reconciliation.missing_orders".into(),
                    condition: "== 0".into(),
                    actual: Some(3.0),
                    passed: false,
                },
            ],
        },
        latency: Latency {
            order_export: Distribution {
                count: 4_097,
                p50_ms: 2_300.0,
                p95_ms: 250_000.0,
                p99_ms: 412_000.0,
                max_ms: 655_000.0,
                mean_ms: 31_400.0,
            },
            stock_sync: Distribution {
                count: 9_400,
                p50_ms: 850.0,
                p95_ms: 96_000.0,
                p99_ms: 131_000.0,
                max_ms: 150_000.0,
                mean_ms: 12_100.0,
            },
            shipment_sync: Distribution {
                count: 3_950,
                p50_ms: 61_000.0,
                p95_ms: 185_000.0,
                p99_ms: 240_000.0,
                max_ms: 3_720_000.0,
                mean_ms: 74_000.0,
            },
            oldest_unexported_max_ms: 655_000.0,
            stock_consistency: StockConsistency {
                last_erp_stock_change_ms: Some(1_830_000),
                consistent_at_ms: Some(2_290_000),
                time_to_consistency_ms: Some(460_000.0),
            },
        },
        rate_limits: RateLimits {
            endpoints,
            throttled_429: 242,
            throttled_with_retry_after: 242,
            retry_after_violations: 57,
            server_errors_5xx: 48,
            peak_requests_per_second: 14.5,
            stock_updates_per_second: 9.8,
            stock_updates_ceiling_per_second: 12.0,
            ratio_429: 0.0346,
        },
        reconciliation: Reconciliation {
            shop_orders: 4_100,
            erp_orders: 4_159,
            missing_orders: 3,
            duplicated_orders: 62,
            orphaned_orders: 0,
            money_deltas: vec![
                MoneyDelta {
                    order_number: "SW10042".into(),
                    shop_gross: 119.0,
                    erp_gross: 118.99,
                    delta_gross: -0.01,
                    delta_net: -0.01,
                    delta_tax: BTreeMap::from([("19".to_string(), 0.0)]),
                    within_tolerance: true,
                },
                MoneyDelta {
                    order_number: "SW10077".into(),
                    shop_gross: 54.5,
                    erp_gross: 49.5,
                    delta_gross: -5.0,
                    delta_net: -4.2,
                    delta_tax: BTreeMap::from([("19".to_string(), -0.8), ("7".to_string(), 0.0)]),
                    within_tolerance: false,
                },
            ],
            orders_outside_tolerance: 1,
            total_delta_gross: -5.01,
            stock_mismatches: vec![
                StockMismatch {
                    sku: "SKU-00017".into(),
                    shopware: 4,
                    erp_available: 0,
                },
                StockMismatch {
                    sku: "SKU-00311-XL".into(),
                    shopware: 12,
                    erp_available: 9,
                },
            ],
            oversell_events: 5,
            oversold_units: 7,
            resurrected_units: 0,
            guests_merged: 2,
            exceptions: vec![
                ExceptionCount {
                    category: "order missing in ERP".into(),
                    owner: "operations".into(),
                    count: 3,
                },
                ExceptionCount {
                    category: "duplicate ERP order".into(),
                    owner: "operations".into(),
                    count: 62,
                },
                ExceptionCount {
                    category: "oversold closeout".into(),
                    owner: "ecommerce".into(),
                    count: 5,
                },
                ExceptionCount {
                    category: "gross outside tolerance".into(),
                    owner: "finance".into(),
                    count: 1,
                },
            ],
            tax_outside_tolerance: 1,
            stale_closeouts: vec!["SKU-00412".into()],
            shipments_out_of_sync: 1,
            shipment_gaps: vec![ShipmentGap {
                order_number: "SW10090".into(),
                erp_state: "shipped_partially".into(),
                shopware_state: "shipped".into(),
                missing_tracking: vec!["00340434161094000001".into()],
            }],
        },
        harness: Harness {
            wall_seconds: 61.2,
            achieved_speed: 58.8,
            scheduler_lag_p99_ms: 410.0,
            scheduler_lag_max_ms: 2_900.0,
            peak_rss_mib: 182.5,
            rows_on_disk_mib: 41.0,
            engine_tick_busy_p95_ms: 4.2,
            engine_tick_busy_max_ms: 31.0,
            warnings: vec![
                "scheduler lag reached 2.9 s of scenario time at 60x: latencies under 3 s are not trustworthy; \
                 rerun with --speed 30"
                    .into(),
            ],
        },
        timeline,
        diagnosis: Vec::new(),
    };
    report.diagnosis = crate::diagnose::diagnose(&crate::diagnose::RunFacts::from_report(&report));
    crate::diagnose::metric::explain_thresholds(&mut report);
    report
}

/// Compares rendered output with the committed snapshot `src/report/snapshots/<name>`
/// byte for byte (hyperfine snapshots its exporters the same way, with insta).
/// `SYNCTWIN_UPDATE_SNAPSHOTS=1 cargo test --lib report::` rewrites the snapshots;
/// review them with `git diff src/report/snapshots/`.
#[cfg(test)]
pub(crate) fn assert_snapshot(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/report/snapshots")
        .join(name);
    if std::env::var_os("SYNCTWIN_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().expect("snapshots have a folder")).expect("create snapshots/");
        std::fs::write(&path, actual).expect("write the snapshot");
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from the committed snapshot at line {}:\n  expected: {:?}\n  actual:   {:?}\n\
             If the change is intended, run `SYNCTWIN_UPDATE_SNAPSHOTS=1 cargo test --lib report::` and review \
             `git diff src/report/snapshots/`.\n--- actual ---\n{actual}",
            first + 1,
            expected.lines().nth(first).unwrap_or("<end>"),
            actual.lines().nth(first).unwrap_or("<end>"),
        );
    }
}
