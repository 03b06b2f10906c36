//! Inventory sync against in-memory fakes.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use super::*;
use crate::engine::mapping::OrderDraft;
use crate::engine::ports::{ErpItem, Shown};

#[derive(Default)]
struct FakeShop {
    stock: Mutex<BTreeMap<String, i64>>,
    /// SKUs Shopware does not know (a 400 with a pointer).
    unknown: Vec<String>,
    /// Answer this many requests with 429 first.
    throttle: Mutex<u32>,
    /// Orders Shopware holds (what search_orders returns).
    orders: Vec<Value>,
    /// Orders placed once the first stock write has landed.
    placed_during_push: Vec<Value>,
    requests: Mutex<u32>,
    /// Stock reads (`stock_of`).
    reads: Mutex<u32>,
    /// Answer stock reads with 503.
    reads_fail: bool,
    /// Closeouts shown sold out whatever their stock (availability not recomputed).
    sold_out: Vec<String>,
}

impl ShopApi for FakeShop {
    async fn search_orders(&self, _: &Value) -> Result<Vec<Value>, CallError> {
        let mut out = self.orders.clone();
        if *self.requests.lock().unwrap() > 0 {
            out.extend(self.placed_during_push.iter().cloned());
        }
        Ok(out)
    }
    async fn push_stock(&self, op: &str, batch: &[(String, i64)], _: Option<&str>) -> Result<(), CallError> {
        *self.requests.lock().unwrap() += 1;
        {
            let mut t = self.throttle.lock().unwrap();
            if *t > 0 {
                *t -= 1;
                return Err(CallError::Status {
                    endpoint: "sync".into(),
                    status: 429,
                    retry_after: Some(Duration::from_secs(2)),
                    body: Value::Null,
                    summary: String::new(),
                });
            }
        }
        let errors: Vec<Value> = batch
            .iter()
            .enumerate()
            .filter(|(_, (sku, _))| self.unknown.contains(sku))
            .map(|(i, _)| json!({"code": "FRAMEWORK__API_INVALID_SYNC_RESOLVERS", "source": {"pointer": format!("/{op}/{i}/id")}}))
            .collect();
        if !errors.is_empty() {
            return Err(CallError::Status {
                endpoint: "sync".into(),
                status: 400,
                retry_after: None,
                body: json!({"errors": errors}),
                summary: String::new(),
            });
        }
        let mut s = self.stock.lock().unwrap();
        for (sku, v) in batch {
            s.insert(sku.clone(), *v);
        }
        Ok(())
    }
    async fn patch_stock(&self, sku: &str, stock: i64) -> Result<(), CallError> {
        *self.requests.lock().unwrap() += 1;
        self.stock.lock().unwrap().insert(sku.into(), stock);
        Ok(())
    }
    async fn delivery_of(&self, _: &str) -> Result<Option<crate::engine::ports::DeliveryRef>, CallError> {
        Ok(None)
    }
    async fn set_tracking(&self, _: &str, _: &[String]) -> Result<(), CallError> {
        Ok(())
    }
    async fn transition(&self, _: &str, _: &str, _: &str) -> Result<String, CallError> {
        Ok(String::new())
    }
    async fn stale_closeouts(&self) -> Result<Vec<(String, i64)>, CallError> {
        Ok(Vec::new())
    }
    async fn stock_of(&self, skus: &[String]) -> Result<Vec<(String, Shown)>, CallError> {
        *self.reads.lock().unwrap() += 1;
        if self.reads_fail {
            return Err(CallError::Status {
                endpoint: "search/product".into(),
                status: 503,
                retry_after: None,
                body: Value::Null,
                summary: String::new(),
            });
        }
        let s = self.stock.lock().unwrap();
        let shown = |k: &String| {
            let stock = *s.get(k)?;
            let available = !self.sold_out.contains(k) || stock == 0;
            Some((k.clone(), Shown { stock, available }))
        };
        Ok(skus.iter().filter_map(shown).collect())
    }
}

struct FakeErp {
    items: Vec<ErpItem>,
}

