//! Criterion benches of the report exporters (pure code): each format rendering the
//! sample report, and the same report with a peak-day-sized timeline (1,440 one-minute
//! points) and 100 listed money deltas and stock mismatches, the sizes a 24-hour run
//! reports.
//!
//! Run: `cargo bench --bench report`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use synctwin::report::model::{MoneyDelta, StockMismatch, TimelinePoint};
use synctwin::report::sample::sample_report;
use synctwin::report::{Format, RunReport};

fn peak_day() -> RunReport {
    let mut r = sample_report();
    r.timeline = (0..1_440u64)
        .map(|i| TimelinePoint {
            t_ms: i * 60_000,
            requests: 400 + i % 300,
            throttled: i % 17,
            orders_placed: 70,
            orders_exported: 69,
            backlog: i % 500,
            never_exported: i / 100,
            stock_lag_ms: (i % 90) as f64 * 1_000.0,
        })
        .collect();
    r.reconciliation.money_deltas = (0..100)
        .map(|i| MoneyDelta {
            order_number: format!("SW{i:06}"),
            shop_gross: 100.0,
            erp_gross: 99.0,
            delta_gross: -1.0,
            delta_net: -0.84,
            within_tolerance: false,
            ..MoneyDelta::default()
        })
        .collect();
    r.reconciliation.stock_mismatches = (0..100)
        .map(|i| StockMismatch {
            sku: format!("SKU-{i:05}"),
            shopware: 3,
            erp_available: 0,
        })
        .collect();
    r
}

fn render(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    for (size, report) in [("sample", sample_report()), ("peak_day", peak_day())] {
        for format in Format::ALL {
            let exporter = format.exporter(None);
            group.bench_with_input(BenchmarkId::new(format.name(), size), &report, |b, r| {
                b.iter(|| exporter.render(r).expect("renders"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
