//! Memory per order of what a long run keeps besides the Shopware store: the
//! observation log and the ERP twin's records.
//!
//! Counts live heap bytes with a counting global allocator (no sampling, no
//! timing) while it builds:
//! - a peak-day-shaped observation log for `ORDERS` orders (each placed with 3
//!   lines, its stock taken, exported with a new customer for a third of them,
//!   paid, shipped with tracking) plus a full-inventory push over `SKUS` SKUs,
//!   held twice: as the owned `Observation`s the twins build (what the log kept
//!   before it was packed) and as the packed `ObservationLog`;
//! - the ERP twin's state after `ORDERS` sales orders posted through its
//!   request handler with the reference engine's body (3 item lines), and after
//!   all of them shipped.
//!
//! Prints bytes per observation and per order, and the packed log's size as a
//! ratio of the owned one measured in the same run.
//!
//! Run: `cargo bench --bench run_memory` (ORDERS=N, SKUS=N to change sizes;
//! ONLY=erp or ONLY=log for one part, e.g. under a heap profiler).

use std::alloc::{GlobalAlloc, Layout, System as Sys};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use synctwin::clock::{ManualClock, SimTime};
use synctwin::observe::{Event, Observation, ObservationLog, SkuQty, System};
use synctwin::twin::erp::{Catalogue, ErpConfig, ErpProfile, ErpTwin};
use synctwin::twin::{Twin, TwinRequest};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        Sys.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        Sys.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        Sys.realloc(p, l, new)
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn sku(n: usize, skus: usize) -> String {
    format!("SW{}", 10_000 + n % skus)
}

/// The observations of a peak-day-shaped run, as the twins record them.
fn observations(orders: usize, skus: usize) -> Vec<Observation> {
    let mut out = Vec::new();
    let mut push = |s: f64, system, event| {
        out.push(Observation {
            at: SimTime::from_secs_f64(s),
            system,
            event,
        })
    };
    for n in 0..skus {
        let t = 3_600.0 + n as f64 * 0.006;
        push(
            t,
            System::Erp,
            Event::ErpStockMoved {
                sku: sku(n, skus),
                before: 10,
                after: 120,
                reason: "receipt".into(),
            },
        );
        push(
            t + 60.0,
            System::Shopware,
            Event::StockWritten {
                sku: sku(n, skus),
                before: 10,
                after: 120,
                via: "sync".into(),
                available: true,
            },
        );
    }
    for i in 0..orders {
        let t = i as f64 * 0.6;
        let number = (10_000 + i).to_string();
        let order_id = format!("{:032x}", (i as u128 + 1) * 0x9e37_79b9_7f4a_7c15_f39c);
        let lines: Vec<SkuQty> = (0..3)
            .map(|k| SkuQty {
                sku: sku(i * 7 + k * 13, skus),
                qty: 1 + k as i64,
            })
            .collect();
        push(
            t,
            System::Shopware,
            Event::OrderPlaced {
                order_id: order_id.clone(),
                order_number: number.clone(),
                guest: i % 3 == 0,
                lines: lines.clone(),
                gross: 99.5,
            },
        );
        for l in &lines {
            push(
                t,
                System::Shopware,
                Event::StockWritten {
                    sku: l.sku.clone(),
                    before: 50,
                    after: 50 - l.qty,
                    via: "order".into(),
                    available: true,
                },
            );
        }
        let customer = format!("C{:05}", 10 + (i / 3) * 10);
        if i % 3 == 0 {
            push(
                t + 30.0,
                System::Erp,
                Event::ErpCustomerCreated {
                    number: customer.clone(),
                    email: Some(format!("guest{i}@example.com")),
                },
            );
        }
        let erp_number = format!("S-ORD{}", 101_001 + i);
        push(
            t + 30.0,
            System::Erp,
            Event::ErpOrderCreated {
                number: erp_number.clone(),
                external_document_number: number.clone(),
                customer_number: customer,
                lines: lines.clone(),
                total_including_tax: 99.5,
            },
        );
        push(
            t + 40.0,
            System::Shopware,
            Event::StateChanged {
                entity: "order_transaction".into(),
                id: format!("{:032x}", i as u128 * 31 + 7),
                order_number: Some(number.clone()),
                transition: "paid".into(),
                from: "open".into(),
                to: "paid".into(),
            },
        );
        let tracking = format!("1Z{:016}", i);
        push(
            t + 3_600.0,
            System::Erp,
            Event::ErpShipmentPosted {
                number: format!("S-SHPT{}", 102_001 + i),
                external_document_number: number.clone(),
                tracking_number: Some(tracking.clone()),
                lines: lines.clone(),
            },
        );
        for l in &lines {
            push(
                t + 3_600.0,
                System::Erp,
                Event::ErpStockMoved {
                    sku: l.sku.clone(),
                    before: 100,
                    after: 100 - l.qty,
                    reason: format!("shipment S-SHPT{}", 102_001 + i),
                },
            );
        }
        let delivery = format!("{:032x}", i as u128 * 17 + 3);
        push(
            t + 3_700.0,
            System::Shopware,
            Event::TrackingSet {
                delivery_id: delivery.clone(),
                order_number: Some(number.clone()),
                codes: vec![tracking],
            },
        );
        push(
            t + 3_700.0,
            System::Shopware,
            Event::StateChanged {
                entity: "order_delivery".into(),
                id: delivery,
                order_number: Some(number),
                transition: "ship".into(),
                from: "open".into(),
                to: "shipped".into(),
            },
        );
    }
    out
}

