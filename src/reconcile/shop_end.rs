//! The Shopware twin's end state as reconciliation reads it: one pass over
//! each table, each row read into a small typed record of the fields
//! reconciliation needs (not into a JSON map), and rows joined by id in hash
//! maps instead of one index lookup and row decode per order.
//!
//! A peak day's store has about 100k orders and 800k order rows; reading them
//! order by order (order customer, customer, line items, their products)
//! took 8–13 s at the end of every run, most of it decoding the same product
//! rows again. Fields are kept as JSON values and read the way the row maps
//! were read (`as_str`, `as_f64`), so a field of an unexpected type reads as
//! missing, as before.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::Value;

use super::shipments::ShopDelivery;
use super::{rate_key, Rates, ShopOrder};
use crate::twin::shopware::packed::Key;
use crate::twin::shopware::states;
use crate::twin::shopware::store::Store;

type Field = Option<Value>;

fn text(v: &Field) -> Option<&str> {
    v.as_ref().and_then(Value::as_str)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderRow {
    id: Field,
    order_number: Field,
    amount_total: Field,
    amount_net: Field,
    price: Field,
    state_id: Field,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderCustomerRow {
    order_id: Field,
    email: Field,
    customer_id: Field,
}

#[derive(Deserialize)]
struct CustomerRow {
    id: Field,
    guest: Field,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LineItemRow {
    order_id: Field,
    #[serde(rename = "type")]
    kind: Field,
    product_id: Field,
    quantity: Field,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductRow {
    product_number: Field,
    stock: Field,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeliveryRow {
    order_id: Field,
    state_id: Field,
    tracking_codes: Field,
}

/// Product id → product number, off the unique product-number index (no row read).
fn product_numbers(store: &Store) -> HashMap<Key, String> {
    store
        .product_numbers()
        .map(|(number, id)| (Key::new(&id), number.to_string()))
        .collect()
}

/// Shopware's stock per product number, every product.
pub fn shop_stock(store: &Store) -> BTreeMap<String, i64> {
    store
        .scan::<ProductRow>("product")
        .filter_map(|p| {
            let stock = p.stock.as_ref().and_then(Value::as_i64).unwrap_or(0);
            Some((text(&p.product_number)?.to_string(), stock))
        })
        .collect()
}

/// Per order id: its line-item count and its product lines' (SKU, units),
/// both in line-item id order (an unknown product reads as SKU "").
/// `rest` holds the product-number index, `table` the line items.
fn order_lines(table: &Store, rest: &Store) -> HashMap<Key, (usize, Vec<(String, i64)>)> {
    let numbers = product_numbers(rest);
    let mut out: HashMap<Key, (usize, Vec<(String, i64)>)> = HashMap::new();
    for li in table.scan::<LineItemRow>("order_line_item") {
        let Some(order_id) = text(&li.order_id) else { continue };
        let entry = out.entry(Key::new(order_id)).or_default();
        entry.0 += 1;
        if text(&li.kind) != Some("product") {
            continue;
        }
        if let Some(pid) = text(&li.product_id) {
            let sku = numbers.get(&Key::new(pid)).cloned().unwrap_or_default();
            entry
                .1
                .push((sku, li.quantity.as_ref().and_then(Value::as_i64).unwrap_or(0)));
        }
    }
    out
}

/// Per order id: the e-mail and guest flag of its first order customer (by id).
fn order_customers(customers: Part<'_>, order_customers: &Store) -> HashMap<Key, (String, bool)> {
    let guests: HashMap<Key, bool> = customers
        .scan::<CustomerRow>("customer")
        .filter_map(|c| {
            let guest = c.guest.as_ref().and_then(Value::as_bool).unwrap_or(false);
            Some((Key::new(text(&c.id)?), guest))
        })
        .collect();
    drop(customers);
    let mut out = HashMap::new();
    for oc in order_customers.scan::<OrderCustomerRow>("order_customer") {
        let Some(order_id) = text(&oc.order_id) else { continue };
        out.entry(Key::new(order_id)).or_insert_with(|| {
            let email = text(&oc.email).unwrap_or_default().to_string();
            let guest = text(&oc.customer_id)
                .and_then(|c| guests.get(&Key::new(c)).copied())
                .unwrap_or(false);
            (email, guest)
        });
    }
    out
}

/// An order row's own fields as reconciliation keeps them (its id, and the
/// order without its customer and lines), read as the row is scanned: the
/// row's `price` JSON is dropped at once instead of held for every order.
fn own_fields(o: OrderRow, cancelled_id: &str) -> (Key, ShopOrder) {
    let f = |v: &Field| v.as_ref().and_then(Value::as_f64).unwrap_or(0.0);
    let mut taxes = Rates::default();
    for t in o
        .price
        .as_ref()
        .and_then(|p| p.get("calculatedTaxes"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let rate = rate_key(t.get("taxRate").and_then(Value::as_f64).unwrap_or(0.0));
        taxes.add(rate, t.get("tax").and_then(Value::as_f64).unwrap_or(0.0));
    }
    let order = ShopOrder {
        number: text(&o.order_number).unwrap_or_default().to_string(),
        gross: f(&o.amount_total),
        net: f(&o.amount_net),
        taxes,
        lines: 0,
        cancelled: text(&o.state_id) == Some(cancelled_id),
        guest: false,
        email: String::new(),
        units: Vec::new(),
    };
    (Key::new(text(&o.id).unwrap_or_default()), order)
}

/// Orders out of the Shopware twin's store, in id order.
pub fn shop_orders(store: &Store) -> Vec<ShopOrder> {
    orders_and_deliveries(store).0
}

/// Each order's first delivery (by id): its state, tracking codes and whether
/// the order is cancelled; orders without a delivery are left out.
pub fn shop_deliveries(store: &Store) -> Vec<ShopDelivery> {
    orders_and_deliveries(store).1
}

/// [`shop_orders`] and [`shop_deliveries`] off one scan of the order rows; the
/// line items, and the customers with the deliveries, are read on threads of
/// their own meanwhile.
pub fn orders_and_deliveries(store: &Store) -> (Vec<ShopOrder>, Vec<ShopDelivery>) {
    join(Parts {
        rest: store,
        orders: Part::Shared(store),
        lines: Part::Shared(store),
        customers: Part::Shared(store),
        order_customers: Part::Shared(store),
        deliveries: Part::Shared(store),
    })
}

/// [`orders_and_deliveries`] out of a store the caller is done with: the
/// order tables are taken out of it and each is freed as soon as it is read
/// (they are most of a peak day's store); the products and states stay.
pub fn take_orders_and_deliveries(store: &mut Store) -> (Vec<ShopOrder>, Vec<ShopDelivery>) {
    // Not read at all.
    drop((store.split_off("order_address"), store.split_off("order_transaction")));
    let mut own = |entity| Part::Own(Box::new(store.split_off(entity)));
    let (orders, lines, customers, order_customers, deliveries) = (
        own("order"),
        own("order_line_item"),
        own("customer"),
        own("order_customer"),
        own("order_delivery"),
    );
    join(Parts {
        rest: store,
        orders,
        lines,
        customers,
        order_customers,
        deliveries,
    })
}

/// A table to read: in a store that stays, or split off to be freed once read.
enum Part<'a> {
    Shared(&'a Store),
    Own(Box<Store>),
}

impl std::ops::Deref for Part<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        match self {
            Part::Shared(s) => s,
            Part::Own(s) => s,
        }
    }
}

/// Where [`join`] reads each table; `rest` has the indexes and states.
struct Parts<'a> {
    rest: &'a Store,
    orders: Part<'a>,
    lines: Part<'a>,
    customers: Part<'a>,
    order_customers: Part<'a>,
    deliveries: Part<'a>,
}

fn join(p: Parts<'_>) -> (Vec<ShopOrder>, Vec<ShopDelivery>) {
    let cancelled_id = states::state_id(&states::ORDER, "cancelled");
    let Parts {
        rest,
        orders,
        lines,
        customers,
        order_customers: ocs,
        deliveries,
    } = p;
    let (mut lines, (mut customers, mut deliveries), orders) = std::thread::scope(|s| {
        let lines = s.spawn(move || order_lines(&lines, rest));
        let customers = s.spawn(move || {
            let by_order = order_customers(customers, &ocs);
            drop(ocs);
            (by_order, first_deliveries(&deliveries, rest))
        });
        let orders: Vec<(Key, ShopOrder)> = orders
            .scan::<OrderRow>("order")
            .map(|o| own_fields(o, &cancelled_id))
            .collect();
        (
            lines.join().expect("the line-item scan does not panic"),
            customers.join().expect("the customer and delivery scans do not panic"),
            orders,
        )
    });
    let mut shipped = Vec::with_capacity(deliveries.len());
    let orders = orders
        .into_iter()
        .map(|(id, mut order)| {
            if let Some(mut d) = deliveries.remove(&id) {
                d.order_number.clone_from(&order.number);
                d.cancelled = order.cancelled;
                shipped.push(d);
            }
            (order.email, order.guest) = customers.remove(&id).unwrap_or_default();
            (order.lines, order.units) = lines.remove(&id).unwrap_or_default();
            order
        })
        .collect();
    (orders, shipped)
}

/// Per order id, its first delivery (by id), without the order's number and state.
/// `table` holds the deliveries, `rest` the states.
fn first_deliveries(table: &Store, rest: &Store) -> HashMap<Key, ShopDelivery> {
    let mut names: HashMap<String, String> = HashMap::new();
    let mut first: HashMap<Key, ShopDelivery> = HashMap::new();
    for d in table.scan::<DeliveryRow>("order_delivery") {
        let Some(order_id) = text(&d.order_id) else { continue };
        let order_id = Key::new(order_id);
        if first.contains_key(&order_id) {
            continue;
        }
        let state = match text(&d.state_id) {
            Some(sid) => names
                .entry(sid.to_string())
                .or_insert_with(|| states::technical_name(rest, sid).unwrap_or_default())
                .clone(),
            None => String::new(),
        };
        let tracking_codes = d
            .tracking_codes
            .as_ref()
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|c| c.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        first.insert(
            order_id,
            ShopDelivery {
                order_number: String::new(),
                state,
                tracking_codes,
                cancelled: false,
            },
        );
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn put(s: &mut Store, entity: &'static str, v: Value) {
        s.put(entity, v.as_object().unwrap().clone());
    }

    /// 400 orders (most of their rows packed, the newest plain), with guests,
    /// cancellations, promotion lines, an unknown product, orders without a
    /// delivery or customer, and a stock field of the wrong type.
    fn store() -> Store {
        let mut s = Store::new();
        states::seed(&mut s, "2026-11-27T00:00:00.000+00:00");
        let shipped = states::state_id(&states::DELIVERY, "shipped");
        let open = states::state_id(&states::DELIVERY, "open");
        let cancelled = states::state_id(&states::ORDER, "cancelled");
        for p in 0..50 {
            let stock = if p == 7 { json!("many") } else { json!(p * 3) };
            put(
                &mut s,
                "product",
                json!({"id": format!("{p:032x}"), "productNumber": format!("SW{p}"), "stock": stock}),
            );
        }
        for o in 0..400u32 {
            let oid = format!("{:032x}", 1_000_000 + o * 7919 % 400);
            let state = if o % 17 == 0 { cancelled.clone() } else { "x".into() };
            put(
                &mut s,
                "order",
                json!({"id": oid, "orderNumber": (10000 + o).to_string(), "stateId": state,
                "amountTotal": 10.0 + o as f64, "amountNet": 8.4 + o as f64, "deep": {"a": [1, 2, {"b": null}]},
                "price": {"calculatedTaxes": [{"taxRate": 19.0, "tax": 1.6}, {"taxRate": 7, "tax": 0.1}]}}),
            );
            if o % 11 != 0 {
                let cid = format!("c{o}");
                put(&mut s, "customer", json!({"id": cid, "guest": o % 3 == 0}));
                put(
                    &mut s,
                    "order_customer",
                    json!({"id": format!("oc{o}"), "orderId": oid, "customerId": cid, "email": format!("{o}@example.com")}),
                );
            }
            for l in 0..(o % 5) {
                let (kind, pid) = match l {
                    2 => ("promotion", Value::Null),
                    3 => ("product", json!("ffffffffffffffffffffffffffffffff")),
                    _ => ("product", json!(format!("{:032x}", (o + l) % 50))),
                };
                put(
                    &mut s,
                    "order_line_item",
                    json!({"id": format!("l{o}-{l}"), "orderId": oid, "type": kind, "productId": pid, "quantity": l + 1}),
                );
            }
            if o % 13 != 0 {
                let codes = if o % 2 == 0 {
                    json!(["T1", format!("T{o}")])
                } else {
                    json!([])
                };
                let ds = if o % 2 == 0 { &shipped } else { &open };
                put(
                    &mut s,
                    "order_delivery",
                    json!({"id": format!("d{o}"), "orderId": oid, "stateId": ds, "trackingCodes": codes}),
                );
            }
        }
        s
    }

    /// What the orders were read as before the scan: one order at a time,
    /// through the indexes and decoded rows.
    fn order_by_order(store: &Store) -> Vec<ShopOrder> {
        let cancelled_id = states::state_id(&states::ORDER, "cancelled");
        store
            .rows("order")
            .map(|o| {
                let id = o["id"].as_str().unwrap();
                let customer = store
                    .ids_by_fk("order_customer", "orderId", id)
                    .first()
                    .and_then(|c| store.get("order_customer", c));
                let mut taxes = Rates::default();
                for t in o["price"]["calculatedTaxes"].as_array().unwrap() {
                    taxes.add(rate_key(t["taxRate"].as_f64().unwrap()), t["tax"].as_f64().unwrap());
                }
                ShopOrder {
                    number: o["orderNumber"].as_str().unwrap().to_string(),
                    gross: o["amountTotal"].as_f64().unwrap(),
                    net: o["amountNet"].as_f64().unwrap(),
                    taxes,
                    lines: store.ids_by_fk("order_line_item", "orderId", id).len(),
                    cancelled: o["stateId"].as_str() == Some(cancelled_id.as_str()),
                    guest: customer
                        .as_ref()
                        .and_then(|c| store.get("customer", c["customerId"].as_str()?))
                        .is_some_and(|c| c["guest"] == json!(true)),
                    email: customer
                        .map(|c| c["email"].as_str().unwrap().to_string())
                        .unwrap_or_default(),
                    units: crate::twin::shopware::routes::sku_quantities(store, id)
                        .into_iter()
                        .map(|l| (l.sku, l.qty))
                        .collect(),
                }
            })
            .collect()
    }

    #[test]
    fn the_scan_reads_what_order_by_order_reads() {
        let s = store();
        assert!(
            s.packed_bytes("order") > 0 && s.packed_bytes("order_line_item") > 0,
            "rows are packed"
        );
        let scanned = shop_orders(&s);
        assert_eq!(scanned.len(), 400);
        assert_eq!(scanned, order_by_order(&s));
        assert!(scanned.iter().any(|o| o.guest) && scanned.iter().any(|o| o.cancelled));
        assert!(
            scanned.iter().any(|o| o.units.iter().any(|(sku, _)| sku.is_empty())),
            "an unknown product reads as SKU \"\""
        );
        assert!(
            scanned.iter().any(|o| o.email.is_empty()),
            "an order without a customer has no e-mail"
        );
    }

    #[test]
    fn deliveries_are_each_orders_first_with_state_names() {
        let s = store();
        let d = shop_deliveries(&s);
        assert_eq!(
            d.len(),
            400 - 400usize.div_ceil(13),
            "orders without a delivery are left out"
        );
        let o28 = d.iter().find(|d| d.order_number == "10028").unwrap();
        assert_eq!(
            (o28.state.as_str(), o28.tracking_codes.clone()),
            ("shipped", vec!["T1".to_string(), "T28".into()])
        );
        let o1 = d.iter().find(|d| d.order_number == "10001").unwrap();
        assert_eq!((o1.state.as_str(), o1.tracking_codes.len()), ("open", 0));
        assert!(d.iter().find(|d| d.order_number == "10034").unwrap().cancelled);
    }

    #[test]
    fn taking_the_order_tables_reads_the_same_and_leaves_products_and_states() {
        let mut s = store();
        let (orders, deliveries) = orders_and_deliveries(&s);
        let stock = shop_stock(&s);
        let taken = take_orders_and_deliveries(&mut s);
        assert_eq!(taken, (orders, deliveries));
        assert_eq!(shop_stock(&s), stock);
        assert_eq!(s.len("state_machine_state"), 22);
        let gone = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.len("order_line_item")));
        assert!(gone.is_err(), "the order tables are taken out");
    }

    #[test]
    fn stock_reads_every_product_and_a_wrong_type_as_zero() {
        let stock = shop_stock(&store());
        assert_eq!(stock.len(), 50);
        assert_eq!((stock["SW7"], stock["SW8"]), (0, 24));
    }
}
