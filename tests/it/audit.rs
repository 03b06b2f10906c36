//! `synctwin audit` against both twins over HTTP: a clean shop gives no
//! findings; each data problem, planted alone, is found and nothing else is;
//! paging reads past the Admin API's 500-row limit; the command's exit codes.

use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use synctwin::audit::{audit, AuditReport, AuditSetup, ErpSource};
use synctwin::clock::{default_epoch, rfc3339_ms, ManualClock, SharedClock, Speed};
use synctwin::diagnose::{Owner, Severity};
use synctwin::engine::http::erp::ErpClient;
use synctwin::engine::http::shopware::ShopwareClient;
use synctwin::engine::mapping::{GuestStrategy, MappingConfig};
use synctwin::observe::ObservationLog;
use synctwin::twin::erp::{Catalogue, ErpConfig, ErpProfile, ErpTwin, ItemRow, ItemType};
use synctwin::twin::shopware::checkout::{build_order, insert_order, BuildContext, Cart};
use synctwin::twin::shopware::seed::{product_row, seed_base, SeedSummary};
use synctwin::twin::shopware::store::Store;
use synctwin::twin::shopware::{stock, Credentials, ShopwareProfile, ShopwareTwin};

use crate::helpers::{serve, Transport};

const ERP_ID: &str = "erp-audit";
const ERP_SECRET: &str = "erp-audit-secret";

/// A shop and the ERP rows that go with it, before the twins start.
struct Shop {
    store: Store,
    rows: Vec<ItemRow>,
    rng: ChaCha8Rng,
    next_order: u64,
}

fn created() -> String {
    rfc3339_ms(default_epoch() - time::Duration::days(60))
}

impl Shop {
    fn product(&mut self, number: &str, tax: &str, stock_now: i64, closeout: Option<bool>) -> String {
        let rate = if tax == "reduced" { 7.0 } else { 19.0 };
        let row = product_row(
            &mut self.rng,
            number,
            Some(format!("Product {number}")),
            Some(tax),
            rate,
            stock_now,
            closeout,
            &created(),
        );
        self.put_product(row)
    }

    fn put_product(&mut self, row: serde_json::Map<String, Value>) -> String {
        let id = row["id"].as_str().unwrap().to_string();
        self.store.put("product", row);
        stock::reindex_available(&mut self.store, &id);
        id
    }

    fn id(&self, number: &str) -> String {
        self.store.product_by_number(number).unwrap().to_string()
    }

    fn set(&mut self, number: &str, field: &str, value: Value) {
        let id = self.id(number);
        assert!(self.store.set_field("product", &id, field, value));
    }

    fn erp_item(&mut self, number: &str, tax_code: &str) {
        self.rows.push(ItemRow {
            number: number.into(),
            item_type: ItemType::Inventory,
            description: format!("Item {number}"),
            unit_price_e5: 1_000_000,
            tax_code: tax_code.into(),
            on_hand: 50,
        });
    }

    /// Places an order through the twin's checkout, `days_ago` before the epoch.
    fn order(&mut self, cart: Value, days_ago: i64) -> String {
        let cart: Cart = serde_json::from_value(cart).unwrap();
        let number = self.next_order.to_string();
        self.next_order += 1;
        let rows = build_order(
            &self.store,
            &cart,
            BuildContext {
                rng: &mut self.rng,
                now: rfc3339_ms(default_epoch() - time::Duration::days(days_ago)),
                order_number: number.clone(),
            },
        )
        .unwrap();
        let takes = rows.stock_takes.clone();
        insert_order(&mut self.store, rows);
        for t in takes {
            stock::apply_delta(&mut self.store, &t.product_id, -t.quantity, true);
        }
        number
    }
}

fn customer(guest: bool, i: u32) -> Value {
    json!({"email": format!("buyer{i}@example.com"), "firstName": "Erika", "lastName": "Muster", "guest": guest,
           "street": "Hauptstr. 1", "zipcode": "10115", "city": "Berlin"})
}

fn product(number: &str, quantity: i64) -> Value {
    json!({"type": "product", "productNumber": number, "quantity": quantity})
}

