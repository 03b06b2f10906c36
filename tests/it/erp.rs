//! The ERP twin's contract suite: the same shape as the Shopware twin's (auth,
//! paging, errors, throttling with the speed factor, idempotency modes), run on
//! both transports, plus concurrency and shipments over real HTTP.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Client;
use serde_json::{json, Value};
use synctwin::clock::{ManualClock, SharedClock, Speed};
use synctwin::observe::{Event, ObservationLog};
use synctwin::twin::erp::profile::{NETSUITE_LIKE, STRICT};
use synctwin::twin::erp::{Catalogue, ErpConfig, ErpProfile, ErpTwin};

use crate::helpers::{serve, split, Transport};

on_both_transports!(
    auth_uses_client_credentials_and_tokens_expire,
    paging_follows_next_links_and_filters,
    bad_requests_get_odata_errors,
    validation_rejects_like_business_central,
    idempotency_modes_default_strict_upsert,
    throttling_counts_in_scenario_time_at_any_speed,
    shipments_carry_tracking_and_the_external_reference,
    batch_operations_with_and_without_isolation,
);

const ID: &str = "erp-client";
const SECRET: &str = "erp-secret";

/// A twin with 45 items on a manual clock at `speed`.
fn erp(profile: ErpProfile, speed: f64) -> (Arc<ErpTwin>, ManualClock) {
    let clock = ManualClock::with_speed(Speed::new(speed).expect("speed"));
    let shared: SharedClock = Arc::new(clock.clone());
    let cfg = ErpConfig {
        profile,
        seed: 11,
        catalogue: Catalogue::Generated { items: 45 },
        client_id: Some(ID.into()),
        client_secret: Some(SECRET.into()),
    };
    let twin = ErpTwin::new(cfg, shared, ObservationLog::new()).expect("twin");
    (Arc::new(twin), clock)
}

fn bc() -> ErpProfile {
    ErpProfile::business_central()
}

/// A typed client for the BC-shaped API.
struct Bc {
    http: Client,
    base: String,
    api: String,
    token: Option<String>,
}

impl Bc {
    fn new(base: &str, twin: &ErpTwin) -> Self {
        Bc {
            http: Client::new(),
            base: base.to_string(),
            api: format!("{base}{}", twin.api_base()),
            token: None,
        }
    }

    async fn login(&mut self) {
        let r = self
            .http
            .post(format!("{}/oauth/token", self.base))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", ID),
                ("client_secret", SECRET),
                ("scope", "https://api.businesscentral.dynamics.com/.default"),
            ])
            .send()
            .await
            .expect("token");
        let (s, v) = split(r).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["token_type"], "Bearer");
        self.token = Some(v["access_token"].as_str().expect("access_token").to_string());
    }

    fn req(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let b = self.http.request(method, url);
        match &self.token {
            Some(t) => b.bearer_auth(t),
            None => b,
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .req(reqwest::Method::GET, &format!("{}{path}", self.api))
            .send()
            .await
            .expect("get");
        split(r).await
    }

    async fn get_url(&self, url: &str) -> (u16, Value) {
        split(self.req(reqwest::Method::GET, url).send().await.expect("get")).await
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .req(reqwest::Method::POST, &format!("{}{path}", self.api))
            .json(body)
            .send()
            .await
            .expect("post");
        split(r).await
    }

    async fn post_raw(&self, path: &str, body: Vec<u8>) -> (u16, Value) {
        let r = self
            .req(reqwest::Method::POST, &format!("{}{path}", self.api))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("post");
        split(r).await
    }
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<no error code>")
}

