//! Shared fixtures: a small hand-built shop (so expectations are known exactly),
//! twins on either transport, and a typed Admin API client.

use std::sync::Arc;

use reqwest::{Client, Response};
use serde_json::{json, Value};
use synctwin::clock::{ManualClock, SharedClock, Speed};
use synctwin::observe::ObservationLog;
use synctwin::twin::shopware::store::Store;
use synctwin::twin::shopware::{states, Credentials, ShopwareProfile, ShopwareTwin};
use synctwin::twin::Twin;

pub const T0: &str = "2026-11-27T00:00:00.000+00:00";

fn put(s: &mut Store, e: &'static str, v: Value) {
    s.put(e, v.as_object().expect("object").clone());
}

/// A product row with the fields the twin keeps.
fn product(id: &str, number: &str, stock: i64, closeout: Option<bool>, parent: Option<&str>) -> Value {
    json!({
        "id": id, "parentId": parent, "productNumber": number, "stock": stock, "availableStock": stock,
        "available": !(closeout == Some(true) && stock < 1), "isCloseout": closeout, "minPurchase": if parent.is_some() { Value::Null } else { json!(1) },
        "maxPurchase": null, "active": true, "sales": 0, "name": format!("Product {number}"), "taxId": "7a0b4e2c4c6f4a0e9b1f3c2d5e6f7a8b",
        "price": [{"currencyId": "b7d2554b0ce847cd82f3ac9bd1c0dfca", "gross": 11.9, "net": 10.0, "linked": true}],
        "customFields": {}, "createdAt": T0, "updatedAt": null, "apiAlias": "product"
    })
}

/// Ids of the fixture's rows.
pub struct Ids;
impl Ids {
    pub const ORDER: &'static str = "0a000000000000000000000000000001";
    pub const DELIVERY: &'static str = "0d000000000000000000000000000001";
    pub const TRANSACTION: &'static str = "0e000000000000000000000000000001";
    pub const CLOSEOUT: &'static str = "0c000000000000000000000000000001";
    pub const PARENT: &'static str = "0f000000000000000000000000000001";
    pub const VARIANT: &'static str = "0f000000000000000000000000000002";
}

/// A small shop: 30 plain products SW10000..SW10029 (stock 10+i), a closeout
/// product SW20000 at 0, a parent SW30000 (closeout) with a variant SW30000.1
/// inheriting it, and one open order 10000 with two lines (SW10000 ×2, SW10001 ×1).
pub fn fixture_store() -> Store {
    let mut s = Store::new();
    states::seed(&mut s, T0);
    put(
        &mut s,
        "tax",
        json!({"id": "7a0b4e2c4c6f4a0e9b1f3c2d5e6f7a8b", "taxRate": 19.0, "name": "Standard rate", "position": 1, "apiAlias": "tax"}),
    );
    for i in 0..30 {
        put(
            &mut s,
            "product",
            product(
                &format!("{:032x}", 0x1000 + i),
                &format!("SW{}", 10000 + i),
                10 + i as i64,
                Some(false),
                None,
            ),
        );
    }
    put(
        &mut s,
        "product",
        product(Ids::CLOSEOUT, "SW20000", 0, Some(true), None),
    );
    put(&mut s, "product", product(Ids::PARENT, "SW30000", 0, Some(true), None));
    put(
        &mut s,
        "product",
        product(Ids::VARIANT, "SW30000.1", 0, None, Some(Ids::PARENT)),
    );
    for id in [Ids::CLOSEOUT, Ids::PARENT] {
        synctwin::twin::shopware::stock::reindex_available(&mut s, id);
    }
    put(
        &mut s,
        "order",
        json!({
            "id": Ids::ORDER, "orderNumber": "10000", "stateId": states::initial_state_id(&states::ORDER),
            "amountTotal": 35.7, "createdAt": T0, "updatedAt": null, "customFields": null, "apiAlias": "order"
        }),
    );
    for (i, (num, qty)) in [("SW10000", 2), ("SW10001", 1)].iter().enumerate() {
        put(
            &mut s,
            "order_line_item",
            json!({
                "id": format!("{:032x}", 0xa000 + i), "orderId": Ids::ORDER, "productId": format!("{:032x}", 0x1000 + i),
                "type": "product", "quantity": qty, "position": i + 1, "payload": {"productNumber": num}, "apiAlias": "order_line_item"
            }),
        );
    }
    put(
        &mut s,
        "order_delivery",
        json!({
            "id": Ids::DELIVERY, "orderId": Ids::ORDER, "stateId": states::initial_state_id(&states::DELIVERY),
            "trackingCodes": [], "apiAlias": "order_delivery"
        }),
    );
    put(
        &mut s,
        "order_transaction",
        json!({
            "id": Ids::TRANSACTION, "orderId": Ids::ORDER, "stateId": states::initial_state_id(&states::TRANSACTION),
            "apiAlias": "order_transaction"
        }),
    );
    s
}

