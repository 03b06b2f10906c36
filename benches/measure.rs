//! HDR recording (`measure`): recording latencies into the 3-significant-figure
//! histogram every latency of a report goes through, reading its percentiles, and
//! measuring a whole run's observations (orders placed and exported, stock moved
//! and written) into latencies and a timeline.
//!
//! Same-run baseline for recording: pushing the same values into a `Vec<u64>`
//! (what keeping every sample would cost, before any sorting for percentiles).
//!
//! Run: `cargo bench --bench measure`.

use std::collections::BTreeMap;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use synctwin::clock::SimTime;
use synctwin::measure::{measure, Recorder};
use synctwin::observe::{Event, Observation, Observations, SkuQty, System};

fn latencies(n: usize) -> Vec<Duration> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    // Mostly seconds, a long tail to an hour (scenario time).
    (0..n)
        .map(|_| {
            let base: f64 = rng.gen_range(0.2..30.0);
            let tail = if rng.gen_bool(0.02) {
                rng.gen_range(60.0..3600.0)
            } else {
                0.0
            };
            Duration::from_secs_f64(base + tail)
        })
        .collect()
}

/// A run's observations: `orders` placed and exported, with stock moves and pushes.
fn observations(orders: usize) -> Vec<Observation> {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut obs = Vec::with_capacity(orders * 4);
    for i in 0..orders {
        let placed = i as f64 * 0.5;
        let number = format!("{}", 10_000 + i);
        let sku = format!("SW{}", 10_000 + rng.gen_range(0..5_000));
        obs.push(Observation {
            at: SimTime::from_secs_f64(placed),
            system: System::Shopware,
            event: Event::OrderPlaced {
                order_id: number.clone(),
                order_number: number.clone(),
                guest: false,
                lines: vec![SkuQty {
                    sku: sku.clone(),
                    qty: 1,
                }],
                gross: 10.0,
            },
        });
        obs.push(Observation {
            at: SimTime::from_secs_f64(placed + rng.gen_range(5.0..120.0)),
            system: System::Erp,
            event: Event::ErpOrderCreated {
                number: format!("S-{number}"),
                external_document_number: number,
                customer_number: "C1".into(),
                lines: vec![SkuQty {
                    sku: sku.clone(),
                    qty: 1,
                }],
                total_including_tax: 10.0,
            },
        });
        obs.push(Observation {
            at: SimTime::from_secs_f64(placed + 1.0),
            system: System::Erp,
            event: Event::ErpStockMoved {
                sku: sku.clone(),
                before: 10,
                after: 20,
                reason: "receipt".into(),
            },
        });
        obs.push(Observation {
            at: SimTime::from_secs_f64(placed + rng.gen_range(2.0..300.0)),
            system: System::Shopware,
            event: Event::StockWritten {
                sku,
                before: 10,
                after: 20,
                via: "sync".into(),
                available: true,
            },
        });
    }
    obs
}

fn bench_hdr(c: &mut Criterion) {
    let mut group = c.benchmark_group("hdr");
    for n in [100_000usize, 1_000_000] {
        let values = latencies(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("vec_push_baseline", n), &values, |b, v| {
            b.iter(|| {
                let mut out = Vec::with_capacity(v.len());
                for d in v {
                    out.push(d.as_millis() as u64);
                }
                out
            })
        });
        group.bench_with_input(BenchmarkId::new("record", n), &values, |b, v| {
            b.iter(|| {
                let mut r = Recorder::default();
                for d in v {
                    r.record(*d);
                }
                r
            })
        });
    }
    let mut r = Recorder::default();
    for d in latencies(1_000_000) {
        r.record(d);
    }
    group.throughput(Throughput::Elements(1));
    group.bench_function("percentiles", |b| b.iter(|| r.distribution()));
    group.finish();

    let mut group = c.benchmark_group("measure");
    group.sample_size(10);
    for orders in [10_000usize, 100_000] {
        let obs: Observations = observations(orders).into();
        let end = SimTime::from_secs_f64(orders as f64 * 0.5 + 600.0);
        // Every SKU followed for its sellable stock, as in a run.
        let initial: BTreeMap<String, i64> = (0..5_000).map(|i| (format!("SW{}", 10_000 + i), 20)).collect();
        group.throughput(Throughput::Elements(obs.len() as u64));
        group.bench_with_input(BenchmarkId::new("observations", obs.len()), &obs, |b, obs| {
            b.iter(|| measure(obs, end, Duration::from_secs(60), &initial))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_hdr);
criterion_main!(benches);
