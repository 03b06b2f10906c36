//! Reconciliation diff (`reconcile::reconcile`, pure): both sides' orders and
//! stock compared, at 10k, 100k and 1M orders over 50,000 SKUs. Target: 1M orders
//! in under 2 s (issue 6).
//!
//! The orders are seeded (ChaCha8): one or two tax rates, one to three SKUs each,
//! a quarter of them guests; on the ERP side 0.1 % missing, 0.05 % duplicated,
//! 0.1 % off by a few cents, and a few orphans. The same-run baseline is one pass
//! over both sides summing gross amounts: the floor of any diff that reads every
//! order once.
//!
//! Run: `cargo bench --bench reconcile`.

use std::collections::BTreeMap;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use synctwin::reconcile::{reconcile, ErpOrder, ShopOrder};

const SKUS: usize = 50_000;

type Fixture = (
    Vec<ShopOrder>,
    Vec<ErpOrder>,
    BTreeMap<String, i64>,
    BTreeMap<String, i64>,
);

fn fixture(n: usize) -> Fixture {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let mut shop = Vec::with_capacity(n);
    let mut erp = Vec::with_capacity(n);
    for i in 0..n {
        let number = format!("{}", 100_000 + i);
        let gross_cents: i64 = rng.gen_range(500..50_000);
        let reduced = rng.gen_bool(0.15);
        let net_cents = (gross_cents as f64 / if reduced { 1.07 } else { 1.19 }).round() as i64;
        let rate = if reduced { "7" } else { "19" };
        let guest = rng.gen_bool(0.25);
        let units: Vec<(String, i64)> = (0..rng.gen_range(1..=3))
            .map(|_| (format!("SW{}", 10_000 + rng.gen_range(0..SKUS)), rng.gen_range(1..4)))
            .collect();
        shop.push(ShopOrder {
            number: number.clone(),
            gross: gross_cents as f64 / 100.0,
            net: net_cents as f64 / 100.0,
            taxes: [(rate.to_string(), (gross_cents - net_cents) as f64 / 100.0)].into(),
            lines: units.len() + 1,
            cancelled: rng.gen_bool(0.01),
            guest,
            email: format!("c{}@example.com", rng.gen_range(0..n.max(1) / 2 + 1)),
            units,
        });
        if rng.gen_bool(0.001) {
            continue; // missing in the ERP
        }
        let off = if rng.gen_bool(0.001) { rng.gen_range(-9..10) } else { 0 };
        let order = ErpOrder {
            external_document_number: number,
            number: format!("S-{}", 200_000 + i),
            customer_number: if guest {
                format!("G{}", rng.gen_range(0..n.max(1)))
            } else {
                format!("C{}", rng.gen_range(0..10_000))
            },
            gross_cents: gross_cents + off,
            net_cents,
            taxes_cents: [(rate.to_string(), gross_cents + off - net_cents)].into(),
        };
        if rng.gen_bool(0.0005) {
            erp.push(order.clone()); // duplicated
        }
        erp.push(order);
    }
    for i in 0..(n / 10_000).max(1) {
        erp.push(ErpOrder {
            external_document_number: format!("X{i}"),
            number: format!("S-X{i}"),
            customer_number: "C0".into(),
            gross_cents: 100,
            net_cents: 84,
            taxes_cents: [("19".to_string(), 16)].into(),
        });
    }
    let available: BTreeMap<String, i64> = (0..SKUS)
        .map(|i| (format!("SW{}", 10_000 + i), rng.gen_range(0..200)))
        .collect();
    let shop_stock = available
        .iter()
        .map(|(k, v)| (k.clone(), if rng.gen_bool(0.01) { v + 1 } else { *v }))
        .collect();
    (shop, erp, shop_stock, available)
}

fn bench_reconcile(c: &mut Criterion) {
    let mut group = c.benchmark_group("reconcile");
    group.sample_size(10);
    for n in [10_000usize, 100_000, 1_000_000] {
        let (shop, erp, stock, available) = fixture(n);
        let r = reconcile(&shop, &erp, &stock, &available);
        assert!(r.missing_orders > 0 && r.duplicated_orders > 0 && r.orphaned_orders > 0);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("scan_baseline", n), &n, |b, _| {
            b.iter(|| {
                shop.iter().map(|o| (o.gross * 100.0) as i64).sum::<i64>()
                    + erp.iter().map(|o| o.gross_cents).sum::<i64>()
            })
        });
        group.bench_with_input(BenchmarkId::new("diff", n), &n, |b, _| {
            b.iter(|| reconcile(&shop, &erp, &stock, &available))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_reconcile);
criterion_main!(benches);
