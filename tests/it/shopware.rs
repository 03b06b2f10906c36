//! The Shopware twin's contract suite. Each contract runs on both transports
//! (the hyper server and wiremock), so tests written against either see the
//! same twin.

use std::time::Duration;

use serde_json::{json, Value};
use synctwin::clock::Clock;
use synctwin::observe::Event;
use synctwin::twin::shopware::ShopwareProfile;

use crate::helpers::{code, fixture_twin, serve, split, Admin, Ids, Transport};

on_both_transports!(
    auth_tokens_expire_and_errors_use_league_codes,
    password_and_refresh_grants_work_like_an_ipaas_connector,
    failed_logins_are_throttled_and_success_resets,
    paging_sorting_and_totals,
    filters_follow_associations,
    json_and_jsonapi_by_accept,
    bad_requests_get_shopware_errors,
    sync_is_all_or_nothing_with_pointers,
    transitions_follow_the_tables_and_cancel_restores_stock,
    patch_writes_return_204_with_location,
    closeout_restock_without_indexing_stays_unavailable,
);

fn profile() -> ShopwareProfile {
    ShopwareProfile::default_profile()
}

async fn auth_tokens_expire_and_errors_use_league_codes(t: Transport) {
    let (twin, clock) = fixture_twin(profile());
    let s = serve(twin, t).await;
    let mut admin = Admin::new(&s.base);
    let (status, v) = admin.post_json("/api/search/product", &json!({"limit": 1})).await;
    assert_eq!((status, code(&v)), (401, "9"));
    assert_eq!(v["errors"][0]["detail"], "Missing \"Authorization\" header");

    let (status, v) = split(admin.token_response("SWIATESTCLIENT", "wrong").await).await;
    assert_eq!((status, code(&v)), (401, "4"));

    let r = admin.token_response("SWIATESTCLIENT", "test-secret").await;
    let (status, v) = split(r).await;
    assert_eq!(status, 200);
    assert_eq!(v["expires_in"], 600);
    assert_eq!(v["token_type"], "Bearer");
    assert!(
        v.get("refresh_token").is_none(),
        "client_credentials gives no refresh token"
    );
    admin.token = Some(v["access_token"].as_str().unwrap().to_string());
    assert_eq!(
        admin.post_json("/api/search/product", &json!({"limit": 1})).await.0,
        200
    );

    clock.advance(Duration::from_secs(600));
    let (status, v) = admin.post_json("/api/search/product", &json!({"limit": 1})).await;
    assert_eq!((status, code(&v)), (401, "9"));
    assert_eq!(v["errors"][0]["detail"], "Access token is expired");

    admin.token = Some("forged".into());
    let (_, v) = admin.post_json("/api/search/product", &json!({})).await;
    assert_eq!(v["errors"][0]["detail"], "Access token could not be verified");
}

