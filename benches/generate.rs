//! Trace generation throughput: events per second of `scenario::generate` on the
//! default scenario's catalogue, with the order rate raised to give 10k and 100k
//! orders in one scenario hour, and 1M (the issue 6 target: under 10 s); output to a
//! sink (serialising included).
//!
//! Run: `cargo bench --bench generate`.

use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use synctwin::scenario::{self, catalogue, generate};

fn bench_generate(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/default.toml");
    let base = scenario::load(&path).expect("scenarios/default.toml loads");
    let cat = catalogue::build(&base);
    let mut group = c.benchmark_group("generate");
    group.sample_size(10);
    for orders in [10_000u64, 100_000, 1_000_000] {
        let mut plan = base.clone();
        plan.phases.truncate(1);
        plan.phases[0].start = std::time::Duration::ZERO;
        plan.phases[0].end = plan.duration;
        plan.phases[0].orders_per_hour = orders as f64 * 3600.0 / plan.duration.as_secs_f64();
        // Throughput in trace events (orders, cancellations, ERP receipts and adjustments).
        let summary = generate::generate(&plan, &cat, &mut std::io::sink()).expect("a sink never fails");
        eprintln!(
            "generate/orders/{orders}: {} events ({} orders, {} cancellations, {} ERP events)",
            summary.events,
            summary.orders,
            summary.cancels,
            summary.erp_receipts + summary.erp_adjustments
        );
        group.throughput(Throughput::Elements(summary.events));
        group.bench_with_input(BenchmarkId::new("orders", orders), &plan, |b, plan| {
            b.iter(|| generate::generate(plan, &cat, &mut std::io::sink()).expect("a sink never fails"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_generate);
criterion_main!(benches);
