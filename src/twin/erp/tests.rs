//! Tests of the whole twin through [`Twin::handle`], without a transport:
//! the ERP's own totals against a naive sum, the speed factor, the pool and
//! timeouts, ambiguous failures, idempotency modes and fulfilment.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};

use super::*;
use crate::clock::{ManualClock, Speed};
use crate::twin::{Delivery, Twin, TwinRequest, TwinResponse};

fn twin_with(profile: ErpProfile, speed: f64) -> (ErpTwin, ManualClock) {
    let clock = ManualClock::with_speed(Speed::new(speed).unwrap());
    let mut cfg = ErpConfig::new(profile, 7);
    cfg.catalogue = Catalogue::Generated { items: 20 };
    cfg.client_id = Some("client".into());
    cfg.client_secret = Some("secret".into());
    let twin = ErpTwin::new(cfg, Arc::new(clock.clone()), ObservationLog::new()).unwrap();
    (twin, clock)
}

fn bc() -> ErpProfile {
    ErpProfile::business_central()
}

fn request(method: &str, path: &str, token: Option<&str>, body: &[u8], ctype: &str) -> TwinRequest {
    TwinRequest::local(method.parse().unwrap(), path, Bytes::copy_from_slice(body))
        .with_bearer(token)
        .with_header("content-type", ctype)
}

fn token(t: &ErpTwin) -> String {
    let r = t.handle(request(
        "POST",
        "/oauth/token",
        None,
        b"grant_type=client_credentials&client_id=client&client_secret=secret",
        "application/x-www-form-urlencoded",
    ));
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

fn post(t: &ErpTwin, tok: &str, path: &str, body: &Value) -> (u16, Value, TwinResponse) {
    let r = t.handle(request(
        "POST",
        &format!("{}{path}", t.api_base()),
        Some(tok),
        body.to_string().as_bytes(),
        "application/json",
    ));
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v, r)
}

fn get(t: &ErpTwin, tok: &str, path: &str) -> (u16, Value) {
    let r = t.handle(request(
        "GET",
        &format!("{}{path}", t.api_base()),
        Some(tok),
        b"",
        "application/json",
    ));
    (r.status, serde_json::from_slice(&r.body).unwrap_or(Value::Null))
}

fn order(ext: &str, lines: Value) -> Value {
    json!({"externalDocumentNumber": ext, "customerNumber": "C00010", "salesOrderLines": lines})
}

/// Four lines of 0.25 at 7 %: a naive sum of gross line values says 1.07, the
/// ERP says 1.08 per line (each 1.75 ct rounds up) and 1.07 per document.
#[test]
fn erp_totals_differ_from_a_naive_sum_exactly_where_rounding_says() {
    let lines: Value = (0..4)
        .map(|_| json!({"lineObjectNumber": "SURCHARGE", "quantity": 1, "unitPrice": 0.25, "taxCode": "VAT7"}))
        .collect();
    let naive: f64 = (0..4).map(|_| 0.25 * 1.07).sum();
    assert!((naive - 1.07).abs() < 1e-9);

    let (t, _) = twin_with(bc(), 1000.0);
    let tok = token(&t);
    let (s, v, _) = post(
        &t,
        &tok,
        "/salesOrders?$expand=salesOrderLines",
        &order("A", lines.clone()),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["totalTaxAmount"], json!(0.08));
    assert_eq!(v["totalAmountIncludingTax"], json!(1.08));
    assert_eq!(v["salesOrderLines"][0]["totalTaxAmount"], json!(0.02));

    let strict = ErpProfile::parse("strict", profile::STRICT).unwrap();
    let (t, _) = twin_with(strict, 1000.0);
    let tok = token(&t);
    let (s, v, _) = post(&t, &tok, "/salesOrders?$expand=salesOrderLines", &order("A", lines));
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["totalTaxAmount"], json!(0.07));
    assert_eq!(v["totalAmountIncludingTax"], json!(1.07));
    let line_tax: Vec<f64> = v["salesOrderLines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["totalTaxAmount"].as_f64().unwrap())
        .collect();
    assert_eq!(line_tax, vec![0.02, 0.02, 0.01, 0.02], "lines add up to the header");

    // A tie: 1.50 at 7 % = 10.5 ct. Half-up (BC) 0.11, half-even (strict) 0.10.
    let tie = json!([{"lineObjectNumber": "SURCHARGE", "quantity": 1, "unitPrice": 1.5, "taxCode": "VAT7"}]);
    let (t, _) = twin_with(bc(), 1000.0);
    let tok = token(&t);
    assert_eq!(
        post(&t, &tok, "/salesOrders", &order("B", tie.clone())).1["totalTaxAmount"],
        json!(0.11)
    );
    let (t, _) = twin_with(ErpProfile::parse("strict", profile::STRICT).unwrap(), 1000.0);
    let tok = token(&t);
    assert_eq!(
        post(&t, &tok, "/salesOrders", &order("B", tie)).1["totalTaxAmount"],
        json!(0.1)
    );
}