impl ErpApi for FakeErp {
    async fn shipments_since(&self, _: Option<&str>) -> Result<Vec<crate::engine::ports::Shipment>, CallError> {
        Ok(Vec::new())
    }
    async fn find_order(&self, _: &str) -> Result<Option<String>, CallError> {
        Ok(None)
    }
    async fn create_order(&self, _: &OrderDraft) -> Result<String, CallError> {
        Ok(String::new())
    }
    async fn items_since(&self, since: Option<&str>) -> Result<Vec<ErpItem>, CallError> {
        Ok(self
            .items
            .iter()
            .filter(|i| since.is_none_or(|s| i.modified.as_str() > s))
            .cloned()
            .collect())
    }
}

struct NoPause;
impl Pause for NoPause {
    async fn pause(&self, _: Duration) {}
}

fn item(n: u32, on_hand: i64, available: i64, minute: u32) -> ErpItem {
    ErpItem {
        number: format!("SW{n}"),
        inventory: true,
        on_hand,
        available,
        modified: format!("2026-11-27T10:{minute:02}:00Z"),
    }
}

async fn pass(
    shop: &FakeShop,
    erp: &FakeErp,
    state: &EngineState,
    cfg: &InventoryConfig,
    full: bool,
) -> InventoryReport {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    inventory_once(shop, erp, &NoPause, state, cfg, &RetryPolicy::default(), &mut rng, full)
        .await
        .unwrap()
}

#[tokio::test]
async fn safe_policy_subtracts_unacknowledged_orders_and_naive_resurrects_them() {
    let erp = FakeErp {
        items: vec![item(1, 10, 8, 0), item(2, 5, 5, 0)],
    };
    let state = EngineState::in_memory().unwrap();
    // Shopware sold 3 × SW1 in an order the ERP has not acknowledged yet.
    state.begin("10001", "o1", &[("SW1".into(), 3)]).unwrap();
    let shop = FakeShop::default();
    pass(&shop, &erp, &state, &InventoryConfig::default(), true).await;
    assert_eq!(shop.stock.lock().unwrap()["SW1"], 5);
    let naive = InventoryConfig {
        policy: StockPolicy::OnHand,
        ..Default::default()
    };
    let shop = FakeShop::default();
    pass(&shop, &erp, &state, &naive, true).await;
    assert_eq!(
        shop.stock.lock().unwrap()["SW1"],
        10,
        "on hand puts the 3 sold units (and 2 reserved) back"
    );
}

#[tokio::test]
async fn orders_placed_since_the_last_export_are_subtracted_too() {
    let erp = FakeErp {
        items: vec![item(1, 10, 10, 0)],
    };
    let state = EngineState::in_memory().unwrap();
    // One order already in the outbox (pending), one the export has not seen yet.
    state.begin("10001", "o1", &[("SW1".into(), 2)]).unwrap();
    let line = |qty: i64| json!({"type": "product", "quantity": qty, "payload": {"productNumber": "SW1"}});
    let shop = FakeShop {
        orders: vec![
            json!({"orderNumber": "10001", "lineItems": [line(2)]}),
            json!({"orderNumber": "10002", "lineItems": [line(3)]}),
        ],
        ..Default::default()
    };
    pass(&shop, &erp, &state, &InventoryConfig::default(), true).await;
    assert_eq!(
        shop.stock.lock().unwrap()["SW1"],
        5,
        "10 available - 2 pending - 3 not yet exported"
    );
}