/// A twin on the fixture with a manual clock at 1000x (service times shrink a thousandfold).
pub fn fixture_twin(profile: ShopwareProfile) -> (Arc<ShopwareTwin>, ManualClock) {
    fixture_twin_at(profile, 1000.0)
}

/// The fixture twin at a given speed factor.
pub fn fixture_twin_at(profile: ShopwareProfile, speed: f64) -> (Arc<ShopwareTwin>, ManualClock) {
    let clock = ManualClock::with_speed(Speed::new(speed).expect("valid speed"));
    let shared: SharedClock = Arc::new(clock.clone());
    let creds = Credentials::new("SWIATESTCLIENT", "test-secret");
    let twin = ShopwareTwin::new(profile, fixture_store(), creds, 7, shared, ObservationLog::new());
    (twin, clock)
}

/// A twin over the seeded default shop (seed 42) with a manual clock at 1000x.
pub fn seeded_twin(products: usize, orders: usize) -> (Arc<ShopwareTwin>, ManualClock) {
    use synctwin::twin::shopware::seed::{seed_shop, SeedConfig};
    let mut store = Store::new();
    seed_shop(
        &mut store,
        &SeedConfig {
            products,
            orders,
            seed: 42,
        },
    );
    let clock = ManualClock::with_speed(Speed::new(1000.0).expect("valid speed"));
    let shared: SharedClock = Arc::new(clock.clone());
    let creds = Credentials::new("SWIATESTCLIENT", "test-secret");
    let twin = ShopwareTwin::new(
        ShopwareProfile::default_profile(),
        store,
        creds,
        7,
        shared,
        ObservationLog::new(),
    );
    (twin, clock)
}

/// The fixture twin on a real scaled clock (time flows), for concurrency tests.
pub fn fixture_twin_scaled(profile: ShopwareProfile, speed: f64) -> Arc<ShopwareTwin> {
    let clock: SharedClock = Arc::new(synctwin::clock::ScaledClock::start(
        Speed::new(speed).expect("valid speed"),
    ));
    let creds = Credentials::new("SWIATESTCLIENT", "test-secret");
    ShopwareTwin::new(profile, fixture_store(), creds, 7, clock, ObservationLog::new())
}

/// Runs each named contract `async fn name(t: Transport)` on both transports,
/// as tests in `hyper_transport` and `wiremock_transport` submodules.
macro_rules! on_both_transports {
    ($($name:ident),* $(,)?) => {
        mod hyper_transport {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(crate::helpers::Transport::Hyper).await })*
        }
        mod wiremock_transport {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(crate::helpers::Transport::Wiremock).await })*
        }
    };
}

/// Which transport serves the twin in a test.
#[derive(Debug, Clone, Copy)]
pub enum Transport {
    Hyper,
    Wiremock,
}

/// A served twin; keeps the server alive while in scope.
pub struct Served {
    pub base: String,
    _hyper: Option<synctwin::twin::http::ServerHandle>,
    _wiremock: Option<wiremock::MockServer>,
}

pub async fn serve(twin: Arc<dyn Twin>, transport: Transport) -> Served {
    match transport {
        Transport::Hyper => {
            let h = synctwin::twin::http::spawn(twin, "127.0.0.1:0".parse().expect("addr"))
                .await
                .expect("bind loopback");
            Served {
                base: h.base_url(),
                _hyper: Some(h),
                _wiremock: None,
            }
        }
        Transport::Wiremock => {
            let server = wiremock::MockServer::start().await;
            synctwin::twin::mount::mount(twin, &server).await;
            Served {
                base: server.uri(),
                _hyper: None,
                _wiremock: Some(server),
            }
        }
    }
}

/// A thin Admin API client for tests.
pub struct Admin {
    pub http: Client,
    pub base: String,
    pub token: Option<String>,
}

impl Admin {
    pub fn new(base: &str) -> Self {
        Admin {
            http: Client::new(),
            base: base.to_string(),
            token: None,
        }
    }

    pub async fn token_response(&self, id: &str, secret: &str) -> Response {
        self.http
            .post(format!("{}/api/oauth/token", self.base))
            .json(&json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret}))
            .send()
            .await
            .expect("token request")
    }

    pub async fn login(&mut self) {
        let r = self.token_response("SWIATESTCLIENT", "test-secret").await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.expect("token json");
        self.token = Some(v["access_token"].as_str().expect("token").to_string());
    }

    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let b = self.http.request(method, format!("{}{}", self.base, path));
        match &self.token {
            Some(t) => b.bearer_auth(t),
            None => b,
        }
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .req(reqwest::Method::POST, path)
            .header("accept", "application/json")
            .json(body)
            .send()
            .await
            .expect("send");
        split(r).await
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> (u16, Value, Option<String>) {
        let r = self
            .req(reqwest::Method::PATCH, path)
            .json(body)
            .send()
            .await
            .expect("send");
        let loc = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let (s, v) = split(r).await;
        (s, v, loc)
    }
}

/// Status and JSON body (Null when empty).
pub async fn split(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let bytes = r.bytes().await.expect("body");
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    (status, v)
}