#[test]
fn client_totals_are_ignored_and_gross_customers_get_tax_extracted() {
    let (t, _) = twin_with(bc(), 1000.0);
    let tok = token(&t);
    let (s, c, _) = post(
        &t,
        &tok,
        "/customers",
        &json!({"displayName": "Gross GmbH", "email": "g@example.com", "pricesIncludeTax": true}),
    );
    assert_eq!(s, 201);
    let body = json!({
        "externalDocumentNumber": "G1", "customerNumber": c["number"], "totalAmountIncludingTax": 999,
        "discountAmount": 1.19,
        "salesOrderLines": [
            {"lineObjectNumber": "SURCHARGE", "quantity": 2, "unitPrice": 11.9, "taxCode": "VAT19"},
            {"lineType": "Comment", "description": "Engraving: HELLO"}
        ]
    });
    let (s, v, _) = post(&t, &tok, "/salesOrders?$expand=salesOrderLines", &body);
    assert_eq!(s, 201, "{v}");
    // 23.80 gross minus 1.19 invoice discount = 22.61 gross; tax 22.61 × 19/119 = 3.61.
    assert_eq!(v["pricesIncludeTax"], json!(true));
    assert_eq!(v["totalAmountIncludingTax"], json!(22.61));
    assert_eq!(v["totalTaxAmount"], json!(3.61));
    assert_eq!(v["totalAmountExcludingTax"], json!(19.0));
    assert_eq!(v["salesOrderLines"][1]["lineType"], "Comment");
}

#[test]
fn delays_scale_with_speed_and_throttling_counts_in_scenario_time() {
    let mut p = bc();
    p.rate_limits[0].policy = crate::twin::ratelimit::Policy::SlidingWindow {
        limit: 10,
        window: Duration::from_secs(60),
    };
    let mut results = Vec::new();
    for speed in [1.0, 100.0] {
        let (t, clock) = twin_with(p.clone(), speed);
        let tok = token(&t);
        let mut refused = 0;
        let mut delays = Vec::new();
        for _ in 0..30 {
            let r = t.handle(request(
                "GET",
                &format!("{}/items?$top=1", t.api_base()),
                Some(&tok),
                b"",
                "x",
            ));
            if r.status == 429 {
                refused += 1;
                assert!(r.header("retry-after").is_none(), "BC promises no Retry-After");
            } else {
                delays.push(r.delay);
            }
            clock.advance(Duration::from_secs(3));
        }
        results.push((refused, delays[0]));
    }
    // 30 requests 3 s apart against 10 per 60 s: 10 pass (0-27 s), 10 are refused
    // (30-57 s), then each hit leaving the window makes room for one more.
    assert_eq!(results[0].0, results[1].0);
    assert_eq!(results[0].0, 10);
    // 60 ms base + 50 us per entity read, divided by the speed.
    assert_eq!(results[0].1, Duration::from_micros(60_050));
    assert_eq!(results[1].1, Duration::from_nanos(600_500));
}