fn has_correlation_id(v: &Value) -> bool {
    v["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("CorrelationId:"))
}

fn order(ext: &str, lines: Value) -> Value {
    json!({"externalDocumentNumber": ext, "customerNumber": "C00010", "salesOrderLines": lines})
}

fn one_line(sku: &str, qty: i64) -> Value {
    json!([{"lineType": "Item", "lineObjectNumber": sku, "quantity": qty}])
}

async fn auth_uses_client_credentials_and_tokens_expire(t: Transport) {
    let (twin, clock) = erp(bc(), 1000.0);
    let s = serve(twin.clone(), t).await;
    let mut bc = Bc::new(&s.base, &twin);

    // No token: 401 in the OData envelope.
    let (st, v) = bc.get("/items").await;
    assert_eq!((st, code(&v)), (401, "Authentication_InvalidCredentials"));
    assert!(has_correlation_id(&v));

    // Wrong secret: Entra ID's answer, JSON body accepted too.
    let r = bc
        .http
        .post(format!("{}/oauth/token", s.base))
        .json(&json!({"grant_type": "client_credentials", "client_id": ID, "client_secret": "nope"}))
        .send()
        .await
        .unwrap();
    let (st, v) = split(r).await;
    assert_eq!((st, v["error"].as_str()), (401, Some("invalid_client")));
    let r = bc
        .http
        .post(format!("{}/oauth/token", s.base))
        .form(&[("grant_type", "password"), ("client_id", ID)])
        .send()
        .await
        .unwrap();
    assert_eq!(split(r).await.1["error"], "unsupported_grant_type");

    bc.login().await;
    let r = bc
        .req(reqwest::Method::GET, &format!("{}/api/v2.0/companies", s.base))
        .send()
        .await
        .unwrap();
    let (st, v) = split(r).await;
    assert_eq!(st, 200);
    assert_eq!(v["value"].as_array().unwrap().len(), 1);
    assert_eq!(v["value"][0]["id"], twin.company_id());

    // A wrong company id is not found.
    let r = bc
        .req(
            reqwest::Method::GET,
            &format!(
                "{}/api/v2.0/companies(00000000-0000-0000-0000-000000000000)/items",
                s.base
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // The token expires mid-run (3599 s in the BC profile).
    assert_eq!(bc.get("/items?$top=1").await.0, 200);
    clock.advance(Duration::from_secs(3599));
    let (st, v) = bc.get("/items?$top=1").await;
    assert_eq!((st, code(&v)), (401, "Authentication_InvalidCredentials"));
    assert!(v["error"]["message"].as_str().unwrap().contains("expired"));
    bc.login().await;
    assert_eq!(bc.get("/items?$top=1").await.0, 200);
}

async fn paging_follows_next_links_and_filters(t: Transport) {
    let mut p = bc();
    p.api.max_page_size = 10;
    let (twin, clock) = erp(p, 1000.0);
    let s = serve(twin.clone(), t).await;
    let mut bc = Bc::new(&s.base, &twin);
    bc.login().await;

    // 45 sellable + 5 non-inventory + 1 service item, pages of 10.
    let total = twin.snapshot().items.len();
    assert_eq!(total, 51);
    let (st, mut page) = bc.get("/items").await;
    assert_eq!(st, 200);
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        pages += 1;
        for i in page["value"].as_array().unwrap() {
            seen.push(i["number"].as_str().unwrap().to_string());
        }
        match page["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.starts_with("http://"), "absolute next link: {next}");
                page = bc.get_url(next).await.1;
            }
            None => break,
        }
        assert!(pages < 20, "paging must end");
    }
    assert_eq!(pages, 6);
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), total, "every item exactly once");

    // $top below the page size: one page, no next link.
    let (_, v) = bc.get("/items?$top=3&$skip=1").await;
    assert_eq!(v["value"].as_array().unwrap().len(), 3);
    assert!(v.get("@odata.nextLink").is_none());

    // Filters: by number, by type, and deltas on lastModifiedDateTime.
    let (_, v) = bc.get("/items?$filter=number eq 'SW10007'").await;
    assert_eq!(v["value"][0]["number"], "SW10007");
    assert!(v["value"][0]["available"].is_number() && v["value"][0]["inventory"].is_number());
    let (_, v) = bc
        .get("/items?$filter=type eq 'Non-Inventory' and blocked eq false")
        .await;
    assert_eq!(v["value"].as_array().unwrap().len(), 5);
    clock.advance(Duration::from_secs(120));
    twin.receive_stock("SW10020", 5).unwrap();
    let (_, v) = bc
        .get("/items?$filter=lastModifiedDateTime gt 2026-11-27T00:01:00Z")
        .await;
    let numbers: Vec<&str> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["number"].as_str())
        .collect();
    assert_eq!(numbers, ["SW10020"]);
    let (_, v) = bc.get("/items?$orderby=number desc&$top=1&$select=number").await;
    assert_eq!(v["value"][0]["number"], "SW10044");
    assert!(v["value"][0].get("unitPrice").is_none(), "$select trims fields");

    // Customers: create, then find by e-mail and by number.
    let (st, c) = bc
        .post(
            "/customers",
            &json!({"displayName": "Ada Lovelace", "email": "ada@example.com"}),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let (_, v) = bc.get("/customers?$filter=email eq 'ada@example.com'").await;
    assert_eq!(v["value"][0]["number"], c["number"]);
    let (_, v) = bc.get(&format!("/customers({})", c["id"].as_str().unwrap())).await;
    assert_eq!(v["displayName"], "Ada Lovelace");
}