/// A clean shop: plain 19 % and 7 % products, a parent whose two variants set
/// their own closeout flag, a closeout in stock and a customizable product, each
/// in the ERP; five recent orders (shipping, a 7 % line, a promotion, a short
/// engraving), all from registered customers.
fn clean() -> Shop {
    let mut store = Store::new();
    seed_base(&mut store, &created(), &mut SeedSummary::default());
    let mut s = Shop {
        store,
        rows: Vec::new(),
        rng: ChaCha8Rng::seed_from_u64(5),
        next_order: 10_000,
    };
    for i in 0..5 {
        let n = format!("SW1000{i}");
        s.product(&n, "standard", 40, Some(false));
        s.erp_item(&n, "VAT19");
    }
    s.product("SW10005", "reduced", 40, Some(false));
    s.erp_item("SW10005", "VAT7");
    let parent = s.product("SW10010", "standard", 0, Some(false));
    for v in ["SW10010.1", "SW10010.2"] {
        let mut row = product_row(&mut s.rng, v, None, None, 19.0, 20, Some(false), &created());
        row.insert("parentId".into(), json!(parent));
        s.put_product(row);
        s.erp_item(v, "VAT19");
    }
    s.set("SW10010", "childCount", json!(2));
    s.product("SW10020", "standard", 10, Some(true));
    s.erp_item("SW10020", "VAT19");
    let custom = s.product("SW10030", "standard", 40, Some(false));
    assert!(s.store.set_field(
        "product",
        &custom,
        "swagCustomizedProductsTemplateId",
        json!("0123456789abcdef0123456789abcdef")
    ));
    s.erp_item("SW10030", "VAT19");
    s.order(
        json!({"customer": customer(false, 1), "lines": [product("SW10000", 2), product("SW10010.1", 1)], "shippingGross": 4.95}),
        1,
    );
    s.order(
        json!({"customer": customer(false, 2), "lines": [product("SW10001", 1), product("SW10005", 1)]}),
        2,
    );
    s.order(
        json!({"customer": customer(false, 3), "lines": [product("SW10002", 1)],
               "promotion": {"name": "Black Friday", "code": "BF10", "discount": {"percentage": 10}}}),
        3,
    );
    s.order(
        json!({"customer": customer(false, 4), "lines": [{"type": "customized-products", "productNumber": "SW10030", "quantity": 1,
               "options": [{"label": "Engraving", "value": "Happy Birthday!", "surchargeGross": 4.9}]}]}),
        4,
    );
    s.order(
        json!({"customer": customer(false, 1), "lines": [product("SW10000", 1), product("SW10020", 1)]}),
        5,
    );
    s
}

/// Starts both twins on the shop, lets `prepare` touch the ERP twin, and audits
/// the 30 days before the epoch with these mapping rules.
async fn audit_shop(shop: Shop, mapping: MappingConfig, prepare: impl FnOnce(&ErpTwin)) -> AuditReport {
    let shared: SharedClock = Arc::new(ManualClock::with_speed(Speed::new(1000.0).unwrap()));
    let shop_twin = ShopwareTwin::new(
        ShopwareProfile::default_profile(),
        shop.store,
        Credentials::new("SWIAAUDIT", "audit-secret"),
        7,
        shared.clone(),
        ObservationLog::new(),
    );
    let mut cfg = ErpConfig::new(ErpProfile::business_central(), 7);
    cfg.catalogue = Catalogue::Rows(shop.rows);
    cfg.client_id = Some(ERP_ID.into());
    cfg.client_secret = Some(ERP_SECRET.into());
    let erp_twin = Arc::new(ErpTwin::new(cfg, shared.clone(), ObservationLog::new()).unwrap());
    prepare(&erp_twin);
    let s = serve(shop_twin, Transport::Hyper).await;
    let e = serve(erp_twin, Transport::Hyper).await;
    let timeout = Duration::from_secs(10);
    audit(AuditSetup {
        shopware_url: s.base.clone(),
        shop: ShopwareClient::new(&s.base, "SWIAAUDIT", "audit-secret", shared.clone(), timeout),
        erp: ErpSource::Api {
            client: ErpClient::new(&e.base, ERP_ID, ERP_SECRET, shared, timeout),
            url: e.base.clone(),
        },
        mapping,
        engine_name: "engine.toml".into(),
        until: default_epoch(),
        days: 30,
    })
    .await
    .unwrap()
}

fn keys(r: &AuditReport) -> Vec<&str> {
    r.findings.iter().map(|f| f.key.as_str()).collect()
}

/// Audits a shop with one problem planted and checks that exactly that
/// finding comes back; returns it for closer checks.
async fn only(shop: Shop, mapping: MappingConfig, key: &str) -> synctwin::diagnose::Finding {
    only_with(shop, mapping, |_| {}, key).await
}

