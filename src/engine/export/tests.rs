//! Order export against in-memory fakes: no sockets, no sleeps.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use super::*;
use crate::engine::mapping::OrderDraft;

struct FakeShop {
    orders: Vec<Value>,
}

impl ShopApi for FakeShop {
    async fn push_stock(&self, _: &str, _: &[(String, i64)], _: Option<&str>) -> Result<(), CallError> {
        Ok(())
    }
    async fn patch_stock(&self, _: &str, _: i64) -> Result<(), CallError> {
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
    async fn stock_of(&self, _: &[String]) -> Result<Vec<(String, crate::engine::ports::Shown)>, CallError> {
        Ok(Vec::new())
    }
    async fn search_orders(&self, c: &Value) -> Result<Vec<Value>, CallError> {
        if let Some(ids) = c.get("ids").and_then(Value::as_array) {
            return Ok(self.orders.iter().filter(|o| ids.contains(&o["id"])).cloned().collect());
        }
        let from = c
            .pointer("/filter/0/parameters/gte")
            .and_then(Value::as_str)
            .unwrap_or("");
        let mut rows: Vec<Value> = self
            .orders
            .iter()
            .filter(|o| o["createdAt"].as_str().unwrap() >= from)
            .cloned()
            .collect();
        rows.sort_by(|a, b| {
            (a["createdAt"].as_str(), a["id"].as_str()).cmp(&(b["createdAt"].as_str(), b["id"].as_str()))
        });
        let limit = c["limit"].as_u64().unwrap() as usize;
        let page = c["page"].as_u64().unwrap_or(1) as usize;
        Ok(rows.into_iter().skip((page - 1) * limit).take(limit).collect())
    }
}

/// How the fake ERP answers the next create.
#[derive(Debug, Clone)]
enum Next {
    Ok,
    /// Commits, then the answer is lost.
    CommitThenTimeout,
    Reject(&'static str),
    Throttle(u64),
}

#[derive(Default)]
struct FakeErp {
    orders: Mutex<Vec<(String, String)>>,
    script: Mutex<VecDeque<Next>>,
    lookups: Mutex<u32>,
}

impl FakeErp {
    fn scripted(s: &[Next]) -> Self {
        FakeErp {
            script: Mutex::new(s.iter().cloned().collect()),
            ..Default::default()
        }
    }
    fn count(&self, ext: &str) -> usize {
        self.orders.lock().unwrap().iter().filter(|(e, _)| e == ext).count()
    }
}

fn status(status: u16, body: Value, retry_after: Option<u64>) -> CallError {
    CallError::Status {
        endpoint: "POST salesOrders".into(),
        status,
        retry_after: retry_after.map(Duration::from_secs),
        body,
        summary: String::new(),
    }
}

impl ErpApi for FakeErp {
    async fn items_since(&self, _: Option<&str>) -> Result<Vec<crate::engine::ports::ErpItem>, CallError> {
        Ok(Vec::new())
    }
    async fn shipments_since(&self, _: Option<&str>) -> Result<Vec<crate::engine::ports::Shipment>, CallError> {
        Ok(Vec::new())
    }
    async fn find_order(&self, ext: &str) -> Result<Option<String>, CallError> {
        *self.lookups.lock().unwrap() += 1;
        Ok(self
            .orders
            .lock()
            .unwrap()
            .iter()
            .find(|(e, _)| e == ext)
            .map(|(_, n)| n.clone()))
    }
    async fn create_order(&self, d: &OrderDraft) -> Result<String, CallError> {
        let next = self.script.lock().unwrap().pop_front().unwrap_or(Next::Ok);
        let mut orders = self.orders.lock().unwrap();
        let number = format!("S-ORD{}", 101_000 + orders.len());
        match next {
            Next::Ok => {
                orders.push((d.external_document_number.clone(), number.clone()));
                Ok(number)
            }
            Next::CommitThenTimeout => {
                orders.push((d.external_document_number.clone(), number));
                Err(CallError::NoAnswer {
                    endpoint: "POST salesOrders".into(),
                    reason: "timed out".into(),
                })
            }
            Next::Reject(code) => Err(status(400, json!({"error": {"code": code, "message": "x"}}), None)),
            Next::Throttle(secs) => Err(status(429, json!({"error": {"code": "TooManyRequests"}}), Some(secs))),
        }
    }
}

#[derive(Default)]
struct RecordPause(Mutex<Vec<Duration>>);

impl Pause for RecordPause {
    async fn pause(&self, d: Duration) {
        self.0.lock().unwrap().push(d);
    }
}

fn order(i: u32, sku: &str) -> Value {
    json!({
        "id": format!("{i:032x}"), "orderNumber": format!("{}", 10000 + i), "taxStatus": "gross", "amountTotal": 10.0,
        "createdAt": format!("2026-11-27T10:00:{:02}.000+00:00", i),
        "orderCustomer": {"email": format!("c{i}@example.com"), "firstName": "C", "lastName": "X"},
        "lineItems": [{"id": "l", "type": "product", "label": "P", "quantity": 1, "unitPrice": 10.0, "totalPrice": 10.0,
            "payload": {"productNumber": sku}, "price": {"taxRules": [{"taxRate": 19.0}]}}]
    })
}

async fn run(shop: &FakeShop, erp: &FakeErp, state: &EngineState, cfg: &ExportConfig) -> (ExportReport, Vec<Duration>) {
    let pause = RecordPause::default();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let r = export_once(
        shop,
        erp,
        &pause,
        state,
        cfg,
        &MappingConfig::default(),
        &RetryPolicy::default(),
        &mut rng,
    )
    .await
    .unwrap();
    (r, pause.0.into_inner().unwrap())
}

#[tokio::test]
async fn commit_then_timeout_creates_once_with_lookup_and_twice_without() {
    let shop = FakeShop {
        orders: vec![order(1, "SW1")],
    };
    let careful = FakeErp::scripted(&[Next::CommitThenTimeout]);
    let (r, _) = run(
        &shop,
        &careful,
        &EngineState::in_memory().unwrap(),
        &ExportConfig::default(),
    )
    .await;
    assert_eq!(
        careful.count("10001"),
        1,
        "the lookup after the timeout finds the committed order"
    );
    assert_eq!((r.created, r.found, r.retries), (0, 1, 1));

    let naive_cfg = ExportConfig {
        lookup_before_create: false,
        ..Default::default()
    };
    let naive = FakeErp::scripted(&[Next::CommitThenTimeout]);
    run(&shop, &naive, &EngineState::in_memory().unwrap(), &naive_cfg).await;
    assert_eq!(
        naive.count("10001"),
        2,
        "without a lookup the retry duplicates the order"
    );
}

#[tokio::test]
async fn rejected_and_unmappable_orders_never_block_the_ones_behind() {
    let mut o2 = order(2, "SW2");
    o2["lineItems"][0]["price"]["taxRules"][0]["taxRate"] = json!(5.5);
    let shop = FakeShop {
        orders: vec![order(1, "SW-NOPE"), o2, order(3, "SW3")],
    };
    let erp = FakeErp::scripted(&[Next::Reject("Internal_InvalidTableRelation")]);
    let state = EngineState::in_memory().unwrap();
    let (r, _) = run(&shop, &erp, &state, &ExportConfig::default()).await;
    assert_eq!((r.read, r.created, r.exceptions), (3, 1, 2));
    assert_eq!(erp.count("10003"), 1);
    let ex = state.exceptions(false).unwrap();
    let got: Vec<(&str, &str, Owner)> = ex
        .iter()
        .map(|e| (e.subject.as_str(), e.category.as_str(), e.owner))
        .collect();
    assert_eq!(
        got,
        vec![
            ("10001", "unmapped_sku", Owner::Operations),
            ("10002", "unmapped_tax_rate", Owner::Finance)
        ]
    );
}

#[tokio::test]
async fn retry_after_is_honoured_and_passes_do_not_export_twice() {
    let shop = FakeShop {
        orders: vec![order(1, "SW1"), order(2, "SW2")],
    };
    let erp = FakeErp::scripted(&[Next::Throttle(7), Next::Throttle(3)]);
    let state = EngineState::in_memory().unwrap();
    let (r, waits) = run(&shop, &erp, &state, &ExportConfig::default()).await;
    assert_eq!(waits, vec![Duration::from_secs(7), Duration::from_secs(3)]);
    assert_eq!((r.created, r.honoured_retry_after), (2, 2));
    let (again, _) = run(&shop, &erp, &state, &ExportConfig::default()).await;
    assert_eq!(
        (again.read, again.created),
        (2, 0),
        "the overlap re-reads both, the watermark skips them"
    );
    assert_eq!(erp.count("10001") + erp.count("10002"), 2);
}

#[tokio::test]
async fn an_order_left_pending_by_a_killed_run_is_looked_up_not_reposted() {
    let shop = FakeShop {
        orders: vec![order(1, "SW1")],
    };
    let erp = FakeErp::default();
    erp.orders.lock().unwrap().push(("10001".into(), "S-ORD100999".into()));
    let state = EngineState::in_memory().unwrap();
    // The killed run had marked it pending (and the ERP had committed it).
    state
        .begin("10001", &format!("{:032x}", 1), &[("SW1".into(), 1)])
        .unwrap();
    let (r, _) = run(&shop, &erp, &state, &ExportConfig::default()).await;
    assert_eq!(erp.count("10001"), 1);
    assert_eq!(r.found, 1);
    assert_eq!(
        state.outbox("10001").unwrap().unwrap().erp_number.as_deref(),
        Some("S-ORD100999")
    );
}

#[tokio::test]
async fn an_unanswering_erp_leaves_the_order_pending_for_the_next_pass() {
    let shop = FakeShop {
        orders: vec![order(1, "SW1")],
    };
    let erp = FakeErp::scripted(&vec![Next::Throttle(1); 20]);
    let state = EngineState::in_memory().unwrap();
    let (r, waits) = run(&shop, &erp, &state, &ExportConfig::default()).await;
    assert_eq!(r.pending, 1);
    assert_eq!(waits.len() as u32, RetryPolicy::default().max_attempts - 1);
    assert_eq!(state.outbox_with(OutboxStatus::Pending).unwrap().len(), 1);
    assert!(state
        .exceptions(false)
        .unwrap()
        .iter()
        .any(|e| e.category == "erp_unavailable"));
    // The ERP recovers: the next pass creates it once.
    erp.script.lock().unwrap().clear();
    run(&shop, &erp, &state, &ExportConfig::default()).await;
    assert_eq!(erp.count("10001"), 1);
    assert!(state.outbox_with(OutboxStatus::Pending).unwrap().is_empty());
    assert!(
        state.exceptions(false).unwrap().is_empty(),
        "the outage exception is resolved once the order got through"
    );
}

#[tokio::test]
async fn one_pass_drains_a_backlog_page_by_page_with_concurrent_exports() {
    let shop = FakeShop {
        orders: (1..=25).map(|i| order(i, "SW1")).collect(),
    };
    let erp = FakeErp::default();
    let state = EngineState::in_memory().unwrap();
    let cfg = ExportConfig {
        page_size: 4,
        overlap: Duration::ZERO,
        pages_per_pass: 20,
        concurrency: 3,
        ..Default::default()
    };
    let (r, _) = run(&shop, &erp, &state, &cfg).await;
    assert_eq!(r.created, 25);
    for i in 1..=25 {
        assert_eq!(erp.count(&format!("{}", 10000 + i)), 1, "order {i}");
    }
    let (again, _) = run(&shop, &erp, &state, &cfg).await;
    assert_eq!(again.created, 0);

    // One page per pass: a pass exports at most a page.
    let erp = FakeErp::default();
    let state = EngineState::in_memory().unwrap();
    let cfg = ExportConfig {
        pages_per_pass: 1,
        ..cfg
    };
    let (r, _) = run(&shop, &erp, &state, &cfg).await;
    assert_eq!(r.created, 4);
}

#[tokio::test]
async fn concurrent_exports_keep_exactly_once_under_commit_then_timeout() {
    let shop = FakeShop {
        orders: (1..=8).map(|i| order(i, "SW1")).collect(),
    };
    let erp = FakeErp::scripted(&[Next::CommitThenTimeout, Next::Ok, Next::CommitThenTimeout]);
    let state = EngineState::in_memory().unwrap();
    let cfg = ExportConfig {
        concurrency: 4,
        ..Default::default()
    };
    let (r, _) = run(&shop, &erp, &state, &cfg).await;
    assert_eq!(r.created + r.found, 8);
    for i in 1..=8 {
        assert_eq!(erp.count(&format!("{}", 10000 + i)), 1, "order {i}");
    }
}