async fn bad_requests_get_odata_errors(t: Transport) {
    let transport_is_hyper = matches!(t, Transport::Hyper);
    let (twin, _) = erp(bc(), 1000.0);
    let s = serve(twin.clone(), t).await;
    let mut bc = Bc::new(&s.base, &twin);
    bc.login().await;

    let cases: Vec<(&str, Vec<u8>, u16, &str)> =
        vec![
        ("malformed JSON", b"{\"externalDocumentNumber\": ".to_vec(), 400, "BadRequest"),
        ("not an object", b"[1,2,3]".to_vec(), 400, "BadRequest"),
        (
            "wrong type",
            br#"{"customerNumber": "C00010", "salesOrderLines": [{"lineObjectNumber": "SW10000", "quantity": "two"}]}"#
                .to_vec(),
            400,
            "BadRequest",
        ),
        ("lines not an array", br#"{"customerNumber": "C00010", "salesOrderLines": 5}"#.to_vec(), 400, "BadRequest"),
        (
            "unknown property",
            br#"{"customerNumber": "C00010", "shopwareOrderId": "x"}"#.to_vec(),
            400,
            "BadRequest",
        ),
        ("invalid UTF-8", vec![0xff, 0xfe, 0x00], 400, "BadRequest"),
    ];
    for (what, body, status, c) in cases {
        let (st, v) = bc.post_raw("/salesOrders", body).await;
        assert_eq!((st, code(&v)), (status, c), "{what}: {v}");
        assert!(has_correlation_id(&v), "{what}");
    }

    // A huge body: 413 in the OData envelope, without buffering it. The hyper
    // transport answers from Content-Length and closes, so the client may still
    // be sending and see a broken pipe instead.
    let r = bc
        .req(reqwest::Method::POST, &format!("{}/salesOrders", bc.api))
        .header("content-type", "application/json")
        .body(vec![b' '; 3 * 1024 * 1024])
        .send()
        .await;
    match r {
        Ok(r) => {
            // The body was left unread: the connection is not reused.
            if transport_is_hyper {
                assert_eq!(
                    r.headers().get("connection").and_then(|v| v.to_str().ok()),
                    Some("close")
                );
            }
            let (st, v) = split(r).await;
            assert_eq!((st, code(&v)), (413, "BadRequest_RequestEntityTooLarge"));
        }
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }
    assert_eq!(
        twin.stats().total_with_status(413),
        1,
        "the twin answered 413 either way"
    );

    // Absurd numbers are refused, never overflowed.
    for line in [
        json!({"lineObjectNumber": "SW10000", "quantity": 1e11}),
        json!({"lineObjectNumber": "SW10000", "quantity": 1e9, "unitPrice": 9e11}),
        json!({"lineObjectNumber": "SW10000", "quantity": 1.5}),
        json!({"lineObjectNumber": "SW10000", "quantity": 1e300}),
    ] {
        let (st, v) = bc.post("/salesOrders", &order("BIG", json!([line]))).await;
        assert_eq!(st, 400, "{line}: {v}");
    }

    // Query errors.
    for (q, want) in [
        ("/items?$filter=colour eq 'red'", "colour"),
        ("/items?$filter=number eq 5", "incompatible"),
        ("/items?$filter=number eq 'x' or number eq 'y'", "'and'"),
        ("/items?$top=many", "$top"),
        ("/items?$count=true", "$count"),
        ("/items?$expand=vendors", "vendors"),
    ] {
        let (st, v) = bc.get(q).await;
        assert_eq!((st, code(&v)), (400, "BadRequest"), "{q}: {v}");
        assert!(v["error"]["message"].as_str().unwrap().contains(want), "{q}: {v}");
    }

    // Unknown routes, records and methods.
    assert_eq!(code(&bc.get("/vendors").await.1), "BadRequest_NotFound");
    let (st, v) = bc.get("/salesOrders(00000000-0000-0000-0000-000000000001)").await;
    assert_eq!((st, code(&v)), (404, "Internal_RecordNotFound"));
    let (st, v) = bc.post("/items", &json!({"number": "X"})).await;
    assert_eq!((st, code(&v)), (405, "BadRequest_MethodNotAllowed"));

    // The twin still answers normally afterwards.
    let (st, v) = bc.post("/salesOrders", &order("OK-1", one_line("SW10000", 1))).await;
    assert_eq!(st, 201, "{v}");
}

async fn validation_rejects_like_business_central(t: Transport) {
    let (twin, _) = erp(bc(), 1000.0);
    twin.set_item_blocked("SW10009", true).unwrap();
    let s = serve(twin.clone(), t).await;
    let mut bc = Bc::new(&s.base, &twin);
    bc.login().await;
    let long = "x".repeat(101);
    let cases = vec![
        (
            "unknown item",
            order("V1", one_line("SW99999", 1)),
            "Internal_InvalidTableRelation",
            "SW99999",
        ),
        (
            "blocked item",
            order("V2", one_line("SW10009", 1)),
            "Internal_InvalidTableRelation",
            "Blocked",
        ),
        (
            "unknown tax code",
            order(
                "V3",
                json!([{"lineObjectNumber": "SW10000", "quantity": 1, "taxCode": "VAT5"}]),
            ),
            "Internal_InvalidTableRelation",
            "Tax Group",
        ),
        (
            "unknown account",
            order(
                "V4",
                json!([{"lineType": "Account", "lineObjectNumber": "9999", "unitPrice": 1}]),
            ),
            "Internal_InvalidTableRelation",
            "G/L Account",
        ),
        (
            "missing customer",
            json!({"externalDocumentNumber": "V5", "salesOrderLines": one_line("SW10000", 1)}),
            "Application_DialogException",
            "customerNumber",
        ),
        (
            "unknown customer",
            json!({"externalDocumentNumber": "V6", "customerNumber": "C99999"}),
            "Internal_InvalidTableRelation",
            "Customer",
        ),
        (
            "configurator option too long",
            order(
                "V7",
                json!([{"lineObjectNumber": "SURCHARGE", "quantity": 1, "unitPrice": 5, "description": long}]),
            ),
            "Application_StringExceededLength",
            "101",
        ),
        (
            "external reference too long",
            order(&"E".repeat(36), one_line("SW10000", 1)),
            "Application_StringExceededLength",
            "35",
        ),
    ];
    for (what, body, c, needle) in cases {
        let (st, v) = bc.post("/salesOrders", &body).await;
        assert_eq!((st, code(&v)), (400, c), "{what}: {v}");
        assert!(v["error"]["message"].as_str().unwrap().contains(needle), "{what}: {v}");
    }
    let rejected = twin
        .log()
        .snapshot()
        .iter()
        .filter(|o| matches!(o.event, Event::ErpOrderRejected { .. }))
        .count();
    assert_eq!(rejected, 8, "every rejection is observed");
    assert!(twin.snapshot().orders.is_empty());

    // Comment and Account lines need no item; discounts and shipping have real targets.
    let body = order(
        "V-OK",
        json!([
            {"lineObjectNumber": "SW10000", "quantity": 2},
            {"lineObjectNumber": "DISCOUNT", "quantity": 1, "unitPrice": -5},
            {"lineObjectNumber": "SHIPPING", "quantity": 1, "unitPrice": 4.95},
            {"lineType": "Account", "lineObjectNumber": "3720", "quantity": 1, "unitPrice": -10},
            {"lineType": "Comment", "description": "Shop order 10001"}
        ]),
    );
    let (st, v) = bc.post("/salesOrders?$expand=salesOrderLines", &body).await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["salesOrderLines"].as_array().unwrap().len(), 5);
    assert!(v["number"].as_str().unwrap().starts_with("S-ORD"));
}