#[test]
fn a_full_pool_and_queue_answer_429_and_long_calls_time_out() {
    let (t, _) = twin_with(bc(), 1000.0);
    let tok = token(&t);
    let statuses: Vec<u16> = (0..101)
        .map(|_| {
            t.handle(request(
                "GET",
                &format!("{}/items?$top=1", t.api_base()),
                Some(&tok),
                b"",
                "x",
            ))
            .status
        })
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        100,
        "5 in process + 95 queued"
    );
    assert_eq!(statuses[100], 429);
    let throttled = t
        .log()
        .snapshot()
        .into_iter()
        .filter(|o| matches!(o.event, Event::Throttled { status: 429, .. }))
        .count();
    assert_eq!(throttled, 1);

    let mut p = bc();
    p.api.operation_timeout = Duration::from_secs(1);
    p.api.gateway_timeout = Duration::from_secs(2);
    p.service_time.per_line = Duration::from_millis(100);
    let (t, _) = twin_with(p, 1000.0);
    let tok = token(&t);
    let lines = |n: usize| -> Value {
        (0..n)
            .map(|_| json!({"lineObjectNumber": "SW10000", "quantity": 1}))
            .collect()
    };
    assert_eq!(post(&t, &tok, "/salesOrders", &order("ok", lines(5))).0, 201);
    let (s, v, r) = post(&t, &tok, "/salesOrders", &order("slow", lines(15)));
    assert_eq!((s, v["error"]["code"].as_str()), (408, Some("RequestTimeout")));
    assert_eq!(r.delay, Duration::from_millis(1));
    assert_eq!(post(&t, &tok, "/salesOrders", &order("slower", lines(30))).0, 504);
    assert_eq!(t.snapshot().orders.len(), 1, "timed-out calls write nothing");
}

#[test]
fn commit_then_timeout_and_drop_leave_the_order_committed() {
    for (kind, status, delivery) in [("timeout", 504, Delivery::Respond), ("drop", 504, Delivery::Drop)] {
        let mut p = bc();
        if kind == "timeout" {
            p.faults.commit_then_timeout = 1.0;
        } else {
            p.faults.commit_then_drop = 1.0;
        }
        let (t, _) = twin_with(p, 1000.0);
        let tok = token(&t);
        let body = order("AMB-1", json!([{"lineObjectNumber": "SW10001", "quantity": 1}]));
        let (s, _, r) = post(&t, &tok, "/salesOrders", &body);
        assert_eq!((s, r.delivery), (status, delivery), "{kind}");
        // The careful client checks before retrying, and finds the order.
        let (_, v) = get(&t, &tok, "/salesOrders?$filter=externalDocumentNumber%20eq%20'AMB-1'");
        assert_eq!(v["value"].as_array().unwrap().len(), 1, "{kind}");
        // The careless one posts again: BC's default makes a duplicate.
        post(&t, &tok, "/salesOrders", &body);
        assert_eq!(t.snapshot().orders.len(), 2, "{kind}");
    }
}