fn request(method: &str, path: &str, token: Option<&str>, body: Vec<u8>, ctype: &str) -> TwinRequest {
    TwinRequest::local(method.parse().unwrap(), path, body)
        .with_bearer(token)
        .with_header("content-type", ctype)
}

/// Bytes the ERP twin holds per sales order, and per order once shipped.
fn erp_per_order(orders: usize, skus: usize) -> (f64, f64) {
    let clock = ManualClock::new();
    let mut cfg = ErpConfig::new(ErpProfile::business_central(), 7);
    cfg.catalogue = Catalogue::Generated { items: skus };
    cfg.client_id = Some("client".into());
    cfg.client_secret = Some("secret".into());
    let twin = ErpTwin::new(cfg, Arc::new(clock.clone()), ObservationLog::bounded(1)).unwrap();
    let token = || {
        let r = twin.handle(request(
            "POST",
            "/oauth/token",
            None,
            b"grant_type=client_credentials&client_id=client&client_secret=secret".to_vec(),
            "application/x-www-form-urlencoded",
        ));
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        v["access_token"].as_str().unwrap().to_string()
    };
    let mut tok = token();
    let items: Vec<(String, String)> = twin.with_state(|s| {
        s.items
            .values()
            .filter(|i| i.item_type.as_str() == "Inventory")
            .map(|i| (i.number.clone(), i.tax_code.clone()))
            .collect()
    });
    let path = format!("{}/salesOrders", twin.api_base());
    let before = live();
    for i in 0..orders {
        if i % 1_000 == 999 {
            // Tokens expire after an hour of scenario time.
            tok = token();
        }
        let lines: Vec<Value> = (0..3)
            .map(|k| {
                let (number, tax) = &items[(i * 7 + k * 13) % items.len()];
                json!({"lineType": "Item", "lineObjectNumber": number, "description": format!("Product {number} in blue"),
                       "quantity": 1, "unitPrice": 19.99, "taxCode": tax})
            })
            .collect();
        let body = json!({"externalDocumentNumber": (10_000 + i).to_string(), "customerNumber": "C00010", "salesOrderLines": lines});
        let r = twin.handle(request(
            "POST",
            &path,
            Some(&tok),
            body.to_string().into_bytes(),
            "application/json",
        ));
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        clock.advance(Duration::from_millis(600));
    }
    let placed = live() - before;
    clock.advance(Duration::from_secs(30 * 86_400));
    let shipments = twin.with_state(|s| s.shipments.len());
    let shipped = live() - before;
    eprintln!("  ERP: {orders} orders, {shipments} shipments posted");
    (placed as f64 / orders as f64, shipped as f64 / orders as f64)
}

fn main() {
    let orders = env("ORDERS", 20_000);
    let skus = env("SKUS", 50_000);
    let only = std::env::var("ONLY").unwrap_or_default();
    if only != "erp" {
        log_per_order(orders, skus);
    }
    if only != "log" {
        let (placed, shipped) = erp_per_order(orders, skus.min(5_000));
        println!("ERP twin: {placed:.0} B/order held after posting, {shipped:.0} B/order once shipped");
    }
}

fn log_per_order(orders: usize, skus: usize) {
    let base = live();
    let owned: std::collections::VecDeque<Observation> = observations(orders, skus).into();
    let owned_bytes = live() - base;
    let n = owned.len();
    let base = live();
    let log = ObservationLog::new();
    for o in observations(orders, skus) {
        log.record(o.at, o.system, o.event);
    }
    let packed_bytes = live() - base;
    let packed = log.take();
    assert_eq!(packed.len(), n);
    assert!(packed.iter().zip(&owned).all(|(p, o)| p.to_owned() == *o));
    drop(owned);
    println!("observation log: {orders} orders + {skus}-SKU push = {n} observations");
    println!(
        "  owned (VecDeque<Observation>): {:>7.1} B/observation, {:>7.0} B/order",
        owned_bytes as f64 / n as f64,
        owned_bytes as f64 / orders as f64
    );
    println!(
        "  packed (ObservationLog):        {:>7.1} B/observation, {:>7.0} B/order ({} distinct strings)",
        packed_bytes as f64 / n as f64,
        packed_bytes as f64 / orders as f64,
        packed.distinct_strings()
    );
    println!("  packed / owned: {:.3}", packed_bytes as f64 / owned_bytes as f64);
}