async fn idempotency_modes_default_strict_upsert(t: Transport) {
    // Default (Business Central): a second POST makes a second order; a careful client filters first.
    let (twin, _) = erp(bc(), 1000.0);
    let s = serve(twin.clone(), t).await;
    let mut c = Bc::new(&s.base, &twin);
    c.login().await;
    let body = order("10042", one_line("SW10001", 1));
    let (a, b) = (c.post("/salesOrders", &body).await, c.post("/salesOrders", &body).await);
    assert_eq!((a.0, b.0), (201, 201));
    assert_ne!(a.1["number"], b.1["number"]);
    let (_, v) = c.get("/salesOrders?$filter=externalDocumentNumber eq '10042'").await;
    assert_eq!(v["value"].as_array().unwrap().len(), 2, "both duplicates are visible");

    // Strict: 409 on the second.
    let (twin, _) = erp(ErpProfile::parse("strict", STRICT).unwrap(), 1000.0);
    let s = serve(twin.clone(), t).await;
    let mut c = Bc::new(&s.base, &twin);
    c.login().await;
    assert_eq!(c.post("/salesOrders", &body).await.0, 201);
    let (st, v) = c.post("/salesOrders", &body).await;
    assert_eq!((st, code(&v)), (409, "Internal_EntityWithSameKeyExists"));

    // Upsert (NetSuite-like): the second replaces the first.
    let (twin, _) = erp(ErpProfile::parse("ns", NETSUITE_LIKE).unwrap(), 1000.0);
    let s = serve(twin.clone(), t).await;
    let mut c = Bc::new(&s.base, &twin);
    c.login().await;
    let (s1, a) = c.post("/salesOrders", &body).await;
    let (s2, b) = c.post("/salesOrders", &order("10042", one_line("SW10001", 4))).await;
    assert_eq!((s1, s2), (201, 200));
    assert_eq!(a["id"], b["id"]);
    assert_eq!(twin.snapshot().orders.len(), 1);
}