#[test]
fn idempotency_modes() {
    let body = order("EXT-1", json!([{"lineObjectNumber": "SW10002", "quantity": 2}]));
    let again = order("EXT-1", json!([{"lineObjectNumber": "SW10002", "quantity": 3}]));

    let (t, _) = twin_with(bc(), 1000.0);
    let tok = token(&t);
    let a = post(&t, &tok, "/salesOrders", &body).1;
    let b = post(&t, &tok, "/salesOrders", &again).1;
    assert_ne!(a["number"], b["number"], "duplicate mode creates a second order");

    let (t, _) = twin_with(ErpProfile::parse("strict", profile::STRICT).unwrap(), 1000.0);
    let tok = token(&t);
    assert_eq!(post(&t, &tok, "/salesOrders", &body).0, 201);
    let (s, v, _) = post(&t, &tok, "/salesOrders", &again);
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("Internal_EntityWithSameKeyExists"))
    );
    let rejected = t
        .log()
        .snapshot()
        .into_iter()
        .filter(
            |o| matches!(&o.event, Event::ErpOrderRejected { code, .. } if code == "Internal_EntityWithSameKeyExists"),
        )
        .count();
    assert_eq!(rejected, 1);

    let (t, _) = twin_with(ErpProfile::parse("ns", profile::NETSUITE_LIKE).unwrap(), 1000.0);
    let tok = token(&t);
    let item_before = t.snapshot().items["SW10002"].clone();
    let (s1, a, _) = post(&t, &tok, "/salesOrders", &body);
    let (s2, b, _) = post(&t, &tok, "/salesOrders", &again);
    assert_eq!((s1, s2), (201, 200));
    assert_eq!(a["number"], b["number"]);
    let snap = t.snapshot();
    assert_eq!(snap.orders.len(), 1);
    assert_eq!(
        snap.items["SW10002"].reserved,
        item_before.reserved + 3,
        "reservation replaced, not added"
    );
}

#[test]
fn shipments_post_at_their_due_time_and_take_stock_off() {
    let mut p = bc();
    p.fulfilment.partial_share = 0.0;
    let (t, clock) = twin_with(p, 1000.0);
    let tok = token(&t);
    let before = t.snapshot().items["SW10003"].clone();
    let body = order(
        "SHIP-1",
        json!([{"lineObjectNumber": "SW10003", "quantity": 2}, {"lineObjectNumber": "SHIPPING", "quantity": 1, "unitPrice": 4.95}]),
    );
    assert_eq!(post(&t, &tok, "/salesOrders", &body).0, 201);
    let (_, item) = get(&t, &tok, "/items?$filter=number%20eq%20'SW10003'");
    assert_eq!(item["value"][0]["inventory"], json!(before.inventory));
    assert_eq!(item["value"][0]["available"], json!(before.inventory - 2));
    let due = t.next_shipment_due().unwrap();
    assert!(due >= SimTime::from_secs_f64(1800.0) && due <= SimTime::from_secs_f64(6.0 * 3600.0 + 1.0));
    assert_eq!(t.tick(), 0);
    clock.advance(Duration::from_secs(7 * 3600));
    assert_eq!(t.tick(), 1);
    let snap = t.snapshot();
    assert_eq!(snap.items["SW10003"].inventory, before.inventory - 2);
    assert_eq!(snap.items["SW10003"].reserved, 0);
    let sh = snap.shipments.values().next().unwrap();
    assert_eq!(sh.external_document_number, "SHIP-1");
    assert_eq!(sh.posted, due, "stamped with the due time, not the tick");
    assert_eq!(sh.lines.len(), 2, "non-inventory lines ship too");
    let posted = t
        .log()
        .snapshot()
        .into_iter()
        .find(|o| matches!(o.event, Event::ErpShipmentPosted { .. }))
        .unwrap();
    assert_eq!(posted.at, due);
    // Seven hours on, the hour-long token has expired.
    assert_eq!(get(&t, &tok, "/salesShipments").0, 401);
    let tok = token(&t);
    let (_, v) = get(&t, &tok, "/salesShipments?$expand=salesShipmentLines");
    assert_eq!(v["value"][0]["externalDocumentNumber"], "SHIP-1");
    assert!(v["value"][0]["packageTrackingNumber"].as_str().unwrap().len() == 20);
    assert_eq!(v["value"][0]["salesShipmentLines"][0]["quantity"], 2);
    let (_, o) = get(&t, &tok, "/salesOrders?$filter=externalDocumentNumber%20eq%20'SHIP-1'");
    assert_eq!(o["value"][0]["fullyShipped"], json!(true));
}