#[tokio::test]
async fn an_order_placed_while_earlier_batches_are_pushed_counts_in_the_later_ones() {
    let erp = FakeErp {
        items: vec![item(1, 10, 10, 0), item(2, 10, 10, 0)],
    };
    let state = EngineState::in_memory().unwrap();
    let line = |sku: &str, qty: i64| json!({"type": "product", "quantity": qty, "payload": {"productNumber": sku}});
    // 4 × SW2 sold after SW1's batch went out, before SW2's.
    let shop = FakeShop {
        placed_during_push: vec![
            json!({"orderNumber": "10003", "createdAt": "2026-11-27T10:01:00.000+00:00", "lineItems": [line("SW2", 4)]}),
        ],
        ..Default::default()
    };
    let cfg = InventoryConfig {
        batch_size: 1,
        concurrency: 1,
        ..Default::default()
    };
    pass(&shop, &erp, &state, &cfg, true).await;
    let stock = shop.stock.lock().unwrap();
    assert_eq!(
        (stock["SW1"], stock["SW2"]),
        (10, 6),
        "SW2's figure is taken after the order"
    );
    // Remembered until the export takes it: the next pass counts it without reading it again.
    assert_eq!(state.seen_count().unwrap(), 1);
    assert_eq!(
        state.get_kv(SEEN_CURSOR).unwrap().as_deref(),
        Some("2026-11-27T10:01:00.000+00:00")
    );
}

#[tokio::test]
async fn batches_isolate_unknown_skus_and_retry_the_rest() {
    let erp = FakeErp {
        items: (0..10).map(|n| item(n, 4, 4, 0)).collect(),
    };
    let shop = FakeShop {
        unknown: vec!["SW3".into(), "SW7".into()],
        ..Default::default()
    };
    let state = EngineState::in_memory().unwrap();
    let cfg = InventoryConfig {
        batch_size: 5,
        ..Default::default()
    };
    let r = pass(&shop, &erp, &state, &cfg, true).await;
    assert_eq!((r.pushed, r.rejected), (8, 2));
    assert_eq!(r.requests, 4, "two batches, each resent once without its bad record");
    let ex = state.exceptions(false).unwrap();
    assert_eq!(
        ex.iter().map(|e| e.subject.as_str()).collect::<Vec<_>>(),
        vec!["SW3", "SW7"]
    );
    assert!(ex.iter().all(|e| e.owner == Owner::Ecommerce));
}

#[tokio::test]
async fn throttling_is_retried_with_retry_after_and_deltas_only_send_changes() {
    let erp = FakeErp {
        items: vec![item(1, 1, 1, 0), item(2, 2, 2, 5)],
    };
    let shop = FakeShop {
        throttle: Mutex::new(2),
        ..Default::default()
    };
    let state = EngineState::in_memory().unwrap();
    let r = pass(&shop, &erp, &state, &InventoryConfig::default(), false).await;
    assert_eq!((r.pushed, r.retries, r.honoured_retry_after), (2, 2, 2));
    // The next delta sees nothing new.
    let r = pass(&shop, &erp, &state, &InventoryConfig::default(), false).await;
    assert_eq!((r.items_read, r.requests), (0, 0));
}

#[tokio::test]
async fn per_sku_patch_costs_one_request_per_sku() {
    let erp = FakeErp {
        items: (0..50).map(|n| item(n, 1, 1, 0)).collect(),
    };
    let state = EngineState::in_memory().unwrap();
    let batched = FakeShop::default();
    let r = pass(&batched, &erp, &state, &InventoryConfig::default(), true).await;
    assert_eq!(r.requests, 1);
    let patched = FakeShop::default();
    let cfg = InventoryConfig {
        strategy: PushStrategy::PerSkuPatch,
        concurrency: 4,
        ..Default::default()
    };
    let r = pass(&patched, &erp, &state, &cfg, true).await;
    assert_eq!((r.requests, r.pushed), (50, 50));
    assert_eq!(*patched.stock.lock().unwrap(), *batched.stock.lock().unwrap());
}

