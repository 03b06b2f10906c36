//! The diagnosis of a real run: two SKUs the ERP lacks behind eleven orders
//! give one finding per SKU with the orders each blocks (an order carrying both
//! counts for both), nothing is reported as lost without a reason, the failed
//! threshold points at the findings, and every format shows the diagnosis first.
//! Closeouts left sold out by stock writes without indexing are found at the
//! twin even when the engine does not look for them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use synctwin::clock::{SimTime, Speed};
use synctwin::diagnose::metric::explaining;
use synctwin::diagnose::{Owner, Severity};
use synctwin::engine::config::EngineConfig;
use synctwin::report::{threshold, Format};
use synctwin::run::driver::Traffic;
use synctwin::run::orchestrate::{execute, EngineMode, RunSetup};
use synctwin::twin::erp::{Catalogue, ErpProfile, ItemRow, ItemType};
use synctwin::twin::shopware::seed::{seed_shop, SeedConfig};
use synctwin::twin::shopware::store::Store;
use synctwin::twin::shopware::ShopwareProfile;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmapped_skus_are_one_finding_each_with_the_orders_they_block() {
    let mut store = Store::new();
    seed_shop(
        &mut store,
        &SeedConfig {
            products: 40,
            orders: 0,
            seed: 3,
        },
    );
    let stock_of = |n: &str| {
        store
            .product_by_number(n)
            .and_then(|id| store.get("product", &id))
            .and_then(|p| p["stock"].as_i64())
            .unwrap_or(0)
    };
    // Plain 19 % products (blocks 6-9 of the seeded catalogue) with stock to sell.
    let plain: Vec<String> = store
        .rows("product")
        .filter_map(|p| p["productNumber"].as_str().map(str::to_string))
        .filter(|n| !n.contains('.') && n[2..].parse::<u32>().is_ok_and(|x| x % 10 >= 6))
        .filter(|n| stock_of(n) >= 12)
        .collect();
    assert!(plain.len() >= 5, "{plain:?}");
    let (a, b) = (plain[0].clone(), plain[1].clone());
    let sellable: Vec<String> = store
        .rows("product")
        .filter(|p| p.get("childCount").and_then(|c| c.as_i64()).unwrap_or(0) == 0)
        .filter_map(|p| p["productNumber"].as_str().map(str::to_string))
        .collect();
    let rows: Vec<ItemRow> = sellable
        .iter()
        .filter(|n| **n != a && **n != b)
        .map(|n| ItemRow {
            number: n.clone(),
            item_type: ItemType::Inventory,
            description: format!("Item {n}"),
            unit_price_e5: 1_000_000,
            tax_code: "VAT19".into(),
            on_hand: 500,
        })
        .collect();
    // 20 orders a minute apart: A alone in 7, B alone in 3, both in one.
    let mut expected: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let traffic: Vec<Traffic> = (0..20u64)
        .map(|i| {
            let skus: Vec<&String> = match i {
                2 => vec![&a, &b],
                i if i % 3 == 0 && i < 19 => vec![&a],
                1 | 4 | 7 => vec![&b],
                i => vec![&plain[2 + (i as usize % 3)]],
            };
            for s in &skus {
                if **s == a {
                    expected.entry("a").or_default().push((10_000 + i).to_string());
                }
                if **s == b {
                    expected.entry("b").or_default().push((10_000 + i).to_string());
                }
            }
            let lines: Vec<_> = skus
                .iter()
                .map(|s| json!({"type": "product", "productNumber": s, "quantity": 1}))
                .collect();
            let cart = serde_json::from_value(json!({
                "customer": {"email": format!("c{i}@example.com"), "firstName": "C", "lastName": "D",
                             "street": "S 1", "zipcode": "1", "city": "C"},
                "lines": lines, "shippingGross": 4.9
            }))
            .unwrap();
            Traffic::PlaceOrder {
                at: SimTime::from_secs_f64(i as f64 * 60.0 + 5.0),
                cart: Box::new(cart),
            }
        })
        .collect();
    assert_eq!((expected["a"].len(), expected["b"].len()), (8, 4));
    let mut config = EngineConfig::default();
    config.intervals.orders = Duration::from_secs(60);
    config.intervals.inventory = Duration::from_secs(120);
    let setup = RunSetup {
        name: "diagnose-test".into(),
        seed: 3,
        duration: Duration::from_secs(20 * 60),
        speed: Speed::new(600.0).unwrap(),
        shop_profile: ShopwareProfile::default_profile(),
        erp_profile: ErpProfile::business_central(),
        shop_store: store,
        erp_catalogue: Catalogue::Rows(rows),
        engine: EngineMode::Reference {
            config: Box::new(config),
            name: "careful".into(),
        },
        interval: Duration::from_secs(60),
        drain_limit: Duration::from_secs(1800),
    };
    let out = execute(setup, traffic.into_iter().map(Ok), |_| {}, |_| {})
        .await
        .unwrap();
    assert_eq!(out.driver.orders_placed, 20, "{:?}", out.driver);
    let mut r = out.report;
    assert_eq!(r.reconciliation.missing_orders, 11);

    let unmapped: Vec<_> = r.diagnosis.iter().filter(|f| f.category == "unmapped_sku").collect();
    let summary: Vec<(String, u64, u64)> = unmapped
        .iter()
        .map(|f| (f.key.clone(), f.count, f.impact.orders_blocked))
        .collect();
    assert_eq!(
        summary,
        vec![(format!("unmapped_sku:{a}"), 8, 8), (format!("unmapped_sku:{b}"), 4, 4)],
        "{:#?}",
        r.diagnosis
    );
    for (f, which) in unmapped.iter().zip(["a", "b"]) {
        assert_eq!(f.examples, expected[which][..f.examples.len()].to_vec());
        assert_eq!((f.severity, f.owner), (Severity::Critical, Owner::Operations));
        assert!(f.impact.money_unreconciled > 0.0);
        assert!(f.fix.contains("synctwin exceptions retry"), "{}", f.fix);
    }
    assert!(
        !r.diagnosis.iter().any(|f| f.key == "missing_orders"),
        "every missing order is explained by an exception: {:#?}",
        r.diagnosis
    );

    // A failed threshold points at the findings instead of adding its own.
    let thresholds = [("reconciliation.missing_orders".to_string(), "== 0".to_string())].into();
    threshold::evaluate(&mut r, &thresholds).unwrap();
    assert!(!r.verdict.passed);
    assert_eq!(
        explaining(&r, "reconciliation.missing_orders").map(|(i, f)| (i, f.category.as_str())),
        Some((0, "unmapped_sku"))
    );
    assert!(!r.diagnosis.iter().any(|f| f.category == "threshold"));

    // First in every format.
    let text = String::from_utf8(Format::Table.exporter(None).render(&r).unwrap()).unwrap();
    assert_eq!(
        text.lines().nth(3).map(|l| l.starts_with("Diagnosis: ")),
        Some(true),
        "{text}"
    );
    let md = String::from_utf8(Format::Markdown.exporter(None).render(&r).unwrap()).unwrap();
    assert!(md.find("## Diagnosis").unwrap() < md.find("## What broke").unwrap());
    let html = String::from_utf8(Format::Html.exporter(None).render(&r).unwrap()).unwrap();
    assert!(html.find("<h2>Diagnosis</h2>").unwrap() < html.find("<h2>Thresholds</h2>").unwrap());
    let xml = String::from_utf8(Format::Junit.exporter(None).render(&r).unwrap()).unwrap();
    assert!(
        xml.contains(&format!("finding 1: [critical] {a} has no ERP item")),
        "{xml}"
    );

    // The real report, diagnosis included, meets the committed schema.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/reports/schema/run-report.v1.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .unwrap();
    let instance = serde_json::to_value(&r).unwrap();
    assert!(validator.is_valid(&instance));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closeouts_restocked_without_indexing_are_found_at_the_twin() {
    use synctwin::twin::shopware::stock;
    let mut store = Store::new();
    seed_shop(
        &mut store,
        &SeedConfig {
            products: 30,
            orders: 0,
            seed: 4,
        },
    );
    let sellable: Vec<String> = store
        .rows("product")
        .filter(|p| p.get("childCount").and_then(|c| c.as_i64()).unwrap_or(0) == 0)
        .filter_map(|p| p["productNumber"].as_str().map(str::to_string))
        .collect();
    // Sold-out closeouts the ERP will restock: they stay unavailable when the
    // stock is written with indexing disabled.
    let mut expected: Vec<String> = store
        .rows("product")
        .filter(|p| stock::is_closeout(&store, p) && p["available"] == json!(false))
        .filter_map(|p| p["productNumber"].as_str().map(str::to_string))
        .filter(|n| sellable.contains(n))
        .collect();
    expected.sort();
    assert!(!expected.is_empty());
    let rows: Vec<ItemRow> = sellable
        .iter()
        .map(|n| ItemRow {
            number: n.clone(),
            item_type: ItemType::Inventory,
            description: format!("Item {n}"),
            unit_price_e5: 1_000_000,
            tax_code: "VAT19".into(),
            on_hand: 50,
        })
        .collect();
    let mut config = EngineConfig::default();
    config.inventory.indexing = Some("disable-indexing".into());
    config.inventory.flag_stale_closeouts = false;
    config.intervals.inventory = Duration::from_secs(60);
    let setup = RunSetup {
        name: "stale-closeouts".into(),
        seed: 4,
        duration: Duration::from_secs(5 * 60),
        speed: Speed::new(600.0).unwrap(),
        shop_profile: ShopwareProfile::default_profile(),
        erp_profile: ErpProfile::business_central(),
        shop_store: store,
        erp_catalogue: Catalogue::Rows(rows),
        engine: EngineMode::Reference {
            config: Box::new(config),
            name: "no-indexing.toml".into(),
        },
        interval: Duration::from_secs(60),
        drain_limit: Duration::from_secs(600),
    };
    let out = execute(setup, std::iter::empty(), |_| {}, |_| {}).await.unwrap();
    let r = &out.report;
    assert!(
        !r.diagnosis.iter().any(|f| f.category == "closeout_unavailable"),
        "the engine did not look"
    );
    let f = r
        .diagnosis
        .iter()
        .find(|f| f.key == "closeout_sold_out_in_stock")
        .unwrap_or_else(|| panic!("{:#?}", r.diagnosis));
    assert_eq!(f.count, expected.len() as u64);
    let mut shown: Vec<String> = f
        .examples
        .iter()
        .map(|e| e.split(' ').next().unwrap().to_string())
        .collect();
    shown.sort();
    assert!(
        shown.iter().all(|s| expected.contains(s)),
        "{shown:?} not in {expected:?}"
    );
    assert!(f.examples.iter().all(|e| e.ends_with("(stock 50)")), "{:?}", f.examples);
    assert!(
        f.fix
            .contains("inventory.indexing (now \"disable-indexing\") from no-indexing.toml"),
        "{}",
        f.fix
    );
}