/// 30 requests, 3 scenario seconds apart, against 10 per 60 s: the same refusals
/// at 1x and 100x, because the window counts scenario time.
async fn throttling_counts_in_scenario_time_at_any_speed(t: Transport) {
    let mut counts = Vec::new();
    for speed in [1.0, 100.0] {
        let mut p = bc();
        p.service_time.base = Duration::from_millis(5);
        p.rate_limits[0].policy = synctwin::twin::ratelimit::Policy::SlidingWindow {
            limit: 10,
            window: Duration::from_secs(60),
        };
        let (twin, clock) = erp(p, speed);
        let s = serve(twin.clone(), t).await;
        let mut c = Bc::new(&s.base, &twin);
        c.login().await;
        let mut refused = 0;
        for _ in 0..30 {
            let r = c
                .req(reqwest::Method::GET, &format!("{}/items?$top=1", c.api))
                .send()
                .await
                .unwrap();
            if r.status() == 429 {
                assert!(r.headers().get("retry-after").is_none(), "BC promises no Retry-After");
                let (_, v) = split(r).await;
                assert_eq!(code(&v), "Application_TooManyRequests");
                refused += 1;
            }
            clock.advance(Duration::from_secs(3));
        }
        let stats = twin.stats().snapshot();
        assert_eq!(
            stats["GET /api/v2.0/companies({id})/items"]
                .by_status
                .get(&429)
                .copied()
                .unwrap_or(0),
            refused
        );
        let observed = twin
            .log()
            .snapshot()
            .iter()
            .filter(|o| matches!(o.event, Event::Throttled { .. }))
            .count() as u64;
        assert_eq!(observed, refused);
        counts.push(refused);
    }
    assert_eq!(counts, vec![10, 10]);
}

async fn shipments_carry_tracking_and_the_external_reference(t: Transport) {
    let mut p = bc();
    p.fulfilment.partial_share = 0.0;
    let (twin, clock) = erp(p, 1000.0);
    let s = serve(twin.clone(), t).await;
    let mut c = Bc::new(&s.base, &twin);
    c.login().await;
    let on_hand = twin.snapshot().items["SW10002"].inventory;
    assert_eq!(
        c.post("/salesOrders", &order("SO-7", one_line("SW10002", 2))).await.0,
        201
    );
    clock.advance(Duration::from_secs(7 * 3600));
    c.login().await;
    let (st, v) = c
        .get("/salesShipments?$filter=externalDocumentNumber eq 'SO-7'&$expand=salesShipmentLines")
        .await;
    assert_eq!(st, 200, "{v}");
    let sh = &v["value"][0];
    assert!(sh["number"].as_str().unwrap().starts_with("S-SHPT"));
    assert_eq!(sh["shippingAgentCode"], "DHL");
    assert!(!sh["packageTrackingNumber"].as_str().unwrap().is_empty());
    assert_eq!(sh["salesShipmentLines"][0]["lineObjectNumber"], "SW10002");
    assert_eq!(sh["salesShipmentLines"][0]["quantity"], 2);
    let (_, i) = c.get("/items?$filter=number eq 'SW10002'").await;
    assert_eq!(
        i["value"][0]["inventory"],
        json!(on_hand - 2),
        "on hand drops when the shipment posts"
    );
}