async fn only_with(
    shop: Shop,
    mapping: MappingConfig,
    prepare: impl FnOnce(&ErpTwin),
    key: &str,
) -> synctwin::diagnose::Finding {
    let r = audit_shop(shop, mapping, prepare).await;
    assert_eq!(keys(&r), vec![key], "{:#?}", r.findings);
    r.findings.into_iter().next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_shop_has_no_findings() {
    let r = audit_shop(clean(), MappingConfig::default(), |_| {}).await;
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.scanned.products, 11);
    assert_eq!(r.scanned.variants, 2);
    assert_eq!(r.scanned.orders, 5);
    assert_eq!(r.scanned.taxes, 3);
    assert_eq!(r.exit_code(Severity::Info), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_missing_in_the_erp_is_found_with_the_orders_it_blocks() {
    let mut shop = clean();
    shop.rows.retain(|r| r.number != "SW10000");
    let f = only(shop, MappingConfig::default(), "unmapped_products").await;
    assert_eq!(
        (f.severity, f.owner, f.count),
        (Severity::Critical, Owner::Operations, 1)
    );
    assert_eq!(f.examples, vec!["SW10000 (2 orders)"]);
    assert_eq!(f.impact.orders_blocked, 2, "orders 10000 and 10004 carry it");
    assert!(
        f.fix.starts_with("Add items SW10000 to the ERP item master"),
        "{}",
        f.fix
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_mapped_to_a_missing_item_names_the_item() {
    let mut mapping = MappingConfig::default();
    mapping.products.insert("SW10003".into(), "ITEM-3".into());
    let f = only(clean(), mapping, "unmapped_products").await;
    assert_eq!(f.examples, vec!["SW10003 → ITEM-3"]);
    assert_eq!(f.impact.orders_blocked, 0, "no recent order has SW10003");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_erp_item_is_found() {
    let f = only_with(
        clean(),
        MappingConfig::default(),
        |erp| erp.set_item_blocked("SW10001", true).unwrap(),
        "blocked_items",
    )
    .await;
    assert_eq!(f.examples, vec!["SW10001 (1 order)"]);
    assert_eq!(f.impact.orders_blocked, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_equal_in_the_erp_are_duplicates() {
    let mut shop = clean();
    shop.product("sw10001 ", "standard", 5, Some(false));
    let f = only(shop, MappingConfig::default(), "duplicate_numbers").await;
    assert_eq!(f.examples, vec!["'SW10001' / 'sw10001 '"]);
    assert_eq!((f.count, f.owner), (2, Owner::Ecommerce));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blank_product_number_is_found() {
    let mut shop = clean();
    shop.product("", "standard", 5, Some(false));
    let f = only(shop, MappingConfig::default(), "blank_numbers").await;
    assert_eq!(f.count, 1);
    assert!(f.examples[0].starts_with("Product  (id "), "{:?}", f.examples);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variant_inheriting_closeout_is_found() {
    let mut shop = clean();
    shop.set("SW10010.2", "isCloseout", Value::Null);
    let f = only(shop, MappingConfig::default(), "closeout_inherited").await;
    assert_eq!(f.examples, vec!["SW10010.2 (closeout off from SW10010)"]);
    assert_eq!(f.severity, Severity::Warning);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sold_out_closeout_with_erp_stock_is_found() {
    let mut shop = clean();
    let id = shop.id("SW10020");
    let left = shop.store.get("product", &id).unwrap()["stock"].as_i64().unwrap();
    stock::apply_delta(&mut shop.store, &id, -left, true);
    assert_eq!(shop.store.get("product", &id).unwrap()["available"], json!(false));
    let f = only(shop, MappingConfig::default(), "closeout_sold_out_with_erp_stock").await;
    assert_eq!(f.examples, vec!["SW10020 (ERP on hand 50)"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closeout_in_stock_shown_sold_out_is_found() {
    let mut shop = clean();
    shop.set("SW10020", "available", json!(false));
    let f = only(shop, MappingConfig::default(), "closeout_unavailable_in_stock").await;
    assert_eq!(f.examples, vec!["SW10020 (stock 9)"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promotions_without_a_discount_item_block_their_orders() {
    let mapping = MappingConfig {
        discount_item: None,
        ..Default::default()
    };
    let f = only(clean(), mapping, "promotion_without_item").await;
    assert_eq!(f.examples, vec!["10002"]);
    assert_eq!(f.impact.orders_blocked, 1);
    assert!(f.evidence.contains("Black Friday"), "{}", f.evidence);
    assert!(f.fix.contains("mapping.discount_item in engine.toml") && f.fix.contains("the ERP has DISCOUNT"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discount_item_the_erp_lacks_is_found() {
    let mapping = MappingConfig {
        discount_item: Some("RABATT".into()),
        ..Default::default()
    };
    let f = only(clean(), mapping, "configured_item_missing:RABATT").await;
    assert_eq!((f.severity, f.impact.orders_blocked), (Severity::Critical, 1));
    assert_eq!(f.examples, vec!["10002"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tax_rate_without_an_erp_code_is_found() {
    let mut mapping = MappingConfig::default();
    mapping.tax_codes.remove("7");
    let f = only(clean(), mapping, "tax_rate_without_code:7").await;
    assert_eq!((f.severity, f.owner), (Severity::Critical, Owner::Finance));
    assert_eq!(f.examples, vec!["SW10005"]);
    assert_eq!(f.impact.orders_blocked, 1, "order 10001 has a 7 % line");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configurator_text_longer_than_the_erp_field_is_found() {
    let mut shop = clean();
    // 95 characters: the option's comment line "Engraving: <value>" has 106, over
    // the ERP's 100; its value child says the value once (95) and is not over.
    let long = "For Anna and Jonas - thank you for twenty wonderful years together, with all our love, always!!";
    assert_eq!(long.len(), 95);
    let n = shop.order(
        json!({"customer": customer(false, 5), "lines": [{"type": "customized-products", "productNumber": "SW10030", "quantity": 1,
               "options": [{"label": "Engraving", "value": long, "surchargeGross": 0}]}]}),
        1,
    );
    let f = only(shop, MappingConfig::default(), "option_text_too_long").await;
    assert_eq!(f.count, 1);
    assert_eq!(f.examples, vec![format!("{n} (106 characters)")]);
    assert_eq!(f.severity, Severity::Warning);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guests_are_reported_and_merging_them_is_critical() {
    let mut shop = clean();
    let n = shop.order(
        json!({"customer": customer(true, 9), "lines": [product("SW10003", 1)]}),
        1,
    );
    let f = only(shop, MappingConfig::default(), "guest_orders").await;
    assert_eq!((f.severity, f.examples.clone()), (Severity::Info, vec![n.clone()]));
    let mut shop = clean();
    shop.order(
        json!({"customer": customer(true, 9), "lines": [product("SW10003", 1)]}),
        1,
    );
    let mapping = MappingConfig {
        guests: GuestStrategy::SingleCustomer { number: "GUEST".into() },
        ..Default::default()
    };
    let r = audit_shop(shop, mapping, |_| {}).await;
    assert_eq!(keys(&r), vec!["guest_orders"]);
    assert_eq!(r.findings[0].severity, Severity::Critical);
    assert!(r.findings[0].fix.contains("customer GUEST"), "{}", r.findings[0].fix);
    assert_eq!(r.exit_code(Severity::Warning), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_before_the_window_are_not_checked() {
    let mut shop = clean();
    shop.order(
        json!({"customer": customer(true, 9), "lines": [product("SW10003", 1)]}),
        45,
    );
    let r = audit_shop(shop, MappingConfig::default(), |_| {}).await;
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.scanned.orders, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_is_read_past_one_page() {
    let mut shop = clean();
    for i in 0..1_190 {
        let n = format!("SW2{i:04}");
        shop.product(&n, "standard", 3, Some(false));
        if i % 100 != 0 {
            shop.erp_item(&n, "VAT19");
        }
    }
    let r = audit_shop(shop, MappingConfig::default(), |_| {}).await;
    assert_eq!(r.scanned.products, 1_201, "three pages of at most 500");
    assert_eq!(keys(&r), vec!["unmapped_products"]);
    assert_eq!(
        r.findings[0].count, 12,
        "every hundredth of the 1,190 added is missing in the ERP"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_master_csv_works_like_the_erp_api() {
    let dir = std::env::temp_dir().join(format!("synctwin-audit-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let shop = clean();
    let mut csv = String::from("number,type,description,unit price,tax code,on hand\n");
    for r in shop.rows.iter().filter(|r| r.number != "SW10004") {
        csv.push_str(&format!(
            "{},Inventory,{},10,{},{}\n",
            r.number, r.description, r.tax_code, r.on_hand
        ));
    }
    for item in ["DISCOUNT", "SHIPPING", "SURCHARGE"] {
        csv.push_str(&format!("{item},Non-Inventory,{item},0,VAT19,0\n"));
    }
    csv.push_str("SERVICE,Service,Service,0,VAT19,0\n");
    let path = dir.join("items.csv");
    std::fs::write(&path, csv).unwrap();
    let s = serve(
        ShopwareTwin::new(
            ShopwareProfile::default_profile(),
            shop.store,
            Credentials::new("SWIAAUDIT", "audit-secret"),
            7,
            Arc::new(ManualClock::with_speed(Speed::new(1000.0).unwrap())),
            ObservationLog::new(),
        ),
        Transport::Hyper,
    )
    .await;
    let clock: SharedClock = Arc::new(ManualClock::new());
    let r = audit(AuditSetup {
        shopware_url: s.base.clone(),
        shop: ShopwareClient::new(&s.base, "SWIAAUDIT", "audit-secret", clock, Duration::from_secs(10)),
        erp: ErpSource::Csv(path.clone()),
        mapping: MappingConfig::default(),
        engine_name: "engine.toml".into(),
        until: default_epoch(),
        days: 30,
    })
    .await
    .unwrap();
    assert_eq!(keys(&r), vec!["unmapped_products"]);
    assert_eq!(r.findings[0].examples, vec!["SW10004"]);
    assert_eq!(r.erp_source, path.display().to_string());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The command line, in-process: twins on their own runtime, `cli::run` on this thread.
mod command {
    use std::process::ExitCode;

    use clap::Parser;
    use synctwin::cli::{run, Cli};

    use super::*;

    fn audit_cli(shop_url: &str, erp_url: &str, extra: &[&str]) -> anyhow::Result<ExitCode> {
        let mut args = vec![
            "synctwin",
            "audit",
            "--shopware-url",
            shop_url,
            "--erp-url",
            erp_url,
            "--until",
            "2026-11-27T00:00:00Z",
            "--shopware-client-id",
            "SWIAAUDIT",
            "--shopware-client-secret",
            "audit-secret",
            "--erp-client-id",
            ERP_ID,
            "--erp-client-secret",
            ERP_SECRET,
        ];
        args.extend_from_slice(extra);
        run(Cli::parse_from(args))
    }

    #[test]
    fn exit_codes_say_clean_findings_or_could_not_audit() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let start = |shop: Shop| {
            rt.block_on(async {
                let clock: SharedClock = Arc::new(ManualClock::with_speed(Speed::new(1000.0).unwrap()));
                let shop_twin = ShopwareTwin::new(
                    ShopwareProfile::default_profile(),
                    shop.store,
                    Credentials::new("SWIAAUDIT", "audit-secret"),
                    7,
                    clock.clone(),
                    ObservationLog::new(),
                );
                let mut cfg = ErpConfig::new(ErpProfile::business_central(), 7);
                cfg.catalogue = Catalogue::Rows(shop.rows);
                cfg.client_id = Some(ERP_ID.into());
                cfg.client_secret = Some(ERP_SECRET.into());
                let erp = Arc::new(ErpTwin::new(cfg, clock, ObservationLog::new()).unwrap());
                (
                    serve(shop_twin, Transport::Hyper).await,
                    serve(erp, Transport::Hyper).await,
                )
            })
        };
        let (s, e) = start(clean());
        let out = std::env::temp_dir().join(format!("synctwin-audit-{}.json", std::process::id()));
        let out_s = out.display().to_string();
        assert_eq!(
            audit_cli(&s.base, &e.base, &["--format", "json", "--out", &out_s]).unwrap(),
            ExitCode::from(0)
        );
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert_eq!(report["findings"], json!([]));
        assert_eq!(report["scanned"]["orders"], 5);
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(
            !text.contains("audit-secret") && !text.contains(ERP_SECRET),
            "no secret in the report"
        );
        std::fs::remove_file(&out).unwrap();

        let mut shop = clean();
        shop.rows.retain(|r| r.number != "SW10002");
        let (s, e) = start(shop);
        let quiet = ["--format", "json", "--out", &out_s];
        assert_eq!(audit_cli(&s.base, &e.base, &quiet).unwrap(), ExitCode::from(1));
        let strict = ["--fail-on", "critical", "--out", &out_s];
        assert_eq!(
            audit_cli(&s.base, &e.base, &strict).unwrap(),
            ExitCode::from(1),
            "an unmapped SKU is critical"
        );
        assert!(
            std::fs::read_to_string(&out).unwrap().starts_with("AUDIT  "),
            "the table format"
        );
        std::fs::remove_file(&out).unwrap();

        // Nothing listens on port 9: the error names the endpoint (exit 2 in main).
        let err = audit_cli("http://127.0.0.1:9", &e.base, &[]).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("http://127.0.0.1:9") && msg.contains("POST /api/oauth/token"),
            "{msg}"
        );
        let err = audit_cli(&s.base, "http://127.0.0.1:9", &[]).unwrap_err();
        assert!(format!("{err:#}").contains("ERP at http://127.0.0.1:9"), "{err:#}");
        drop((s, e));
    }
}