#[test]
fn split_shipments_and_backorders_without_negative_stock() {
    let mut p = bc();
    p.fulfilment.partial_share = 1.0;
    p.orders.allow_negative_inventory = false;
    let (t, clock) = twin_with(p, 1000.0);
    let tok = token(&t);
    let on_hand = t.snapshot().items["SW10004"].inventory;
    t.adjust_stock("SW10004", 3 - on_hand, "count").unwrap();
    let body = order("SPLIT", json!([{"lineObjectNumber": "SW10004", "quantity": 5}]));
    assert_eq!(post(&t, &tok, "/salesOrders", &body).0, 201);
    clock.advance(Duration::from_secs(10 * 24 * 3600));
    t.tick();
    let snap = t.snapshot();
    let shipped: i64 = snap.shipments.values().map(|s| s.lines[0].quantity).sum();
    assert_eq!(shipped, 3, "never below zero: 3 of 5 shipped, 2 backordered");
    assert_eq!(snap.items["SW10004"].inventory, 0);
    assert!(t.next_shipment_due().is_some(), "the rest is rescheduled");
    t.receive_stock("SW10004", 10).unwrap();
    clock.advance(Duration::from_secs(10 * 24 * 3600));
    t.tick();
    let snap = t.snapshot();
    assert!(snap.orders.values().next().unwrap().fully_shipped());
    assert_eq!(snap.items["SW10004"].inventory, 8);
}

/// Enough orders that most rest packed on the shelf: they still ship, and the
/// fulfilment poll's `lastModifiedDateTime ge|gt` read (served off the
/// posting index) gives what filtering every shipment gives.
#[test]
fn shipments_since_a_watermark_match_a_full_scan_with_documents_at_rest() {
    let mut p = bc();
    p.fulfilment.partial_share = 0.0;
    let (t, clock) = twin_with(p, 1000.0);
    for i in 0..400 {
        let body = order(
            &format!("REST-{i}"),
            json!([{"lineObjectNumber": "SW10005", "quantity": 1}]),
        );
        assert_eq!(post(&t, &token(&t), "/salesOrders", &body).0, 201);
        if i % 40 == 39 {
            clock.advance(Duration::from_secs(3600));
            t.tick();
        }
    }
    clock.advance(Duration::from_secs(10 * 24 * 3600));
    t.tick();
    let snap = t.snapshot();
    assert_eq!(snap.shipments.len(), 400);
    assert!(snap.orders.values().all(|o| o.fully_shipped()));
    let shelf = t.with_state(|s| format!("{:?}", s.orders));
    assert!(
        shelf.starts_with("Shelf(400 documents") && !shelf.contains(" 400 decoded"),
        "{shelf}"
    );

    let tok = token(&t);
    let (_, all) = get(&t, &tok, "/salesShipments");
    let all = all["value"].as_array().unwrap().clone();
    assert_eq!(all.len(), 400);
    let stamp = |s: &Value| s["lastModifiedDateTime"].as_str().unwrap().to_string();
    let mut stamps: Vec<String> = all.iter().map(stamp).collect();
    stamps.sort();
    for w in [
        &stamps[0],
        &stamps[133],
        &stamps[399],
        &"2030-01-01T00:00:00.000Z".to_string(),
    ] {
        for (op, keep) in [("ge", std::cmp::Ordering::Less), ("gt", std::cmp::Ordering::Equal)] {
            let want: Vec<&Value> = all
                .iter()
                .filter(|s| stamp(s).as_str().cmp(w.as_str()) > keep)
                .map(|s| &s["number"])
                .collect();
            let (status, got) = get(
                &t,
                &tok,
                &format!("/salesShipments?$filter=lastModifiedDateTime%20{op}%20{w}"),
            );
            assert_eq!(status, 200);
            let got: Vec<&Value> = got["value"].as_array().unwrap().iter().map(|s| &s["number"]).collect();
            assert_eq!(got, want, "{op} {w}");
        }
    }
}

