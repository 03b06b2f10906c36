//! The engine's adapters against the twins: tokens cached and renewed on the
//! scenario clock, failures classified for the retry logic.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use synctwin::clock::SharedClock;
use synctwin::engine::backoff::Outcome;
use synctwin::engine::http::shopware::ShopwareClient;
use synctwin::twin::shopware::ShopwareProfile;

use crate::helpers::{fixture_twin, serve, Transport};

fn client(base: &str, clock: SharedClock, secret: &str) -> ShopwareClient {
    ShopwareClient::new(base, "SWIATESTCLIENT", secret, clock, Duration::from_secs(10))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_per_lifetime_renewed_before_expiry() {
    let (twin, clock) = fixture_twin(ShopwareProfile::default_profile());
    let s = serve(twin.clone(), Transport::Hyper).await;
    let shared: SharedClock = Arc::new(clock.clone());
    let c = client(&format!("{}/api", s.base), shared, "test-secret");
    for _ in 0..20 {
        c.search("product", &json!({"limit": 1})).await.unwrap();
    }
    assert_eq!(c.tokens_fetched(), 1, "the token is cached");
    // 9 scenario minutes later the token has a minute left: renewed before it fails.
    clock.advance(Duration::from_secs(541));
    c.search("product", &json!({"limit": 1})).await.unwrap();
    assert_eq!(c.tokens_fetched(), 2);
    let stats = twin.stats().snapshot();
    assert_eq!(stats["POST /api/oauth/token"].total(), 2);
    assert!(
        !stats["POST /api/search/product"].by_status.contains_key(&401),
        "no request ever failed auth"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_per_request_trips_the_saas_token_limit_and_a_cached_one_does_not() {
    let saas = || {
        ShopwareProfile::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("mocks/shopware/saas.toml"))
            .unwrap()
    };
    // 15 searches within one scenario minute (the clock stands still).
    let searches = |c: ShopwareClient| async move {
        let mut failed = None;
        for _ in 0..15 {
            if let Err(e) = c.search("product", &json!({"limit": 1})).await {
                failed.get_or_insert(e);
            }
        }
        failed
    };
    let (twin, clock) = fixture_twin(saas());
    let s = serve(twin.clone(), Transport::Hyper).await;
    let cached = client(&s.base, Arc::new(clock.clone()), "test-secret");
    assert!(searches(cached).await.is_none());
    let stats = twin.stats().snapshot();
    assert_eq!(stats["POST /api/oauth/token"].total(), 1);

    let (twin, clock) = fixture_twin(saas());
    let s = serve(twin.clone(), Transport::Hyper).await;
    let per_request = client(&s.base, Arc::new(clock.clone()), "test-secret")
        .with_token_strategy(synctwin::engine::http::TokenStrategy::PerRequest);
    let e = searches(per_request)
        .await
        .expect("the eleventh token request is refused");
    assert_eq!(e.outcome(), Outcome::Status(429));
    let tokens = &twin.stats().snapshot()["POST /api/oauth/token"];
    assert_eq!(tokens.total(), 15, "one token request per search");
    assert_eq!(tokens.by_status.get(&429).copied(), Some(5), "10 a minute are allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_classified_with_their_waits() {
    let (twin, _) = fixture_twin(
        ShopwareProfile::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("mocks/shopware/saas.toml"))
            .unwrap(),
    );
    let s = serve(twin.clone(), Transport::Hyper).await;
    let clock: SharedClock = twin.clock().clone();
    // A wrong secret: 401, not retryable.
    let bad = client(&s.base, clock.clone(), "wrong");
    let e = bad.search("product", &json!({})).await.unwrap_err();
    assert_eq!(e.outcome(), Outcome::Status(401));
    // A validation error: 400 with the pointer in the body.
    let good = client(&s.base, clock.clone(), "test-secret");
    let e = good.search("product", &json!({"limit": 501})).await.unwrap_err();
    assert_eq!(e.status(), Some(400));
    assert!(e.to_string().contains("FRAMEWORK__QUERY_LIMIT_EXCEEDED"), "{e}");
    // The SaaS token limit (10/min per IP, the bad client's attempts count): 429 with Retry-After.
    let mut throttled = None;
    for _ in 0..12 {
        let fresh = client(&s.base, clock.clone(), "test-secret");
        if let Err(e) = fresh.search("product", &json!({"limit": 1})).await {
            throttled = Some(e);
            break;
        }
    }
    let e = throttled.expect("a client fetching a token per call trips the SaaS token limit");
    assert_eq!(e.outcome(), Outcome::Status(429));
    assert!(
        e.retry_after()
            .is_some_and(|w| w > Duration::ZERO && w <= Duration::from_secs(60)),
        "{e:?}"
    );
    // Nothing listens here: no answer, retryable.
    let gone = client("http://127.0.0.1:9", clock, "x");
    assert_eq!(
        gone.search("product", &json!({})).await.unwrap_err().outcome(),
        Outcome::NoAnswer
    );
}

mod fulfilment {
    use std::sync::Mutex;

    use serde_json::Value;
    use synctwin::engine::fulfilment::{fulfil_once, FulfilmentConfig};
    use synctwin::engine::http::CallError;
    use synctwin::engine::mapping::OrderDraft;
    use synctwin::engine::ports::{ErpApi, ErpItem, Shipment};
    use synctwin::engine::state::EngineState;
    use synctwin::observe::Event;

    use super::*;

    #[derive(Default)]
    struct Shipments(Mutex<Vec<Shipment>>);

    impl ErpApi for Shipments {
        async fn find_order(&self, _: &str) -> Result<Option<String>, CallError> {
            Ok(None)
        }
        async fn create_order(&self, _: &OrderDraft) -> Result<String, CallError> {
            Ok(String::new())
        }
        async fn items_since(&self, _: Option<&str>) -> Result<Vec<ErpItem>, CallError> {
            Ok(Vec::new())
        }
        async fn shipments_since(&self, since: Option<&str>) -> Result<Vec<Shipment>, CallError> {
            Ok(self
                .0
                .lock()
                .unwrap()
                .iter()
                .filter(|s| since.is_none_or(|x| s.posted.as_str() > x))
                .cloned()
                .collect())
        }
    }

    struct NoPause;
    impl synctwin::engine::ports::Pause for NoPause {
        async fn pause(&self, _: Duration) {}
    }

    async fn fulfil(
        shop: &ShopwareClient,
        erp: &Shipments,
        state: &EngineState,
    ) -> Result<synctwin::engine::fulfilment::FulfilmentReport, synctwin::engine::fulfilment::FulfilmentError> {
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1);
        fulfil_once(
            shop,
            erp,
            &NoPause,
            state,
            &FulfilmentConfig::default(),
            &Default::default(),
            &mut rng,
        )
        .await
    }

    fn shipment(n: u32, order: &str, qty: i64, tracking: &str) -> Shipment {
        Shipment {
            number: format!("S-SHPT{n}"),
            external_document_number: order.into(),
            tracking_number: Some(tracking.into()),
            lines: vec![("SW10006".into(), qty)],
            posted: format!("2026-11-27T12:00:{n:02}Z"),
        }
    }

    fn states(twin: &synctwin::twin::shopware::ShopwareTwin, order_id: &str) -> (String, String, Value) {
        let store = twin.read();
        let order = store.get("order", order_id).unwrap();
        let name = |id: &Value| synctwin::twin::shopware::states::technical_name(&store, id.as_str().unwrap()).unwrap();
        let did = store.ids_by_fk("order_delivery", "orderId", order_id)[0].clone();
        let d = store.get("order_delivery", &did).unwrap();
        (name(&order["stateId"]), name(&d["stateId"]), d["trackingCodes"].clone())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn partial_then_complete_shipments_move_delivery_and_order_with_tracking() {
        let (twin, clock) = crate::helpers::seeded_twin(60, 0);
        let s = serve(twin.clone(), Transport::Hyper).await;
        let shared: SharedClock = Arc::new(clock.clone());
        let shop = client(&s.base, shared, "test-secret");
        let cart: synctwin::twin::shopware::checkout::Cart = serde_json::from_value(json!({
            "customer": {"email": "f@example.com", "firstName": "F", "lastName": "G", "street": "S 1", "zipcode": "1", "city": "C"},
            "lines": [{"type": "product", "productNumber": "SW10006", "quantity": 3}]
        }))
        .unwrap();
        let placed = twin.place_order(&cart).unwrap();
        let state = EngineState::in_memory().unwrap();
        state
            .begin(&placed.order_number, &placed.order_id, &[("SW10006".into(), 3)])
            .unwrap();
        state.created(&placed.order_number, "S-ORD1").unwrap();
        let erp = Shipments::default();
        erp.0.lock().unwrap().push(shipment(1, &placed.order_number, 2, "1Z-A"));
        erp.0.lock().unwrap().push(shipment(2, "99999", 1, "1Z-X"));
        let r = fulfil(&shop, &erp, &state).await.unwrap();
        assert_eq!((r.shipments, r.tracking_set, r.transitions, r.exceptions), (2, 1, 2, 1));
        assert_eq!(
            states(&twin, &placed.order_id),
            ("in_progress".into(), "shipped_partially".into(), json!(["1Z-A"]))
        );
        assert_eq!(state.exceptions(false).unwrap()[0].category, "shipment_without_order");

        erp.0.lock().unwrap().push(shipment(3, &placed.order_number, 1, "1Z-B"));
        let r = fulfil(&shop, &erp, &state).await.unwrap();
        assert_eq!(
            (r.shipments, r.transitions),
            (1, 2),
            "only the new shipment: ship, complete"
        );
        assert_eq!(
            states(&twin, &placed.order_id),
            ("completed".into(), "shipped".into(), json!(["1Z-A", "1Z-B"]))
        );
        // A pass with nothing new changes nothing.
        let r = fulfil(&shop, &erp, &state).await.unwrap();
        assert_eq!(r.shipments, 0);
        let tracked = twin
            .observations()
            .snapshot()
            .iter()
            .filter(|o| matches!(o.event, Event::TrackingSet { .. }))
            .count();
        assert_eq!(tracked, 2, "the twin saw both tracking writes");
    }
}

mod end_to_end {
    use std::collections::BTreeMap;

    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use synctwin::engine::backoff::RetryPolicy;
    use synctwin::engine::export::{export_once, ExportConfig};
    use synctwin::engine::http::erp::ErpClient;
    use synctwin::engine::mapping::MappingConfig;
    use synctwin::engine::ports::ScaledPause;
    use synctwin::engine::state::{EngineState, OutboxStatus};
    use synctwin::observe::ObservationLog;
    use synctwin::twin::erp::{Catalogue, ErpConfig, ErpProfile, ErpTwin};

    use super::*;

    /// Both twins over HTTP, the ERP sharing the Shopware catalogue's numbers.
    async fn twins() -> (
        Arc<synctwin::twin::shopware::ShopwareTwin>,
        Arc<ErpTwin>,
        crate::helpers::Served,
        crate::helpers::Served,
        SharedClock,
    ) {
        let (shop, clock) = crate::helpers::seeded_twin(60, 24);
        let skus: Vec<String> = shop
            .read()
            .rows("product")
            .filter_map(|p| p["productNumber"].as_str().map(str::to_string))
            .collect();
        let shared: SharedClock = Arc::new(clock.clone());
        let mut cfg = ErpConfig::new(ErpProfile::business_central(), 42);
        cfg.catalogue = Catalogue::Skus(skus);
        cfg.client_id = Some("erp-client".into());
        cfg.client_secret = Some("erp-secret".into());
        let erp = Arc::new(ErpTwin::new(cfg, shared.clone(), ObservationLog::new()).unwrap());
        let s1 = serve(shop.clone(), Transport::Hyper).await;
        let s2 = serve(erp.clone(), Transport::Hyper).await;
        (shop, erp, s1, s2, shared)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_seeded_order_reaches_the_erp_once_or_is_parked_with_a_reason() {
        let (shop, erp, s1, s2, clock) = twins().await;
        let shop_client = client(&s1.base, clock.clone(), "test-secret");
        let erp_client = ErpClient::new(
            &s2.base,
            "erp-client",
            "erp-secret",
            clock.clone(),
            Duration::from_secs(10),
        );
        let state = EngineState::in_memory().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let pause = ScaledPause(clock.clone());
        let cfg = ExportConfig {
            page_size: 10,
            ..Default::default()
        };
        let mut created = 0;
        for _ in 0..5 {
            let r = export_once(
                &shop_client,
                &erp_client,
                &pause,
                &state,
                &cfg,
                &MappingConfig::default(),
                &RetryPolicy::default(),
                &mut rng,
            )
            .await
            .unwrap();
            created += r.created;
        }
        let erp_orders = erp.snapshot().orders;
        let mut per_ext: BTreeMap<String, usize> = BTreeMap::new();
        for o in erp_orders.values() {
            *per_ext.entry(o.external_document_number.clone()).or_default() += 1;
        }
        assert!(per_ext.values().all(|n| *n == 1), "no order twice: {per_ext:?}");
        assert_eq!(created, per_ext.len());
        let exceptions = state.exceptions(false).unwrap();
        let shop_numbers: Vec<String> = shop
            .read()
            .rows("order")
            .map(|o| o["orderNumber"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(shop_numbers.len(), 24);
        for n in &shop_numbers {
            let in_erp = per_ext.contains_key(n);
            let parked = exceptions.iter().any(|e| &e.subject == n);
            assert!(
                in_erp ^ parked,
                "order {n}: in the ERP ({in_erp}) or parked ({parked}), exactly one"
            );
        }
        // The parked ones are exactly the orders with a configurator option item
        // the ERP's item master lacks (OPT-…): F7 found, the rest not blocked.
        let with_option_items: std::collections::BTreeSet<String> = {
            let store = shop.read();
            store
                .rows("order_line_item")
                .filter(|li| {
                    li.get("payload")
                        .and_then(|p| p.get("productNumber"))
                        .and_then(|n| n.as_str())
                        .is_some_and(|n| n.starts_with("OPT-"))
                })
                .filter_map(|li| store.get("order", li["orderId"].as_str().unwrap()))
                .map(|o| o["orderNumber"].as_str().unwrap().to_string())
                .collect()
        };
        let parked: std::collections::BTreeSet<String> = exceptions.iter().map(|e| e.subject.clone()).collect();
        assert!(!parked.is_empty());
        assert_eq!(parked, with_option_items);
        assert!(exceptions
            .iter()
            .all(|e| e.category == "unmapped_sku" && e.detail.contains("Internal_InvalidTableRelation")));
        assert_eq!(created + parked.len(), shop_numbers.len());
        assert!(state.outbox_with(OutboxStatus::Pending).unwrap().is_empty());
        // The ERP computed its own totals; a gross-priced order lands with the ERP's figure.
        let any = erp_orders.values().next().unwrap();
        assert!(any.total_including_tax > 0);
    }
}

mod closeouts {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use synctwin::engine::backoff::RetryPolicy;
    use synctwin::engine::http::CallError;
    use synctwin::engine::inventory::{inventory_once, InventoryConfig};
    use synctwin::engine::mapping::OrderDraft;
    use synctwin::engine::ports::{ErpApi, ErpItem, ScaledPause, Shipment};
    use synctwin::engine::state::EngineState;

    use super::*;

    struct Items(Vec<ErpItem>);

    impl ErpApi for Items {
        async fn find_order(&self, _: &str) -> Result<Option<String>, CallError> {
            Ok(None)
        }
        async fn create_order(&self, _: &OrderDraft) -> Result<String, CallError> {
            Ok(String::new())
        }
        async fn items_since(&self, _: Option<&str>) -> Result<Vec<ErpItem>, CallError> {
            Ok(self.0.clone())
        }
        async fn shipments_since(&self, _: Option<&str>) -> Result<Vec<Shipment>, CallError> {
            Ok(Vec::new())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_restock_with_indexing_disabled_is_flagged_and_one_with_indexing_is_not() {
        let (twin, clock) = crate::helpers::seeded_twin(40, 0);
        let s = serve(twin.clone(), Transport::Hyper).await;
        let shared: SharedClock = Arc::new(clock.clone());
        let shop = client(&s.base, shared.clone(), "test-secret");
        // SW10001 and SW10011 are closeout products seeded at stock 0 (sold out).
        let restock = Items(
            ["SW10001", "SW10011"]
                .iter()
                .map(|n| ErpItem {
                    number: n.to_string(),
                    inventory: true,
                    on_hand: 5,
                    available: 5,
                    modified: "2026-11-27T01:00:00Z".into(),
                })
                .collect(),
        );
        let state = EngineState::in_memory().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let pause = ScaledPause(shared);
        let disabled = InventoryConfig {
            indexing: Some("disable-indexing".into()),
            ..Default::default()
        };
        let r = inventory_once(
            &shop,
            &restock,
            &pause,
            &state,
            &disabled,
            &RetryPolicy::default(),
            &mut rng,
            true,
        )
        .await
        .unwrap();
        assert_eq!((r.pushed, r.stale_closeouts), (2, 2));
        let flagged: Vec<String> = state
            .exceptions(false)
            .unwrap()
            .iter()
            .filter(|e| e.category == "closeout_unavailable")
            .map(|e| e.subject.clone())
            .collect();
        assert_eq!(flagged, vec!["SW10001", "SW10011"]);
        // Writing the same stock with indexing recomputes availability: nothing stale.
        let r = inventory_once(
            &shop,
            &restock,
            &pause,
            &state,
            &InventoryConfig::default(),
            &RetryPolicy::default(),
            &mut rng,
            true,
        )
        .await
        .unwrap();
        assert_eq!(r.stale_closeouts, 0);
        assert_eq!(twin.stock_of("SW10001"), Some((5, true)));
    }
}