#[tokio::test]
async fn skus_that_already_show_their_figure_and_took_no_order_are_not_written() {
    let erp = FakeErp {
        items: vec![item(1, 10, 10, 0), item(2, 8, 8, 0), item(3, 4, 4, 0), item(4, 7, 7, 0)],
    };
    let line = |qty: i64| json!({"type": "product", "quantity": qty, "payload": {"productNumber": "SW1"}});
    let shop = || FakeShop {
        // SW1 shows its figure (10 - 2), but the order read after the stock may
        // have been placed after it; SW2 shows an old figure; Shopware does not
        // show SW3; SW4 shows its figure.
        stock: Mutex::new(BTreeMap::from([
            ("SW1".into(), 8),
            ("SW2".into(), 5),
            ("SW4".into(), 7),
        ])),
        orders: vec![
            json!({"orderNumber": "10001", "createdAt": "2026-11-27T10:01:00.000+00:00", "lineItems": [line(2)]}),
        ],
        ..Default::default()
    };
    let careful = shop();
    let r = pass(
        &careful,
        &erp,
        &EngineState::in_memory().unwrap(),
        &InventoryConfig::default(),
        false,
    )
    .await;
    assert_eq!((r.pushed, r.unchanged, r.requests), (3, 1, 1));
    assert_eq!(*careful.reads.lock().unwrap(), 1, "one stock read for the wave");
    let stock = careful.stock.lock().unwrap().clone();
    assert_eq!(
        stock,
        BTreeMap::from([
            ("SW1".into(), 8),
            ("SW2".into(), 8),
            ("SW3".into(), 4),
            ("SW4".into(), 7)
        ])
    );

    // A closeout with stock that Shopware shows sold out is written again: the
    // write recomputes its availability.
    let stale = FakeShop {
        sold_out: vec!["SW4".into()],
        ..shop()
    };
    let r = pass(
        &stale,
        &erp,
        &EngineState::in_memory().unwrap(),
        &InventoryConfig::default(),
        true,
    )
    .await;
    assert_eq!((r.pushed, r.unchanged), (4, 0), "SW4 shows 7 but cannot be bought");

    let naive = shop();
    let cfg = InventoryConfig {
        skip_unchanged: false,
        ..Default::default()
    };
    let r = pass(&naive, &erp, &EngineState::in_memory().unwrap(), &cfg, false).await;
    assert_eq!((r.pushed, r.unchanged), (4, 0));
    assert_eq!(*naive.reads.lock().unwrap(), 0);
    assert_eq!(*naive.stock.lock().unwrap(), stock, "the same figures, one more write");
}

#[tokio::test]
async fn when_the_stock_cannot_be_read_every_sku_is_written() {
    let erp = FakeErp {
        items: vec![item(1, 3, 3, 0), item(2, 6, 6, 0)],
    };
    let shop = FakeShop {
        stock: Mutex::new(BTreeMap::from([("SW1".into(), 3), ("SW2".into(), 6)])),
        reads_fail: true,
        ..Default::default()
    };
    let r = pass(
        &shop,
        &erp,
        &EngineState::in_memory().unwrap(),
        &InventoryConfig::default(),
        false,
    )
    .await;
    assert_eq!((r.pushed, r.unchanged), (2, 0));
    assert!(*shop.reads.lock().unwrap() > 1, "the read was retried before giving up");
}

#[tokio::test]
async fn a_sku_whose_on_hand_moved_since_its_last_push_is_written_without_a_look() {
    let state = EngineState::in_memory().unwrap();
    let shop = FakeShop::default();
    let erp = FakeErp {
        items: vec![item(1, 10, 10, 0), item(2, 6, 6, 0)],
    };
    // The first pass knows no pushes: both SKUs are looked up (Shopware shows neither) and written.
    let r = pass(&shop, &erp, &state, &InventoryConfig::default(), false).await;
    assert_eq!((r.pushed, *shop.reads.lock().unwrap()), (2, 1));
    // A receipt moves SW1's on hand; an order the ERP took moves SW2's reservations only.
    let erp = FakeErp {
        items: vec![item(1, 13, 13, 1), item(2, 6, 5, 1)],
    };
    shop.stock.lock().unwrap().insert("SW2".into(), 5);
    let r = pass(&shop, &erp, &state, &InventoryConfig::default(), false).await;
    assert_eq!((r.pushed, r.unchanged), (1, 1), "SW1 written, SW2 already shows 5");
    assert_eq!(*shop.reads.lock().unwrap(), 2, "one look, for SW2 only");
    assert_eq!(shop.stock.lock().unwrap()["SW1"], 13);
}
