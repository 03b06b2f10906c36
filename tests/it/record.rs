//! `synctwin record` against the Shopware twin: a seeded shop plus orders placed
//! through the storefront (guests, promotions, configurator options, a custom
//! line and a credit, a cancellation, an order after the window), recorded
//! through the Admin API by the command line, then checked: the window's orders
//! and only those, with their SKUs, quantities and timing; the stock the window
//! started with; consistent pseudonyms within and across recordings; no personal
//! data of the shop anywhere in the trace; and a replay (the traffic driver, and
//! `synctwin run` on the scenario `record` writes) with the same orders.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use serde_json::{json, Value};
use synctwin::clock::{default_epoch, Clock, ManualClock, SharedClock, SimTime, Speed};
use synctwin::observe::ObservationLog;
use synctwin::run::driver::{Driver, Traffic};
use synctwin::scenario::trace::{self, TraceEvent};
use synctwin::twin::erp::{ErpConfig, ErpProfile, ErpTwin};
use synctwin::twin::shopware::checkout::{Cart, CartCustomer, CartLine, CartOption, CartPromotion, DiscountKind};
use synctwin::twin::shopware::seed::{seed_shop, SeedConfig};
use synctwin::twin::shopware::store::{Row, Store};
use synctwin::twin::shopware::{Credentials, ShopwareProfile, ShopwareTwin};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The recorded window: the last three seeded orders and the first five placed here.
const FROM: &str = "2026-11-26T23:00:00Z";
const TO: &str = "2026-11-27T00:15:00Z";

/// A twin with history, served over HTTP on its own runtime (the CLI builds its own).
struct Shop {
    twin: Arc<ShopwareTwin>,
    url: String,
    dir: PathBuf,
    _server: synctwin::twin::http::ServerHandle,
    _rt: tokio::runtime::Runtime,
}

impl Drop for Shop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Scenario time moved by hand while the shop is set up, then flowing at the
/// shop's speed once it serves (its worker pool frees only as time passes).
#[derive(Debug, Clone)]
struct ShopClock {
    manual: ManualClock,
    flowing: Arc<std::sync::OnceLock<(SimTime, std::time::Instant)>>,
}

/// The served shop's speed (pass it to `record --speed`).
const SHOP_SPEED: f64 = 1000.0;

impl ShopClock {
    fn new() -> Self {
        ShopClock {
            manual: ManualClock::with_speed(Speed::new(SHOP_SPEED).unwrap()),
            flowing: Arc::default(),
        }
    }

    fn flow(&self) {
        let _ = self.flowing.set((self.manual.now(), std::time::Instant::now()));
    }
}

impl Clock for ShopClock {
    fn now(&self) -> SimTime {
        match self.flowing.get() {
            Some((base, since)) => base.plus(self.speed().to_scenario(since.elapsed())),
            None => self.manual.now(),
        }
    }
    fn speed(&self) -> Speed {
        self.manual.speed()
    }
    fn epoch(&self) -> OffsetDateTime {
        default_epoch()
    }
}

fn person(email: &str, first: &str, last: &str, street: &str, zip: &str, city: &str) -> CartCustomer {
    CartCustomer {
        email: email.into(),
        first_name: first.into(),
        last_name: last.into(),
        guest: false,
        customer_number: None,
        company: None,
        street: street.into(),
        zipcode: zip.into(),
        city: city.into(),
        country_iso: Some("DE".into()),
        vat_ids: vec![],
        phone_number: None,
    }
}

fn product(n: &str, q: i64) -> CartLine {
    CartLine::Product {
        product_number: n.into(),
        quantity: q,
    }
}

fn cart(customer: CartCustomer, lines: Vec<CartLine>, promotion: Option<CartPromotion>) -> Cart {
    Cart {
        customer,
        lines,
        promotion,
        shipping_gross: Some(4.95),
        tax_status: None,
        currency: None,
    }
}

fn stock(store: &Store, n: &str) -> i64 {
    store.get("product", &store.product_by_number(n).unwrap()).unwrap()["stock"]
        .as_i64()
        .unwrap()
}