#[test]
fn stock_moves_are_observed_and_bump_last_modified() {
    let (t, clock) = twin_with(bc(), 1000.0);
    let tok = token(&t);
    clock.advance(Duration::from_secs(60));
    let after = t.receive_stock("SW10005", 7).unwrap();
    assert_eq!(t.adjust_stock("SW10005", -2, "damaged").unwrap(), after - 2);
    assert_eq!(t.receive_stock("NOPE", 1), Err(ErpOpError::UnknownItem("NOPE".into())));
    assert_eq!(
        t.receive_stock("SHIPPING", 1),
        Err(ErpOpError::NotInventory("SHIPPING".into()))
    );
    let moves: Vec<_> = t
        .log()
        .snapshot()
        .into_iter()
        .filter_map(|o| match o.event {
            Event::ErpStockMoved { sku, reason, .. } => Some((o.at, sku, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(moves.len(), 2);
    assert_eq!(moves[1].2, "adjustment: damaged");
    let (_, v) = get(
        &t,
        &tok,
        "/items?$filter=lastModifiedDateTime%20gt%202026-11-27T00:00:30Z",
    );
    let numbers: Vec<&str> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["SW10005"]);
}

/// Every field of a valid order replaced, one at a time, by values of other
/// types and extreme sizes: the twin answers 2xx or 4xx, never panics.
#[test]
fn mutated_orders_never_panic() {
    let (t, clock) = twin_with(bc(), 1000.0);
    let tok = token(&t);
    let valid = json!({
        "externalDocumentNumber": "M-1", "customerNumber": "C00010", "discountAmount": 1,
        "email": "a@b.c", "currencyCode": "EUR",
        "salesOrderLines": [
            {"lineType": "Item", "lineObjectNumber": "SW10000", "quantity": 1, "unitPrice": 2.5,
             "discountAmount": 0.5, "discountPercent": 10, "taxCode": "VAT19", "description": "d", "description2": "e"},
            {"lineType": "Account", "lineObjectNumber": "4730", "quantity": 1, "unitPrice": 4.95},
            {"lineType": "Comment", "description": "c"}
        ]
    });
    let replacements = [
        json!(null),
        json!(true),
        json!(-1),
        json!(0),
        json!(1e15),
        json!(-1e15),
        json!(0.000001),
        json!(""),
        json!("x".repeat(500)),
        json!([]),
        json!({}),
        json!([{"lineObjectNumber": 1}]),
    ];
    let mut bodies = vec![valid.clone()];
    for key in valid.as_object().unwrap().keys() {
        for r in &replacements {
            let mut b = valid.clone();
            b[key] = r.clone();
            bodies.push(b);
        }
    }
    for li in 0..3 {
        for key in valid["salesOrderLines"][li].as_object().unwrap().keys() {
            for r in &replacements {
                let mut b = valid.clone();
                b["salesOrderLines"][li][key] = r.clone();
                bodies.push(b);
            }
        }
    }
    let mut created = 0;
    for b in &bodies {
        // One scenario second apart, so the worker pool never fills up.
        clock.advance(Duration::from_secs(1));
        let (s, v, _) = post(&t, &tok, "/salesOrders", b);
        assert!(s == 201 || (400..500).contains(&s) && s != 429, "{s} for {b}: {v}");
        if s == 201 {
            created += 1;
        } else {
            assert!(v["error"]["code"].is_string(), "{v}");
        }
    }
    assert!(created > 0 && created < bodies.len());
    let snap = t.snapshot();
    assert_eq!(snap.orders.len(), created);
    for o in snap.orders.values() {
        let sum: i64 = o.lines.iter().map(|l| l.amount_including_tax).sum();
        assert_eq!(sum, o.total_including_tax, "lines add up to the header in {}", o.number);
    }
}

/// Principle 3: one seed and one request sequence give byte-identical state.
#[test]
fn same_seed_same_requests_same_state() {
    let run = || {
        let mut p = bc();
        p.fulfilment.partial_share = 0.5;
        let (t, clock) = twin_with(p, 1000.0);
        let tok = token(&t);
        for n in 0..20 {
            clock.advance(Duration::from_secs(30));
            let body = order(
                &format!("D-{n}"),
                json!([{"lineObjectNumber": format!("SW{}", 10000 + n % 7), "quantity": 1 + n % 3}]),
            );
            post(&t, &tok, "/salesOrders", &body);
        }
        clock.advance(Duration::from_secs(5 * 24 * 3600));
        t.tick();
        (
            serde_json::to_string(&t.snapshot()).unwrap(),
            serde_json::to_string(&t.log().snapshot()).unwrap(),
        )
    };
    let (a, b) = (run(), run());
    assert_eq!(a.0, b.0);
    assert_eq!(a.1, b.1);
    assert!(a.0.contains("S-SHPT"));
}

fn post_batch(t: &ErpTwin, tok: &str, body: &Value, isolation: bool) -> (u16, Value) {
    let mut req = request(
        "POST",
        "/api/v2.0/$batch",
        Some(tok),
        body.to_string().as_bytes(),
        "application/json",
    );
    if isolation {
        req.headers.insert("isolation", "snapshot".parse().unwrap());
    }
    let r = t.handle(req);
    (r.status, serde_json::from_slice(&r.body).unwrap_or(Value::Null))
}

#[test]
fn batches_fail_per_operation_unless_isolated() {
    let (t, _) = twin_with(bc(), 1000.0);
    let tok = token(&t);
    let cid = t.company_id().to_string();
    let ops = |prefix: &str| {
        json!({"requests": [
            {"id": "a", "method": "POST", "url": format!("companies({cid})/salesOrders"), "body": order(&format!("{prefix}-1"), json!([{"lineObjectNumber": "SW10006", "quantity": 1}]))},
            {"id": "b", "method": "POST", "url": format!("companies({cid})/customers"), "body": {"displayName": "Batch Buyer", "email": "bb@example.com"}},
            {"id": "c", "method": "POST", "url": format!("companies({cid})/salesOrders"), "body": order(&format!("{prefix}-2"), json!([{"lineObjectNumber": "NOPE", "quantity": 1}]))},
            {"id": "d", "method": "GET", "url": format!("/api/v2.0/companies({cid})/items?$filter=number eq 'SW10006'")}
        ]})
    };
    let reserved_before = t.snapshot().items["SW10006"].reserved;

    // Independent operations: a, b and d succeed, c fails.
    let (s, v) = post_batch(&t, &tok, &ops("IND"), false);
    assert_eq!(s, 200, "{v}");
    let statuses: Vec<u64> = v["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![201, 201, 400, 200]);
    assert_eq!(
        v["responses"][2]["body"]["error"]["code"],
        "Internal_InvalidTableRelation"
    );
    let item = t.snapshot().items["SW10006"].clone();
    assert_eq!(
        v["responses"][3]["body"]["value"][0]["available"],
        json!(item.available())
    );
    assert_eq!(t.snapshot().orders.len(), 1);

    // Isolation: snapshot: nothing is committed, reservations are back, one rejection observed.
    let created_before = t
        .log()
        .snapshot()
        .iter()
        .filter(|o| matches!(o.event, Event::ErpOrderCreated { .. }))
        .count();
    let (s, v) = post_batch(&t, &tok, &ops("ISO"), true);
    assert_eq!(s, 200);
    let statuses: Vec<u64> = v["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![424, 424, 400, 424]);
    let snap = t.snapshot();
    assert_eq!(snap.orders.len(), 1);
    assert_eq!(snap.items["SW10006"].reserved, reserved_before + 1);
    assert_eq!(
        snap.customers
            .values()
            .filter(|c| c.display_name == "Batch Buyer")
            .count(),
        1
    );
    let log = t.log().snapshot();
    assert_eq!(
        log.iter()
            .filter(|o| matches!(o.event, Event::ErpOrderCreated { .. }))
            .count(),
        created_before
    );
    assert!(log.iter().any(|o| matches!(&o.event, Event::ErpOrderRejected { external_document_number, .. } if external_document_number == "ISO-2")));

    // An isolated batch that succeeds commits everything; more than 100 operations are refused.
    let ok = json!({"requests": [ops("OK")["requests"][0].clone(), ops("OK")["requests"][1].clone()]});
    let (_, v) = post_batch(&t, &tok, &ok, true);
    assert_eq!(v["responses"][0]["status"], 201);
    assert_eq!(t.snapshot().orders.len(), 2);
    let many: Vec<Value> = (0..101).map(|_| json!({"method": "GET", "url": "companies"})).collect();
    let (s, v) = post_batch(&t, &tok, &json!({"requests": many}), false);
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("BadRequest")));
}

#[test]
fn an_isolated_upsert_batch_rolls_back_to_the_old_order() {
    let (t, _) = twin_with(ErpProfile::parse("ns", profile::NETSUITE_LIKE).unwrap(), 1000.0);
    let tok = token(&t);
    let cid = t.company_id().to_string();
    assert_eq!(
        post(
            &t,
            &tok,
            "/salesOrders",
            &order("U-1", json!([{"lineObjectNumber": "SW10007", "quantity": 2}]))
        )
        .0,
        201
    );
    let before = t.snapshot();
    let batch = json!({"requests": [
        {"method": "POST", "url": format!("companies({cid})/salesOrders"), "body": order("U-1", json!([{"lineObjectNumber": "SW10007", "quantity": 5}]))},
        {"method": "POST", "url": format!("companies({cid})/salesOrders"), "body": order("U-2", json!([{"lineObjectNumber": "SW10007", "quantity": 1, "taxCode": "BAD"}]))}
    ]});
    let (_, v) = post_batch(&t, &tok, &batch, true);
    assert_eq!(v["responses"][1]["status"], 400, "{v}");
    let after = t.snapshot();
    assert_eq!(after.orders, before.orders);
    assert_eq!(after.items["SW10007"].reserved, before.items["SW10007"].reserved);
}

#[test]
fn a_collection_page_is_written_as_the_json_value_would_be_with_its_next_link() {
    let mut profile = bc();
    profile.api.max_page_size = 8;
    let (t, _clock) = twin_with(profile, 1000.0);
    let tok = token(&t);
    let page = |path: &str| {
        let r = t.handle(request("GET", path, Some(&tok), b"", "application/json"));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        // The text is exactly what serialising the value gives (keys in order).
        assert_eq!(serde_json::to_vec(&v).unwrap(), r.body.to_vec());
        v
    };
    let first = page(&format!("{}/items", t.api_base()));
    assert_eq!(first["value"].as_array().unwrap().len(), 8);
    assert!(first["@odata.context"].as_str().unwrap().ends_with("/items"));
    let next = first["@odata.nextLink"].as_str().expect("a full page links the next");
    let path = next
        .split_once("/api/")
        .map(|(_, p)| format!("/api/{p}"))
        .unwrap_or(next.to_string());
    let mut seen: Vec<Value> = first["value"].as_array().unwrap().clone();
    let mut v = page(&path);
    loop {
        seen.extend(v["value"].as_array().unwrap().iter().cloned());
        match v["@odata.nextLink"].as_str() {
            Some(n) => {
                let p = n.split_once("/api/").map(|(_, p)| format!("/api/{p}")).unwrap();
                v = page(&p);
            }
            None => break,
        }
    }
    let numbers: std::collections::BTreeSet<&str> = seen.iter().map(|i| i["number"].as_str().unwrap()).collect();
    let items = t.with_state(|s| s.items.len());
    assert!(items > 8 * 2, "{items} items make three pages");
    assert_eq!(
        (seen.len(), numbers.len()),
        (items, items),
        "every item once across the pages"
    );
    let (_, selected) = get(&t, &tok, "/items?$select=number,inventory&$top=2");
    assert_eq!(
        selected["value"][0].as_object().unwrap().len(),
        3,
        "number, inventory and the etag"
    );
}