/// 8 clients × 50 orders at once: 400 orders, 400 distinct numbers, nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_order_posts_lose_nothing() {
    // Real time at 1000x so the worker pool drains as in a run.
    let clock: SharedClock = Arc::new(synctwin::clock::ScaledClock::start(Speed::new(1000.0).unwrap()));
    // At 1000x an hour-long token lasts 3.6 wall seconds: give this test a day.
    let mut profile = bc();
    profile.auth.token_ttl = Duration::from_secs(86_400);
    let cfg = ErpConfig {
        profile,
        seed: 3,
        catalogue: Catalogue::Generated { items: 20 },
        client_id: Some(ID.into()),
        client_secret: Some(SECRET.into()),
    };
    let twin = Arc::new(ErpTwin::new(cfg, clock, ObservationLog::new()).unwrap());
    let s = serve(twin.clone(), Transport::Hyper).await;
    let mut c = Bc::new(&s.base, &twin);
    c.login().await;
    let token = c.token.clone().unwrap();
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let api = c.api.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let http = Client::new();
            let mut numbers = Vec::new();
            for n in 0..50 {
                let body = order(&format!("W{worker}-{n}"), one_line(&format!("SW{}", 10000 + worker), 1));
                let r = http
                    .post(format!("{api}/salesOrders"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let (st, v) = split(r).await;
                assert_eq!(st, 201, "{v}");
                numbers.push(v["number"].as_str().unwrap().to_string());
            }
            numbers
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 400, "all numbers unique");
    let snap = twin.snapshot();
    assert_eq!(snap.orders.len(), 400);
    for worker in 0..8 {
        let item = &snap.items[&format!("SW{}", 10000 + worker)];
        let shipped: i64 = snap
            .shipments
            .values()
            .map(|s| {
                s.lines
                    .iter()
                    .filter(|l| l.line_object_number == item.number)
                    .map(|l| l.quantity)
                    .sum::<i64>()
            })
            .sum();
        assert_eq!(item.reserved + shipped, 50, "every unit reserved or shipped");
    }
    let created = twin
        .log()
        .snapshot()
        .iter()
        .filter(|o| matches!(o.event, Event::ErpOrderCreated { .. }))
        .count();
    assert_eq!(created, 400, "every order observed once");
}

/// Commit, then drop the connection: the client sees a transport error, yet the
/// order exists, and a blind retry duplicates it under Business Central's rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_then_drop_loses_the_answer_but_not_the_order() {
    let mut p = bc();
    p.faults.commit_then_drop = 1.0;
    let (twin, _) = erp(p, 1000.0);
    let s = serve(twin.clone(), Transport::Hyper).await;
    let mut c = Bc::new(&s.base, &twin);
    c.login().await;
    let body = order("DROP-1", one_line("SW10003", 1));
    let r = c
        .req(reqwest::Method::POST, &format!("{}/salesOrders", c.api))
        .json(&body)
        .send()
        .await;
    assert!(r.is_err(), "the connection is dropped");
    let (st, v) = c.get("/salesOrders?$filter=externalDocumentNumber eq 'DROP-1'").await;
    assert_eq!(st, 200);
    assert_eq!(v["value"].as_array().unwrap().len(), 1, "committed before the drop");
    let faults = twin
        .log()
        .snapshot()
        .iter()
        .filter(|o| matches!(&o.event, Event::Fault { kind, .. } if kind == "commit_then_drop"))
        .count();
    assert_eq!(faults, 1);
}

/// `$batch` over real HTTP: independent operations, then an atomic batch that rolls back.
async fn batch_operations_with_and_without_isolation(t: Transport) {
    let (twin, _) = erp(bc(), 1000.0);
    let s = serve(twin.clone(), t).await;
    let mut c = Bc::new(&s.base, &twin);
    c.login().await;
    let cid = twin.company_id().to_string();
    let body = json!({"requests": [
        {"id": "1", "method": "POST", "url": format!("companies({cid})/salesOrders"), "body": order("B-1", one_line("SW10008", 1))},
        {"id": "2", "method": "POST", "url": format!("companies({cid})/salesOrders"), "body": order("B-2", one_line("SW99999", 1))}
    ]});
    for (isolation, want, orders) in [(false, [201, 400], 1), (true, [424, 400], 1)] {
        let mut r = c
            .req(reqwest::Method::POST, &format!("{}/api/v2.0/$batch", s.base))
            .json(&body);
        if isolation {
            r = r.header("Isolation", "snapshot");
        }
        let (st, v) = split(r.send().await.unwrap()).await;
        assert_eq!(st, 200, "{v}");
        let got: Vec<u64> = v["responses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_u64().unwrap())
            .collect();
        assert_eq!(got, want, "isolation {isolation}: {v}");
        assert_eq!(twin.snapshot().orders.len(), orders);
    }
}