/// Seeds 16 orders (one every 17 minutes up to the epoch), then places six at
/// minutes 1, 3, 5, 7, 8 and 20 and cancels the one at minute 8 at minute 12.
fn shop(tag: &str) -> Shop {
    let dir = std::env::temp_dir().join(format!("synctwin-record-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("secret"), "test-secret\n").unwrap();
    let mut store = Store::new();
    seed_shop(
        &mut store,
        &SeedConfig {
            products: 60,
            orders: 16,
            seed: 42,
        },
    );
    // In-stock products of each kind (block conventions in `seed`): customers
    // buy only what the shop shows in stock, here and in the replay.
    let pick = |digits: &[u32]| -> Vec<String> {
        let mut v: Vec<String> = store
            .rows("product")
            .filter(|p| p["parentId"].is_null() && p["childCount"] == json!(0))
            .map(|p| p["productNumber"].as_str().unwrap().to_string())
            .filter(|n| digits.contains(&(n[2..].parse::<u32>().unwrap() % 10)))
            .filter(|n| stock(&store, n) >= 10)
            .collect();
        v.sort();
        v
    };
    let (standard, reduced, custom) = (pick(&[6, 7, 8, 9]), pick(&[4]), pick(&[3]));
    let variant = "SW10000.2";
    assert!(standard.len() >= 3 && !reduced.is_empty() && !custom.is_empty() && stock(&store, variant) >= 2);

    let clock = ShopClock::new();
    let shared: SharedClock = Arc::new(clock.clone());
    let twin = ShopwareTwin::new(
        ShopwareProfile::default_profile(),
        store,
        Credentials::new("SWIATESTCLIENT", "test-secret"),
        7,
        shared,
        ObservationLog::new(),
    );
    let mut anna = person(
        "Anna.Schmidt@kunde-mail.example",
        "Anna",
        "Schmidt",
        "Lindenallee 42",
        "10115",
        "Berlin",
    );
    anna.phone_number = Some("+49 30 9876543".into());
    let mut jonas = person(
        "gast.eins@posteo.example",
        "Jonas",
        "Weber",
        "Am Hang 3",
        "80331",
        "München",
    );
    jonas.guest = true;
    jonas.phone_number = Some("+49 89 2223334".into());
    let mut lena = person(
        "einkauf@nordlicht-bikes.example",
        "Lena",
        "Vogel",
        "Hafenstraße 7",
        "20457",
        "Hamburg",
    );
    lena.guest = true;
    lena.company = Some("Nordlicht Bikes GmbH".into());
    lena.vat_ids = vec!["DE811234567".into()];
    let mut ben = person(
        "ben.becker@firma.example",
        "Ben",
        "Becker",
        "Ringstraße 1",
        "50667",
        "Köln",
    );
    ben.phone_number = Some("+49 221 5550001".into());
    let carla = person(
        "carla.klein@spaet.example",
        "Carla",
        "Klein",
        "Dorfweg 9",
        "01067",
        "Dresden",
    );
    let orders = [
        (
            1,
            cart(anna.clone(), vec![product(&standard[0], 2), product(variant, 1)], None),
        ),
        (
            3,
            cart(
                jonas,
                vec![product(&standard[1], 1), product(&reduced[0], 1)],
                Some(CartPromotion {
                    name: "Winter 10 %".into(),
                    code: Some("WINTER10".into()),
                    discount: DiscountKind::Percentage(10.0),
                }),
            ),
        ),
        (
            5,
            cart(
                anna,
                vec![
                    CartLine::CustomizedProducts {
                        product_number: custom[0].clone(),
                        quantity: 2,
                        options: vec![
                            CartOption {
                                label: "Engraving".into(),
                                value: "Für Anna, in Liebe von Max und den Kindern".into(),
                                surcharge_gross: 4.9,
                                one_time: false,
                                item_number: None,
                            },
                            CartOption {
                                label: "Gift wrapping".into(),
                                value: "Red paper".into(),
                                surcharge_gross: 2.5,
                                one_time: true,
                                item_number: Some("OPT-GIFTWRAP".into()),
                            },
                        ],
                    },
                    product(&standard[0], 1),
                ],
                None,
            ),
        ),
        (
            7,
            cart(
                lena,
                vec![
                    product(&standard[2], 1),
                    CartLine::Custom {
                        label: "Assembly service".into(),
                        unit_price_gross: 29.9,
                        quantity: 1,
                        tax_rate: 19.0,
                    },
                    CartLine::Credit {
                        label: "Goodwill".into(),
                        amount_gross: 3.0,
                    },
                ],
                Some(CartPromotion {
                    name: "Weekend deal".into(),
                    code: None,
                    discount: DiscountKind::Absolute(5.0),
                }),
            ),
        ),
        (8, cart(ben, vec![product(&standard[1], 3)], None)),
        (20, cart(carla, vec![product(&standard[0], 1)], None)),
    ];
    let mut cancel = None;
    for (minute, c) in &orders {
        clock.manual.set(SimTime::from_secs_f64(*minute as f64 * 60.0));
        let placed = twin.place_order(c).unwrap_or_else(|e| panic!("minute {minute}: {e}"));
        if *minute == 8 {
            cancel = Some(placed.order_id);
        }
    }
    clock.manual.set(SimTime::from_secs_f64(12.0 * 60.0));
    twin.storefront_transition("order", &cancel.unwrap(), "cancel").unwrap();
    clock.manual.set(SimTime::from_secs_f64(30.0 * 60.0));
    clock.flow();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt
        .block_on(synctwin::twin::http::spawn(
            twin.clone(),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .unwrap();
    Shop {
        twin,
        url: server.base_url(),
        dir,
        _server: server,
        _rt: rt,
    }
}

fn is_success(code: ExitCode) -> bool {
    format!("{code:?}") == format!("{:?}", ExitCode::SUCCESS)
}

/// `synctwin record` with the twin's credentials (the secret from a file in
/// `dir`) and small pages (paging is exercised).
fn record(url: &str, dir: &Path, out: &Path, from: &str, to: &str, extra: &[&str]) -> anyhow::Result<ExitCode> {
    let secret = dir.join("secret");
    let mut args: Vec<String> = [
        "synctwin",
        "record",
        "--shopware-url",
        url,
        "--from",
        from,
        "--to",
        to,
        "-o",
        &out.display().to_string(),
        "--shopware-client-id",
        "SWIATESTCLIENT",
        "--shopware-secret-file",
        &secret.display().to_string(),
        "--speed",
        &SHOP_SPEED.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if !extra.contains(&"--page-size") {
        args.extend(["--page-size".to_string(), "3".to_string()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    synctwin::cli::run(synctwin::cli::Cli::try_parse_from(args)?)
}

fn recorded(shop: &Shop, name: &str, from: &str, to: &str, extra: &[&str]) -> PathBuf {
    let out = shop.dir.join(name);
    let code = record(&shop.url, &shop.dir, &out, from, to, extra).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(is_success(code));
    out
}

fn events(path: &Path) -> Vec<TraceEvent> {
    trace::read(BufReader::new(std::fs::File::open(path).unwrap()))
        .collect::<Result<_, _>>()
        .unwrap()
}

fn carts(evs: &[TraceEvent]) -> Vec<(u64, &Cart)> {
    evs.iter()
        .filter_map(|e| match e {
            TraceEvent::PlaceOrder { at_ms, cart } => Some((*at_ms, cart.as_ref())),
            _ => None,
        })
        .collect()
}

fn instant(s: &str) -> OffsetDateTime {
    OffsetDateTime::parse(s, &Rfc3339).unwrap()
}

/// Units per SKU a cart orders (nested products included).
fn cart_units(c: &Cart) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for l in &c.lines {
        if let CartLine::Product {
            product_number,
            quantity,
        }
        | CartLine::CustomizedProducts {
            product_number,
            quantity,
            ..
        } = l
        {
            *out.entry(product_number.clone()).or_default() += quantity;
        }
    }
    out
}

/// Units per SKU an order row's product lines took.
fn order_units(store: &Store, order: &Row) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for id in store.ids_by_fk("order_line_item", "orderId", order["id"].as_str().unwrap()) {
        let l = store.get("order_line_item", &id).unwrap();
        if l["type"] == json!("product") {
            *out.entry(l["payload"]["productNumber"].as_str().unwrap().to_string())
                .or_default() += l["quantity"].as_i64().unwrap();
        }
    }
    out
}

fn placed_at(order: &Row) -> OffsetDateTime {
    instant(order["orderDateTime"].as_str().unwrap())
}

fn state_of(store: &Store, order: &Row) -> String {
    let s = store
        .get("state_machine_state", order["stateId"].as_str().unwrap())
        .unwrap();
    s["technicalName"].as_str().unwrap().to_string()
}

fn guest_of(store: &Store, order: &Row) -> bool {
    let oc = store.ids_by_fk("order_customer", "orderId", order["id"].as_str().unwrap());
    let oc = store.get("order_customer", &oc[0]).unwrap();
    store.get("customer", oc["customerId"].as_str().unwrap()).unwrap()["guest"] == json!(true)
}

/// The shop's orders placed in `[from, to)`, oldest first.
fn orders_between(store: &Store, from: OffsetDateTime, to: OffsetDateTime) -> Vec<Arc<Row>> {
    let mut v: Vec<Arc<Row>> = store
        .rows("order")
        .filter(|o| (from..to).contains(&placed_at(o)))
        .collect();
    v.sort_by_key(|o| (placed_at(o), o["id"].as_str().unwrap().to_string()));
    v
}

fn ms(from: OffsetDateTime, at: OffsetDateTime) -> u64 {
    (at - from).whole_milliseconds() as u64
}

#[test]
fn a_recorded_window_holds_its_orders_and_only_those_with_timing_shapes_and_starting_stock() {
    let shop = shop("window");
    let out = recorded(&shop, "trace.jsonl", FROM, TO, &[]);
    let evs = events(&out);
    let store = shop.twin.read();
    let (from, to) = (instant(FROM), instant(TO));
    let expected = orders_between(&store, from, to);
    assert_eq!(
        expected.len(),
        8,
        "three seeded orders and five placed ones lie in the window"
    );
    assert!(
        store.len("order") > expected.len(),
        "orders before and after the window exist"
    );

    // The window's orders and only those, in time order, with their timing and shapes.
    let got = carts(&evs);
    assert_eq!(got.len(), expected.len());
    for ((at_ms, c), o) in got.iter().zip(&expected) {
        let n = o["orderNumber"].as_str().unwrap();
        assert_eq!(*at_ms, ms(from, placed_at(o)), "order {n}: time offset from --from");
        assert_eq!(cart_units(c), order_units(&store, o), "order {n}: SKUs and quantities");
        assert_eq!(c.customer.guest, guest_of(&store, o), "order {n}: guest");
        let lines: Vec<Arc<Row>> = store
            .ids_by_fk("order_line_item", "orderId", o["id"].as_str().unwrap())
            .iter()
            .map(|id| store.get("order_line_item", id).unwrap())
            .collect();
        let promo = lines.iter().find(|l| l["type"] == json!("promotion"));
        assert_eq!(
            c.promotion.as_ref().map(|p| p.name.as_str()),
            promo.map(|l| l["label"].as_str().unwrap()),
            "order {n}: promotion"
        );
        let mut option_lens: Vec<usize> = lines
            .iter()
            .filter(|l| l["type"] == json!("customized-products-option"))
            .map(|l| l["payload"]["value"].as_str().unwrap().chars().count())
            .collect();
        let mut recorded_lens: Vec<usize> = c
            .lines
            .iter()
            .flat_map(|l| match l {
                CartLine::CustomizedProducts { options, .. } => {
                    options.iter().map(|o| o.value.chars().count()).collect()
                }
                _ => vec![],
            })
            .collect();
        option_lens.sort();
        recorded_lens.sort();
        assert_eq!(
            recorded_lens, option_lens,
            "order {n}: configurator texts keep their length"
        );
        assert_eq!(
            c.tax_status.as_deref().unwrap_or("gross"),
            o["taxStatus"].as_str().unwrap(),
            "order {n}"
        );
    }
    let kinds: BTreeSet<&str> = got
        .iter()
        .flat_map(|(_, c)| c.lines.iter())
        .map(|l| match l {
            CartLine::Product { .. } => "product",
            CartLine::CustomizedProducts { .. } => "customized-products",
            CartLine::Custom { .. } => "custom",
            CartLine::Credit { .. } => "credit",
        })
        .collect();
    assert_eq!(kinds.len(), 4, "{kinds:?}");

    // The cancellation, at its time, pointing at its order.
    let cancels: Vec<(u64, u64)> = evs
        .iter()
        .filter_map(|e| match e {
            TraceEvent::CancelOrder { at_ms, order_index } => Some((*at_ms, *order_index)),
            _ => None,
        })
        .collect();
    let cancelled: Vec<usize> = expected
        .iter()
        .enumerate()
        .filter(|(_, o)| state_of(&store, o) == "cancelled")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(cancelled.len(), 1);
    let o = &expected[cancelled[0]];
    assert_eq!(
        cancels,
        vec![(ms(from, instant(o["updatedAt"].as_str().unwrap())), cancelled[0] as u64)]
    );
    assert_eq!(
        cancels[0].0,
        72 * 60_000,
        "cancelled at minute 12, 72 minutes after --from"
    );

    // The catalogue: every product, with the stock the window started with
    // (now, plus what every standing order since --from took).
    let header: BTreeMap<String, i64> = evs
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Product { product, .. } => Some((product.product_number.clone(), product.stock)),
            _ => None,
        })
        .collect();
    assert_eq!(header.len(), store.len("product"));
    let mut taken: BTreeMap<String, i64> = BTreeMap::new();
    for o in store.rows("order").filter(|o| placed_at(o) >= from) {
        if state_of(&store, &o) != "cancelled" {
            for (sku, n) in order_units(&store, &o) {
                *taken.entry(sku).or_default() += n;
            }
        }
    }
    assert!(taken.len() >= 5);
    for p in store.rows("product") {
        let n = p["productNumber"].as_str().unwrap();
        let now = p["stock"].as_i64().unwrap();
        assert_eq!(header[n], now + taken.get(n).copied().unwrap_or(0), "{n}");
    }
    let currencies = evs.iter().filter(|e| matches!(e, TraceEvent::Currency { .. })).count();
    assert_eq!(currencies, store.len("currency"));
}

/// Every personal value the shop holds, as it would appear in a trace line.
fn personal_data(store: &Store) -> (Vec<String>, Vec<String>) {
    let q = |v: &Value| serde_json::to_string(v).unwrap();
    // Distinctive values: found anywhere, in any case.
    let mut anywhere = Vec::new();
    // Short values: found as whole fields (a fake zip may share digits with a price).
    let mut fields = Vec::new();
    for oc in store.rows("order_customer").chain(store.rows("customer")) {
        anywhere.push(oc["email"].as_str().unwrap().to_lowercase());
        fields.push(format!(
            "\"firstName\":{},\"lastName\":{}",
            q(&oc["firstName"]),
            q(&oc["lastName"])
        ));
        if let Some(c) = oc["company"].as_str() {
            anywhere.push(c.to_lowercase());
        }
        if let Some(n) = oc["customerNumber"].as_str() {
            fields.push(format!("\"customerNumber\":{}", q(&json!(n))));
        }
        for v in oc["vatIds"].as_array().into_iter().flatten() {
            anywhere.push(v.as_str().unwrap().to_lowercase());
        }
    }
    for a in store.rows("order_address") {
        anywhere.push(a["street"].as_str().unwrap().to_lowercase());
        fields.push(format!("\"zipcode\":{},\"city\":{}", q(&a["zipcode"]), q(&a["city"])));
        if let Some(p) = a["phoneNumber"].as_str() {
            anywhere.push(p.to_lowercase());
        }
    }
    (anywhere, fields)
}

fn leaks(text: &str, store: &Store) -> Vec<String> {
    let lower = text.to_lowercase();
    let (anywhere, fields) = personal_data(store);
    anywhere
        .into_iter()
        .filter(|v| lower.contains(v.as_str()))
        .chain(fields.into_iter().filter(|f| text.contains(f.as_str())))
        .collect()
}

fn email_at(evs: &[TraceEvent], minute: u64, from: &str) -> String {
    let at = ms(instant(from), default_epoch() + time::Duration::minutes(minute as i64));
    carts(evs)
        .into_iter()
        .find(|(t, _)| *t == at)
        .unwrap_or_else(|| panic!("no order at minute {minute}"))
        .1
        .customer
        .email
        .clone()
}

#[test]
fn pseudonyms_are_consistent_within_and_across_recordings_and_nothing_personal_is_recorded() {
    let shop = shop("pseudonyms");
    let salt = shop.dir.join("salt.key");
    let salt = salt.display().to_string();
    let one = recorded(&shop, "one.jsonl", FROM, TO, &["--salt-file", &salt]);
    assert!(Path::new(&salt).is_file(), "the first recording makes the salt file");
    // Another window with the same salt: Anna's second order (minute 5) and Carla's (minute 20).
    let later_from = "2026-11-27T00:04:00Z";
    let two = recorded(
        &shop,
        "two.jsonl",
        later_from,
        "2026-11-27T00:30:00Z",
        &["--salt-file", &salt],
    );
    let other_salt = shop.dir.join("other.key").display().to_string();
    let three = recorded(&shop, "three.jsonl", FROM, TO, &["--salt-file", &other_salt]);
    let random = recorded(&shop, "random.jsonl", FROM, TO, &[]);
    let plain = recorded(&shop, "plain.jsonl", FROM, TO, &["--no-anonymise"]);

    let (e1, e2, e3) = (events(&one), events(&two), events(&three));
    // Within a recording: Anna ordered at minutes 1 and 5, the same pseudonym both times.
    let anna = email_at(&e1, 1, FROM);
    assert_eq!(email_at(&e1, 5, FROM), anna);
    let c1 = carts(&e1);
    let annas: Vec<&&Cart> = c1.iter().map(|(_, c)| c).filter(|c| c.customer.email == anna).collect();
    assert_eq!(annas.len(), 2);
    assert_eq!(
        (
            &annas[0].customer.first_name,
            &annas[0].customer.street,
            &annas[0].customer.phone_number
        ),
        (
            &annas[1].customer.first_name,
            &annas[1].customer.street,
            &annas[1].customer.phone_number
        )
    );
    // Distinct customers stay distinct (guests are not merged by pseudonymisation).
    let emails: BTreeSet<&str> = c1.iter().map(|(_, c)| c.customer.email.as_str()).collect();
    let store = shop.twin.read();
    let originals: BTreeSet<String> = orders_between(&store, instant(FROM), instant(TO))
        .iter()
        .map(|o| {
            let oc = store.ids_by_fk("order_customer", "orderId", o["id"].as_str().unwrap());
            store.get("order_customer", &oc[0]).unwrap()["email"]
                .as_str()
                .unwrap()
                .to_lowercase()
        })
        .collect();
    assert_eq!(emails.len(), originals.len());
    // Across recordings with the same salt: the same pseudonym; another salt, another one.
    assert_eq!(email_at(&e2, 5, later_from), anna);
    assert_ne!(email_at(&e3, 1, FROM), anna);
    assert_eq!(carts(&e2).len(), 4, "the orders of minutes 5, 7, 8 and 20");

    // No personal value of the shop in any pseudonymised trace.
    for path in [&one, &two, &three, &random] {
        let text = std::fs::read_to_string(path).unwrap();
        let found = leaks(&text, &store);
        assert!(found.is_empty(), "{}: {found:?}", path.display());
    }
    // The scan finds what is there: the unpseudonymised recording leaks by design.
    let text = std::fs::read_to_string(&plain).unwrap();
    let found = leaks(&text, &store);
    for v in [
        "anna.schmidt@kunde-mail.example",
        "+49 30 9876543",
        "lindenallee 42",
        "nordlicht bikes gmbh",
    ] {
        assert!(
            found.iter().any(|f| f == v),
            "{v} not found in the plain trace: {found:?}"
        );
    }
}

#[test]
fn a_recorded_trace_replays_with_the_same_orders_and_ends_with_the_stock_of_the_window_end() {
    let shop = shop("replay");
    let out = recorded(&shop, "trace.jsonl", FROM, TO, &[]);
    let erp_profile = ErpProfile::business_central();
    let cat = synctwin::scenario::recorded::build(&out, &erp_profile)
        .unwrap()
        .unwrap();

    let clock = ManualClock::with_speed(Speed::new(1000.0).unwrap());
    let shared: SharedClock = Arc::new(clock.clone());
    let replay = ShopwareTwin::new(
        ShopwareProfile::default_profile(),
        cat.shop,
        Credentials::new("SWIAREPLAY", "replay-secret"),
        9,
        shared.clone(),
        ObservationLog::new(),
    );
    let mut erp_cfg = ErpConfig::new(erp_profile, 9);
    erp_cfg.catalogue = cat.erp;
    let erp = Arc::new(ErpTwin::new(erp_cfg, shared.clone(), ObservationLog::new()).unwrap());
    let mut driver = Driver::new(replay.clone(), erp, shared);
    for ev in events(&out) {
        if let Some(t) = Traffic::from_event(ev) {
            clock.set(t.at());
            driver.apply(t);
        }
    }
    let store = shop.twin.read();
    let (from, to) = (instant(FROM), instant(TO));
    let original = orders_between(&store, from, to);
    assert_eq!(driver.stats.orders_placed, original.len() as u64, "{:?}", driver.stats);
    assert_eq!(driver.stats.cancellations, 1);
    assert_eq!(
        (driver.stats.orders_refused, driver.stats.not_bought_out_of_stock),
        (0, 0)
    );

    // Same orders: timing, SKUs and quantities, line kinds, money, guests, states.
    let again = replay.read();
    let epoch = default_epoch();
    let mut replayed: Vec<Arc<Row>> = again.rows("order").collect();
    replayed.sort_by_key(|o| (placed_at(o), o["orderNumber"].as_str().unwrap().to_string()));
    assert_eq!(replayed.len(), original.len());
    let kinds = |s: &Store, o: &Row| -> Vec<String> {
        let mut k: Vec<String> = s
            .ids_by_fk("order_line_item", "orderId", o["id"].as_str().unwrap())
            .iter()
            .map(|id| {
                s.get("order_line_item", id).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        k.sort();
        k
    };
    let currency =
        |s: &Store, o: &Row| s.get("currency", o["currencyId"].as_str().unwrap()).unwrap()["isoCode"].clone();
    for (r, o) in replayed.iter().zip(&original) {
        let n = o["orderNumber"].as_str().unwrap();
        assert_eq!(placed_at(r) - epoch, placed_at(o) - from, "order {n}: timing");
        assert_eq!(order_units(&again, r), order_units(&store, o), "order {n}");
        assert_eq!(kinds(&again, r), kinds(&store, o), "order {n}: line kinds");
        for f in ["amountTotal", "amountNet", "shippingTotal", "taxStatus"] {
            assert_eq!(r[f], o[f], "order {n}: {f}");
        }
        assert_eq!(currency(&again, r), currency(&store, o), "order {n}: currency");
        assert_eq!(guest_of(&again, r), guest_of(&store, o), "order {n}: guest");
        assert_eq!(state_of(&again, r), state_of(&store, o), "order {n}: state");
    }
    // Who bought what together: orders share a customer in the replay exactly when they did in the shop.
    let email = |s: &Store, o: &Row| -> String {
        let oc = s.ids_by_fk("order_customer", "orderId", o["id"].as_str().unwrap());
        s.get("order_customer", &oc[0]).unwrap()["email"]
            .as_str()
            .unwrap()
            .to_lowercase()
    };
    let pairs = |s: &Store, os: &[Arc<Row>]| -> Vec<bool> {
        let e: Vec<String> = os.iter().map(|o| email(s, o)).collect();
        (0..e.len())
            .flat_map(|i| (0..e.len()).map(move |j| (i, j)))
            .map(|(i, j)| e[i] == e[j])
            .collect()
    };
    assert_eq!(pairs(&again, &replayed), pairs(&store, &original));

    // The replay ends with the stock the shop had at the window's end
    // (now, plus what orders placed after --to took).
    let mut later: BTreeMap<String, i64> = BTreeMap::new();
    for o in store.rows("order").filter(|o| placed_at(o) >= to) {
        if state_of(&store, &o) != "cancelled" {
            for (sku, n) in order_units(&store, &o) {
                *later.entry(sku).or_default() += n;
            }
        }
    }
    assert!(!later.is_empty(), "an order after the window took stock");
    for p in store.rows("product") {
        let n = p["productNumber"].as_str().unwrap();
        let at_to = p["stock"].as_i64().unwrap() + later.get(n).copied().unwrap_or(0);
        assert_eq!(stock(&again, n), at_to, "{n}");
    }
}

#[test]
fn synctwin_run_replays_the_scenario_record_writes() {
    let shop = shop("run");
    let scenario = shop.dir.join("recorded.toml");
    let out = recorded(
        &shop,
        "trace.jsonl",
        FROM,
        TO,
        &["--scenario", &scenario.display().to_string()],
    );
    let text = std::fs::read_to_string(&scenario).unwrap();
    assert!(
        text.contains("trace = \"trace.jsonl\"") && text.contains("duration = \"4500s\""),
        "{text}"
    );
    let plan = synctwin::scenario::load(&scenario).unwrap_or_else(|e| panic!("{e}"));
    assert!(plan
        .trace
        .as_ref()
        .is_some_and(|t| t.catalogue && t.path.ends_with("trace.jsonl")));

    let reports = shop.dir.join("reports");
    let args = [
        "synctwin",
        "run",
        &scenario.display().to_string(),
        "--speed",
        "900",
        "--out",
        &reports.display().to_string(),
        "--quiet",
    ];
    let code =
        synctwin::cli::run(synctwin::cli::Cli::try_parse_from(args).unwrap()).unwrap_or_else(|e| panic!("{e:#}"));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(reports.join("run.json")).unwrap()).unwrap();
    let r = &report["reconciliation"];
    let placed = carts(&events(&out)).len() as u64;
    assert_eq!(r["shop_orders"], json!(placed), "every recorded order placed again");
    assert_eq!(r["erp_orders"], json!(placed), "and exported once: {r}");
    assert_eq!(
        (r["missing_orders"].clone(), r["duplicated_orders"].clone()),
        (json!(0), json!(0))
    );
    assert!(is_success(code), "{}", report["verdict"]);
}

#[test]
fn record_fails_clearly_naming_the_endpoint() {
    let shop = shop("errors");
    let out = shop.dir.join("never.jsonl");
    let (url, dir) = (shop.url.as_str(), shop.dir.as_path());
    // Wrong credentials: refused at the token endpoint.
    std::fs::write(dir.join("secret"), "wrong\n").unwrap();
    let e = format!("{:#}", record(url, dir, &out, FROM, TO, &[]).unwrap_err());
    assert!(
        e.contains("refused the integration's credentials") && e.contains("401 from POST /api/oauth/token"),
        "{e}"
    );
    // Nobody listening.
    std::fs::write(dir.join("secret"), "test-secret\n").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = format!("http://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    let e = format!("{:#}", record(&gone, dir, &out, FROM, TO, &[]).unwrap_err());
    assert!(
        e.contains("did not answer") && e.contains("POST /api/oauth/token"),
        "{e}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a refused connection is not retried"
    );
    assert!(!out.exists(), "no trace from a failed recording");
    assert_eq!(std::fs::read_dir(dir).unwrap().count(), 1, "no side files left behind");
    // Bad arguments.
    let nowhere = dir.join("no-such-dir").join("t.jsonl");
    let e = format!("{:#}", record(url, dir, &nowhere, FROM, TO, &[]).unwrap_err());
    assert!(e.contains("no-such-dir") && e.contains("does not exist"), "{e}");
    let e = format!("{:#}", record(url, dir, &out, TO, FROM, &[]).unwrap_err());
    assert!(e.contains("--to") && e.contains("after --from"), "{e}");
    let e = record(url, dir, &out, FROM, TO, &["--page-size", "501"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("501") && e.contains("1..=500"), "{e}");
    let e = record(url, dir, &out, "yesterday", TO, &[]).unwrap_err().to_string();
    assert!(e.contains("RFC 3339"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_reads_wait_as_told_and_the_recording_completes() {
    // A proxy allowing two API requests per scenario minute, answering 429 with
    // Retry-After; the shop runs at 1000x, so a minute is 60 ms.
    let profile = ShopwareProfile::parse(
        "test",
        &std::fs::read_to_string("mocks/shopware/self-hosted-6.6.toml")
            .unwrap()
            .replace(
                "[auth]",
                "[[rate_limits]]\nname = \"proxy\"\nroute = \"/api/*\"\nkey = \"ip\"\npolicy = \"sliding_window\"\nlimit = 2\nwindow = \"60s\"\nretry_after = true\nstatus = 429\n\n[auth]",
            ),
    )
    .unwrap();
    let mut store = Store::new();
    seed_shop(
        &mut store,
        &SeedConfig {
            products: 20,
            orders: 8,
            seed: 4,
        },
    );
    let clock: SharedClock = Arc::new(synctwin::clock::ScaledClock::start(Speed::new(1000.0).unwrap()));
    let twin = ShopwareTwin::new(
        profile,
        store,
        Credentials::new("SWIATESTCLIENT", "test-secret"),
        7,
        clock,
        ObservationLog::new(),
    );
    let server = synctwin::twin::http::spawn(twin.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("synctwin-record-429-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let opts = synctwin::record::RecordOptions {
        shopware_url: server.base_url(),
        client_id: "SWIATESTCLIENT".into(),
        client_secret: "test-secret".into(),
        from: instant("2026-11-26T00:00:00Z"),
        to: instant("2026-11-27T00:00:00Z"),
        output: dir.join("t.jsonl"),
        pseudonymiser: None,
        page_size: 5,
        timeout: Duration::from_secs(30),
        speed: Speed::new(1000.0).unwrap(),
    };
    let sum = synctwin::record::record(&opts)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(sum.orders, 8);
    assert!(
        sum.fetch.throttled > 0 && sum.fetch.retries >= sum.fetch.throttled,
        "{:?}",
        sum.fetch
    );
    assert_eq!(twin.stats().total_with_status(429), sum.fetch.throttled);
    assert_eq!(twin.retry_after_violations(), 0, "every Retry-After was honoured");
    assert_eq!(carts(&events(&opts.output)).len(), 8);
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