/// The first error's code.
pub fn code(v: &Value) -> &str {
    v["errors"][0]["code"].as_str().unwrap_or("<no error code>")
}

/// Both twins on one manual scenario clock (wall delays scaled down 1000x),
/// served over hyper, with their observation logs; a seeded shop of `products`.
/// Tests set the clock, place orders and tick an engine at chosen instants.
pub struct ManualWorld {
    pub clock: ManualClock,
    pub shared: SharedClock,
    pub shop: Arc<ShopwareTwin>,
    pub erp: Arc<synctwin::twin::erp::ErpTwin>,
    pub shop_log: ObservationLog,
    pub erp_log: ObservationLog,
    /// Plain products (no variants, closeouts or configurators), sorted.
    pub plain: Vec<String>,
    _servers: (Served, Served),
    pub shop_url: String,
    pub erp_url: String,
}

impl ManualWorld {
    pub async fn start(
        shop_profile: ShopwareProfile,
        erp_profile: synctwin::twin::erp::ErpProfile,
        products: usize,
    ) -> ManualWorld {
        use synctwin::twin::erp::{Catalogue, ErpConfig, ErpTwin};
        use synctwin::twin::shopware::seed::{seed_shop, SeedConfig};
        let clock = ManualClock::with_speed(Speed::new(1000.0).expect("valid speed"));
        let shared: SharedClock = Arc::new(clock.clone());
        let mut store = Store::new();
        seed_shop(
            &mut store,
            &SeedConfig {
                products,
                orders: 0,
                seed: 5,
            },
        );
        let all: Vec<String> = store
            .rows("product")
            .filter_map(|p| p["productNumber"].as_str().map(str::to_string))
            .collect();
        // Positions 6-9 of each block of ten are plain products (seed.rs).
        let mut plain: Vec<String> = all
            .iter()
            .filter(|n| !n.contains('.') && n[2..].parse::<u32>().is_ok_and(|x| x % 10 >= 6))
            .cloned()
            .collect();
        plain.sort();
        let (shop_log, erp_log) = (ObservationLog::new(), ObservationLog::new());
        let shop = ShopwareTwin::new(
            shop_profile,
            store,
            Credentials::new("SWIAWORLD", "shop-secret"),
            5,
            shared.clone(),
            shop_log.clone(),
        );
        let mut cfg = ErpConfig::new(erp_profile, 5);
        cfg.catalogue = Catalogue::Skus(all);
        cfg.client_id = Some("erp-client".into());
        cfg.client_secret = Some("erp-secret".into());
        let erp = Arc::new(ErpTwin::new(cfg, shared.clone(), erp_log.clone()).expect("a valid ERP twin"));
        let s1 = serve(shop.clone(), Transport::Hyper).await;
        let s2 = serve(erp.clone(), Transport::Hyper).await;
        let (shop_url, erp_url) = (s1.base.clone(), s2.base.clone());
        ManualWorld {
            clock,
            shared,
            shop,
            erp,
            shop_log,
            erp_log,
            plain,
            _servers: (s1, s2),
            shop_url,
            erp_url,
        }
    }

    /// The reference engine against both twins, with its token strategy.
    pub fn engine(
        &self,
        cfg: synctwin::engine::config::EngineConfig,
    ) -> synctwin::engine::driver::Engine<
        synctwin::engine::http::shopware::ShopwareClient,
        synctwin::engine::http::erp::ErpClient,
    > {
        use synctwin::engine::http::{erp::ErpClient, shopware::ShopwareClient};
        let timeout = std::time::Duration::from_secs(20);
        let shop = ShopwareClient::new(&self.shop_url, "SWIAWORLD", "shop-secret", self.shared.clone(), timeout)
            .with_token_strategy(cfg.auth.token);
        let erp = ErpClient::new(&self.erp_url, "erp-client", "erp-secret", self.shared.clone(), timeout)
            .with_token_strategy(cfg.auth.token);
        let state = synctwin::engine::state::EngineState::in_memory().expect("an in-memory state");
        synctwin::engine::driver::Engine::new(shop, erp, state, cfg, self.shared.clone(), 5)
    }

    /// Places an order of these (SKU, quantity) lines at the clock's current time.
    pub fn place(&self, n: usize, lines: &[(&str, i64)]) -> String {
        let lines: Vec<Value> = lines
            .iter()
            .map(|(sku, qty)| json!({"type": "product", "productNumber": sku, "quantity": qty}))
            .collect();
        let cart: synctwin::twin::shopware::checkout::Cart = serde_json::from_value(json!({
            "customer": {"email": format!("buyer{n}@example.com"), "firstName": "B", "lastName": format!("{n}"),
                         "guest": false, "street": "S 1", "zipcode": "10115", "city": "Berlin"},
            "lines": lines,
            "shippingGross": 4.9
        }))
        .expect("a valid cart");
        self.shop.place_order(&cart).expect("the order is placed").order_number
    }
}