async fn password_and_refresh_grants_work_like_an_ipaas_connector(t: Transport) {
    let (twin, clock) = fixture_twin(profile());
    let password = twin.credentials().admin_password.clone();
    let s = serve(twin, t).await;
    let http = reqwest::Client::new();
    let token = |body: Value| http.post(format!("{}/api/oauth/token", s.base)).json(&body).send();
    let (status, v) = split(token(json!({"grant_type": "password", "client_id": "administration", "username": "admin", "password": password, "scopes": "write"})).await.unwrap()).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["expires_in"], 600);
    let refresh = v["refresh_token"]
        .as_str()
        .expect("the password grant returns a refresh token")
        .to_string();
    let access = v["access_token"].as_str().unwrap().to_string();
    let r = http
        .post(format!("{}/api/search/product", s.base))
        .bearer_auth(&access)
        .json(&json!({"limit": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let (status, v) = split(
        token(
            json!({"grant_type": "password", "client_id": "administration", "username": "admin", "password": "nope"}),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((status, code(&v)), (400, "6"));
    let (status, _) = split(
        token(json!({"grant_type": "password", "client_id": "other", "username": "admin", "password": password}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);

    // After the access token expired, the refresh token gets a new pair; it is single-use.
    clock.advance(Duration::from_secs(900));
    let (status, v) = split(
        token(json!({"grant_type": "refresh_token", "client_id": "administration", "refresh_token": refresh}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_ne!(v["refresh_token"].as_str().unwrap(), refresh);
    let (status, v) = split(
        token(json!({"grant_type": "refresh_token", "client_id": "administration", "refresh_token": refresh}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code(&v)), (401, "8"));
}

async fn failed_logins_are_throttled_and_success_resets(t: Transport) {
    let (twin, clock) = fixture_twin(profile());
    let s = serve(twin.clone(), t).await;
    let admin = Admin::new(&s.base);
    for _ in 0..10 {
        assert_eq!(admin.token_response("SWIATESTCLIENT", "wrong").await.status(), 401);
    }
    let r = admin.token_response("SWIATESTCLIENT", "test-secret").await;
    assert_eq!(r.status(), 429, "10 failures reach the first time_backoff step");
    assert!(
        r.headers().get("retry-after").is_none(),
        "6.6 puts the wait only in the body"
    );
    let v: Value = r.json().await.unwrap();
    assert_eq!(code(&v), "FRAMEWORK__AUTH_THROTTLED");
    assert_eq!(v["errors"][0]["meta"]["parameters"]["seconds"], 10);
    assert!(twin
        .observations()
        .snapshot()
        .iter()
        .any(|o| matches!(o.event, Event::Throttled { status: 429, .. })));

    clock.advance(Duration::from_secs(10));
    assert_eq!(
        admin.token_response("SWIATESTCLIENT", "test-secret").await.status(),
        200
    );
    // The success reset the counter: failures start from zero again.
    assert_eq!(admin.token_response("SWIATESTCLIENT", "wrong").await.status(), 401);
}

fn numbers(v: &Value) -> Vec<String> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["productNumber"].as_str().unwrap().to_string())
        .collect()
}

async fn paging_sorting_and_totals(t: Transport) {
    let (twin, _) = fixture_twin(profile());
    let s = serve(twin, t).await;
    let mut admin = Admin::new(&s.base);
    admin.login().await;
    let sort = json!([{"field": "productNumber", "order": "ASC", "naturalSorting": true}]);
    let mut seen = Vec::new();
    for page in 1..=4 {
        let (status, v) = admin
            .post_json(
                "/api/search/product",
                &json!({"limit": 10, "page": page, "sort": sort, "total-count-mode": 1}),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(v["total"], 33, "exact count");
        seen.extend(numbers(&v));
    }
    assert_eq!(seen.len(), 33, "pages are disjoint and complete");
    assert_eq!(seen[0], "SW10000");
    assert_eq!(seen[32], "SW30000.1");
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), 33);

    let (_, v) = admin.post_json("/api/search/product", &json!({"limit": 10})).await;
    assert_eq!(v["total"], 10, "total-count-mode 0: the page size");
    let (_, v) = admin
        .post_json("/api/search/product", &json!({"limit": 2, "total-count-mode": 2}))
        .await;
    assert_eq!(v["total"], 13, "next-pages: limit*6+1");
    let (_, v) = admin
        .post_json("/api/search/product", &json!({"page": 3, "sort": sort}))
        .await;
    assert_eq!(numbers(&v)[0], "SW10000", "page without limit starts at offset 0");
    let (_, v) = admin
        .post_json(
            "/api/search/product",
            &json!({"sort": [{"field": "stock", "order": "DESC"}], "limit": 1}),
        )
        .await;
    assert_eq!(numbers(&v), vec!["SW10029"]);

    let (status, v) = admin.post_json("/api/search/product", &json!({"limit": 501})).await;
    assert_eq!((status, code(&v)), (400, "FRAMEWORK__QUERY_LIMIT_EXCEEDED"));
    assert_eq!(v["errors"][0]["source"]["pointer"], "/limit");

    let (status, v) = admin
        .post_json("/api/search-ids/product", &json!({"limit": 3, "total-count-mode": 1}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["total"], 33);
    assert!(v["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|id| id.as_str().is_some_and(|s| s.len() == 32)));
}

async fn filters_follow_associations(t: Transport) {
    let (twin, _) = fixture_twin(profile());
    let s = serve(twin, t).await;
    let mut admin = Admin::new(&s.base);
    admin.login().await;
    let (status, v) = admin
        .post_json(
            "/api/search/order",
            &json!({
                "filter": [
                    {"type": "equals", "field": "lineItems.payload.productNumber", "value": "SW10001"},
                    {"type": "equals", "field": "deliveries.stateMachineState.technicalName", "value": "open"},
                    {"type": "multi", "operator": "or", "queries": [
                        {"type": "range", "field": "createdAt", "parameters": {"gte": "2026-11-26T23:00:00Z"}},
                        {"type": "range", "field": "updatedAt", "parameters": {"gte": "2026-11-26T23:00:00Z"}}
                    ]}
                ],
                "associations": {"lineItems": {"sort": [{"field": "position", "order": "DESC"}]}, "deliveries": {"associations": {"stateMachineState": {}}}},
                "includes": {"order_line_item": ["quantity", "payload"]}
            }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["total"], 1);
    let order = &v["data"][0];
    assert_eq!(order["orderNumber"], "10000");
    assert_eq!(
        order["lineItems"][0]["payload"]["productNumber"], "SW10001",
        "nested sort DESC by position"
    );
    assert!(order["lineItems"][0].get("id").is_none(), "includes trims line items");
    assert_eq!(order["deliveries"][0]["stateMachineState"]["technicalName"], "open");

    let (_, v) = admin
        .post_json(
            "/api/search/order",
            &json!({"filter": [{"type": "equals", "field": "lineItems.payload.productNumber", "value": "SW99999"}]}),
        )
        .await;
    assert_eq!(v["total"], 0);
}

async fn json_and_jsonapi_by_accept(t: Transport) {
    let (twin, _) = fixture_twin(profile());
    let s = serve(twin, t).await;
    let mut admin = Admin::new(&s.base);
    admin.login().await;
    let r = admin
        .req(reqwest::Method::POST, "/api/search/order")
        .header("accept", "application/vnd.api+json")
        .json(&json!({"associations": {"lineItems": {}}, "total-count-mode": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/vnd.api+json");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["data"][0]["type"], "order");
    assert_eq!(v["data"][0]["attributes"]["orderNumber"], "10000");
    assert_eq!(
        v["data"][0]["relationships"]["lineItems"]["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(v["included"].as_array().unwrap().len(), 2);
    assert_eq!(v["meta"]["total"], 1);

    let r = admin
        .req(reqwest::Method::GET, &format!("/api/order/{}", Ids::ORDER))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let (status, v) = split(r).await;
    assert_eq!(status, 200);
    assert_eq!(v["data"]["id"], Ids::ORDER);

    let r = admin
        .req(reqwest::Method::GET, &format!("/api/order/{}", Ids::ORDER))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = admin
        .req(reqwest::Method::GET, "/api/order/ffffffffffffffffffffffffffffffff")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let (status, v) = split(r).await;
    assert_eq!((status, code(&v)), (404, "FRAMEWORK__RESOURCE_NOT_FOUND"));
}

async fn bad_requests_get_shopware_errors(t: Transport) {
    let (twin, _) = fixture_twin(profile());
    let s = serve(twin, t).await;
    let mut admin = Admin::new(&s.base);
    admin.login().await;
    let r = admin
        .req(reqwest::Method::POST, "/api/_action/sync")
        .header("content-type", "application/json")
        .body("{\"a\": [")
        .send()
        .await
        .unwrap();
    let (status, v) = split(r).await;
    assert_eq!(status, 400);
    assert_eq!(v["errors"][0]["status"], "400", "status is a string");
    assert!(v["errors"][0]["detail"].as_str().unwrap().contains("malformed"));

    let r = admin
        .req(reqwest::Method::POST, "/api/_action/sync")
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let (status, v) = split(
        admin
            .req(reqwest::Method::GET, "/api/nothing-here/x/y")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code(&v)), (404, "FRAMEWORK__ROUTE_NOT_FOUND"));
    let r = admin
        .req(reqwest::Method::GET, "/api/_action/sync")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    let (status, v) = admin.post_json("/api/search/category", &json!({})).await;
    assert_eq!((status, code(&v)), (400, "FRAMEWORK__DEFINITION_NOT_FOUND"));
    let (status, v) = admin
        .post_json(
            "/api/search/order",
            &json!({"filter": [{"type": "fuzzy", "field": "x"}]}),
        )
        .await;
    assert_eq!((status, code(&v)), (400, "FRAMEWORK__INVALID_FILTER_QUERY"));
    assert_eq!(v["errors"][0]["source"]["pointer"], "/filter/0/type");

    // An oversized body is refused with 413, not buffered.
    let big = vec![b' '; 33 * 1024 * 1024];
    let r = admin
        .req(reqwest::Method::POST, "/api/_action/sync")
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await;
    match r {
        Ok(r) => assert_eq!(r.status(), 413),
        // hyper may close the connection while the client is still sending.
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }
}

async fn sync_is_all_or_nothing_with_pointers(t: Transport) {
    let (twin, _) = fixture_twin(profile());
    let s = serve(twin.clone(), t).await;
    let mut admin = Admin::new(&s.base);
    admin.login().await;
    let bad = json!({"stock-updates": {"entity": "product", "action": "upsert", "payload": [
        {"id": {"resolver": "product.number", "value": "SW10000"}, "stock": 99},
        {"id": {"resolver": "product.number", "value": "SW10001"}, "stock": "ninety"},
        {"id": {"resolver": "product.number", "value": "NOPE"}, "stock": 1}
    ]}});
    let (status, v) = admin.post_json("/api/_action/sync", &bad).await;
    assert_eq!(status, 400);
    let pointers: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["source"]["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(pointers, vec!["/stock-updates/1/stock", "/stock-updates/2/id"]);
    assert_eq!(twin.stock_of("SW10000"), Some((10, true)), "nothing written");

    let good = json!([{"key": "stock-updates", "entity": "product", "action": "upsert", "payload": [
        {"id": {"resolver": "product.number", "value": "SW10000"}, "stock": 99},
        {"id": {"resolver": "product.number", "value": "SW10001"}, "stock": 0}
    ]}, {"entity": "product", "action": "delete", "payload": [{"id": "ffffffffffffffffffffffffffffffff"}]}]);
    let (status, v) = admin.post_json("/api/_action/sync", &good).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["product"].as_array().unwrap().len(), 2);
    assert_eq!(v["notFound"]["product"], json!(["ffffffffffffffffffffffffffffffff"]));
    assert_eq!(twin.stock_of("SW10000"), Some((99, true)));
    let written: Vec<_> = twin
        .observations()
        .snapshot()
        .into_iter()
        .filter_map(|o| match o.event {
            Event::StockWritten {
                sku,
                before,
                after,
                via,
                ..
            } => Some((sku, before, after, via)),
            _ => None,
        })
        .collect();
    assert_eq!(
        written,
        vec![
            ("SW10000".into(), 10, 99, "sync".into()),
            ("SW10001".into(), 11, 0, "sync".into())
        ]
    );

    let (status, v) = admin
        .post_json(
            "/api/_action/sync",
            &json!({"x": {"entity": "product", "action": "upsert", "payload": []}}),
        )
        .await;
    assert_eq!((status, code(&v)), (400, "FRAMEWORK__INVALID_SYNC_OPERATION"));
}

async fn transitions_follow_the_tables_and_cancel_restores_stock(t: Transport) {
    let (twin, _) = fixture_twin(profile());
    let s = serve(twin.clone(), t).await;
    let mut admin = Admin::new(&s.base);
    admin.login().await;
    let ship = format!("/api/_action/order_delivery/{}/state/ship", Ids::DELIVERY);
    let (status, v) = admin.post_json(&ship, &json!({"sendMail": false})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["technicalName"], "shipped", "the bare state, no data wrapper");
    let (status, v) = admin.post_json(&ship, &json!({})).await;
    assert_eq!((status, code(&v)), (400, "SYSTEM__ILLEGAL_STATE_TRANSITION"));
    assert_eq!(
        v["errors"][0]["meta"]["parameters"]["possibleTransitions"],
        json!(["retour", "retour_partially", "cancel", "reopen"])
    );

    let complete = format!("/api/_action/order/{}/state/complete", Ids::ORDER);
    let (status, v) = admin.post_json(&complete, &json!({})).await;
    assert_eq!(
        (status, code(&v)),
        (400, "SYSTEM__ILLEGAL_STATE_TRANSITION"),
        "no shortcut from open"
    );

    let (status, v) = admin
        .post_json(
            "/api/_action/order/ffffffffffffffffffffffffffffffff/state/process",
            &json!({}),
        )
        .await;
    assert_eq!((status, code(&v)), (400, "SYSTEM__STATE_MACHINE_INVALID_ENTITY_ID"));

    // 6.6 stock: cancel gives the order's units back, reopen takes them again.
    assert_eq!(twin.stock_of("SW10000").unwrap().0, 10);
    let (status, _) = admin
        .post_json(&format!("/api/_action/order/{}/state/cancel", Ids::ORDER), &json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(twin.stock_of("SW10000").unwrap().0, 12);
    assert_eq!(twin.stock_of("SW10001").unwrap().0, 12);
    admin
        .post_json(&format!("/api/_action/order/{}/state/reopen", Ids::ORDER), &json!({}))
        .await;
    assert_eq!(twin.stock_of("SW10000").unwrap().0, 10);
    let transitions = twin
        .observations()
        .snapshot()
        .into_iter()
        .filter(|o| matches!(o.event, Event::StateChanged { .. }))
        .count();
    assert_eq!(transitions, 3, "ship, cancel, reopen");
}

async fn patch_writes_return_204_with_location(t: Transport) {
    let (twin, _) = fixture_twin(profile());
    let s = serve(twin.clone(), t).await;
    let mut admin = Admin::new(&s.base);
    admin.login().await;
    let (status, _, loc) = admin
        .patch_json(
            &format!("/api/order-delivery/{}", Ids::DELIVERY),
            &json!({"trackingCodes": ["1Z999"]}),
        )
        .await;
    assert_eq!(status, 204);
    assert!(loc
        .unwrap()
        .ends_with(&format!("/api/order-delivery/{}", Ids::DELIVERY)));
    assert!(twin.observations().snapshot().iter().any(|o| matches!(&o.event,
        Event::TrackingSet { codes, order_number, .. } if codes == &vec!["1Z999".to_string()] && order_number.as_deref() == Some("10000"))));

    let (status, v, _) = admin
        .patch_json(
            &format!("/api/order-delivery/{}", Ids::DELIVERY),
            &json!({"stateId": "x"}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(v["errors"][0]["detail"].as_str().unwrap().contains("state-transition"));
    let (status, v, _) = admin
        .patch_json(&format!("/api/product/{}", Ids::CLOSEOUT), &json!({"available": true}))
        .await;
    assert_eq!(
        (status, v["errors"][0]["detail"].as_str().unwrap()),
        (400, "This field is write-protected.")
    );
    let (status, v, _) = admin
        .patch_json(&format!("/api/product/{}", Ids::CLOSEOUT), &json!([{"stock": 1}]))
        .await;
    assert_eq!(status, 400);
    assert!(v["errors"][0]["detail"].as_str().unwrap().contains("sync"));
    let (status, _, _) = admin
        .patch_json(&format!("/api/product/{}", Ids::CLOSEOUT), &json!({"stock": 4}))
        .await;
    assert_eq!(status, 204);
    assert_eq!(twin.stock_of("SW20000"), Some((4, true)), "PATCH indexes synchronously");
    let (status, v, _) = admin
        .patch_json("/api/product/ffffffffffffffffffffffffffffffff", &json!({"stock": 4}))
        .await;
    assert_eq!((status, code(&v)), (404, "FRAMEWORK__RESOURCE_NOT_FOUND"));
}

async fn closeout_restock_without_indexing_stays_unavailable(t: Transport) {
    let (twin, _) = fixture_twin(profile());
    let s = serve(twin.clone(), t).await;
    let mut admin = Admin::new(&s.base);
    admin.login().await;
    let body = json!({"s": {"entity": "product", "action": "upsert", "payload": [
        {"id": {"resolver": "product.number", "value": "SW20000"}, "stock": 5},
        {"id": {"resolver": "product.number", "value": "SW30000.1"}, "stock": 5}
    ]}});
    let r = admin
        .req(reqwest::Method::POST, "/api/_action/sync")
        .header("indexing-behavior", "disable-indexing")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        twin.stock_of("SW20000"),
        Some((5, false)),
        "restocked but still sold out"
    );
    assert_eq!(
        twin.stock_of("SW30000.1"),
        Some((5, false)),
        "variant inherits closeout"
    );
    let r = admin
        .req(reqwest::Method::POST, "/api/_action/sync")
        .header("indexing-behavior", "use-queue-indexing")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        twin.stock_of("SW20000"),
        Some((5, true)),
        "queue indexing still runs the synchronous stock updater"
    );
    assert_eq!(twin.stock_of("SW30000.1"), Some((5, true)));
}

// ---- limits, capacity and concurrency (hyper only: they need real parallelism) ----

fn edge_profile() -> ShopwareProfile {
    ShopwareProfile::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("mocks/shopware/edge-limited.toml"))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_proxy_limit_counts_in_scenario_time_whatever_the_speed() {
    let mut p = edge_profile();
    p.faults.timeout = 0.0;
    p.rate_limits[0].policy = synctwin::twin::ratelimit::Policy::SlidingWindow {
        limit: 50,
        window: Duration::from_secs(60),
    };
    let (twin, clock) = fixture_twin(p);
    let s = serve(twin.clone(), Transport::Hyper).await;
    let mut admin = Admin::new(&s.base);
    admin.login().await;
    for _ in 0..70 {
        let r = admin
            .req(reqwest::Method::POST, "/api/search-ids/product")
            .json(&json!({"limit": 1}))
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            assert!(
                r.headers().get("retry-after").is_none(),
                "the proxy sends no Retry-After"
            );
            assert!(r.text().await.unwrap().contains("nginx"));
        }
    }
    let stats = twin.stats().snapshot();
    let ids = &stats["POST /api/search-ids/product"];
    // The token request counted against /api/* too: 49 searches pass, 21 are refused.
    assert_eq!(ids.by_status.get(&200), Some(&49));
    assert_eq!(ids.by_status.get(&429), Some(&21));
    // One scenario minute later the window has moved on.
    clock.advance(Duration::from_secs(60));
    let r = admin
        .req(reqwest::Method::POST, "/api/search-ids/product")
        .json(&json!({"limit": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(clock.now().as_secs_f64(), 60.0);
}

fn direct(path: &str, token: Option<&str>, body: Value) -> synctwin::twin::TwinRequest {
    synctwin::twin::TwinRequest::local(hyper::Method::POST, path, serde_json::to_vec(&body).unwrap())
        .with_bearer(token)
        .with_header("content-type", "application/json")
}

fn direct_token(twin: &synctwin::twin::shopware::ShopwareTwin) -> String {
    use synctwin::twin::Twin;
    let body =
        json!({"grant_type": "client_credentials", "client_id": "SWIATESTCLIENT", "client_secret": "test-secret"});
    let r = twin.handle(direct("/api/oauth/token", None, body));
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

fn stock_sync(n: usize) -> Value {
    let payload: Vec<Value> = (0..n)
        .map(|i| json!({"id": {"resolver": "product.number", "value": format!("SW{}", 10000 + i % 30)}, "stock": 5}))
        .collect();
    json!({"s": {"entity": "product", "action": "upsert", "payload": payload}})
}

#[test]
fn service_times_scale_with_batch_size_and_speed() {
    use synctwin::twin::Twin;
    for (speed, expect_small, expect_big) in [(1000.0, 65, 425), (100.0, 650, 4250)] {
        let (twin, _) = crate::helpers::fixture_twin_at(profile(), speed);
        let token = direct_token(&twin);
        // base 25 ms + 10 × (1 ms write + 3 ms indexing) = 65 ms of scenario time.
        let small = twin.handle(direct("/api/_action/sync", Some(&token), stock_sync(10)));
        assert_eq!(small.status, 200);
        assert_eq!(small.delay, Duration::from_micros(expect_small), "at {speed}x");
        // 100 records: 25 + 100 × 4 = 425 ms.
        let big = twin.handle(direct("/api/_action/sync", Some(&token), stock_sync(100)));
        assert_eq!(big.delay, Duration::from_micros(expect_big), "at {speed}x");
    }
}

#[test]
fn a_full_worker_pool_and_queue_answer_503() {
    use synctwin::twin::Twin;
    let mut p = profile();
    p.pool = synctwin::twin::capacity::PoolConfig { workers: 1, queue: 1 };
    let (twin, clock) = crate::helpers::fixture_twin_at(p, 1000.0);
    let token = direct_token(&twin);
    clock.advance(Duration::from_secs(1));
    // All three arrive at the same scenario instant: one runs, one waits, one is refused.
    let statuses: Vec<u16> = (0..3)
        .map(|_| {
            twin.handle(direct("/api/_action/sync", Some(&token), stock_sync(5)))
                .status
        })
        .collect();
    assert_eq!(statuses, vec![200, 200, 503]);
    assert_eq!(twin.stock_of("SW10000").unwrap().0, 5);
    assert!(twin
        .observations()
        .snapshot()
        .iter()
        .any(|o| matches!(&o.event, Event::Fault { kind, status: 503, .. } if kind == "overloaded")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_lose_nothing() {
    // Real time at 1000x, so the worker pool drains as it would in a run.
    let twin = crate::helpers::fixture_twin_scaled(profile(), 1000.0);
    let s = serve(twin.clone(), Transport::Hyper).await;
    let mut admin = Admin::new(&s.base);
    admin.login().await;
    let token = admin.token.clone().unwrap();
    let mut tasks = Vec::new();
    for worker in 0..8u32 {
        let base = s.base.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut ok = 0;
            for round in 0..25u32 {
                // Each worker owns three products and sets them to a known figure each round.
                let payload: Vec<Value> = (0..3)
                    .map(|k| json!({"id": {"resolver": "product.number", "value": format!("SW{}", 10000 + worker * 3 + k)}, "stock": round * 10 + k}))
                    .collect();
                let r = http
                    .post(format!("{base}/api/_action/sync"))
                    .bearer_auth(&token)
                    .json(&json!({"w": {"entity": "product", "action": "upsert", "payload": payload}}))
                    .send()
                    .await
                    .unwrap();
                if r.status() == 200 {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, 200);
    for worker in 0..8u32 {
        for k in 0..3 {
            assert_eq!(
                twin.stock_of(&format!("SW{}", 10000 + worker * 3 + k)).unwrap().0,
                i64::from(240 + k)
            );
        }
    }
    let writes = twin
        .observations()
        .snapshot()
        .iter()
        .filter(|o| matches!(o.event, Event::StockWritten { .. }))
        .count();
    assert_eq!(writes, 600, "every write observed once");
}
