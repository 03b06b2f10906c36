//! The storefront entry point: orders placed directly (not through the Admin
//! API) get the twin's own prices, take 6.6 stock at placement, refuse what the
//! shop refuses, and are observed.

use serde_json::{json, Value};
use synctwin::observe::Event;
use synctwin::twin::shopware::checkout::{Cart, CheckoutError};

use crate::helpers::seeded_twin;

fn cart(lines: Value, guest: bool, email: &str) -> Cart {
    serde_json::from_value(json!({
        "customer": {"email": email, "firstName": "Test", "lastName": "Buyer", "guest": guest,
                     "street": "Main St 1", "zipcode": "10115", "city": "Berlin"},
        "lines": lines,
        "shippingGross": 4.9
    }))
    .expect("a valid cart")
}

#[test]
fn placing_an_order_takes_stock_and_is_observed() {
    let (twin, _) = seeded_twin(60, 8);
    // SW10006 is a normal product in the seeded catalogue (block position 6).
    let (before, _) = twin.stock_of("SW10006").unwrap();
    let placed = twin
        .place_order(&cart(
            json!([{"type": "product", "productNumber": "SW10006", "quantity": 3}]),
            true,
            "a@example.com",
        ))
        .unwrap();
    assert_eq!(
        placed.order_number, "10008",
        "numbers continue after the 8 seeded orders"
    );
    assert_eq!(twin.stock_of("SW10006").unwrap().0, before - 3);
    let store = twin.read();
    let order = store.get("order", &placed.order_id).unwrap();
    let lines: f64 = store
        .ids_by_fk("order_line_item", "orderId", &placed.order_id)
        .iter()
        .map(|id| {
            store.get("order_line_item", id).unwrap()["totalPrice"]
                .as_f64()
                .unwrap()
        })
        .sum();
    assert!(
        (order["amountTotal"].as_f64().unwrap() - (lines + 4.9)).abs() < 0.005,
        "the twin computes its own total"
    );
    assert_eq!(placed.amount_total, order["amountTotal"].as_f64().unwrap());
    drop(store);
    let obs = twin.observations().snapshot();
    assert!(obs.iter().any(
        |o| matches!(&o.event, Event::OrderPlaced { order_number, guest: true, lines, .. }
        if order_number == "10008" && lines.len() == 1 && lines[0].qty == 3)
    ));
    assert!(obs
        .iter()
        .any(|o| matches!(&o.event, Event::StockWritten { sku, via, .. } if sku == "SW10006" && via == "order")));
}

#[test]
fn sold_out_closeouts_are_refused_and_guests_are_separate_customers() {
    let (twin, _) = seeded_twin(60, 8);
    // SW10001 is a closeout product seeded at stock 0.
    let err = twin
        .place_order(&cart(
            json!([{"type": "product", "productNumber": "SW10001", "quantity": 1}]),
            true,
            "b@example.com",
        ))
        .unwrap_err();
    assert!(
        matches!(err, CheckoutError::NotAvailable(ref n) if n == "SW10001"),
        "{err}"
    );
    assert!(twin
        .observations()
        .snapshot()
        .iter()
        .any(|o| matches!(&o.event, Event::OrderRefused { sku, .. } if sku == "SW10001")));
    let customers = twin.read().len("customer");
    for _ in 0..2 {
        twin.place_order(&cart(
            json!([{"type": "product", "productNumber": "SW10006", "quantity": 1}]),
            true,
            "same@example.com",
        ))
        .unwrap();
    }
    assert_eq!(
        twin.read().len("customer"),
        customers + 2,
        "each guest checkout creates its own customer"
    );
    // A refused cart does not use up an order number.
    let next = twin
        .place_order(&cart(
            json!([{"type": "product", "productNumber": "SW10007", "quantity": 1}]),
            false,
            "reg@example.com",
        ))
        .unwrap();
    assert_eq!(next.order_number, "10010");
}

#[test]
fn cancelling_from_the_storefront_gives_stock_back() {
    let (twin, _) = seeded_twin(60, 8);
    let (before, _) = twin.stock_of("SW10008").unwrap();
    let placed = twin
        .place_order(&cart(
            json!([{"type": "product", "productNumber": "SW10008", "quantity": 2}]),
            false,
            "c@example.com",
        ))
        .unwrap();
    assert_eq!(twin.stock_of("SW10008").unwrap().0, before - 2);
    twin.storefront_transition("order", &placed.order_id, "cancel").unwrap();
    assert_eq!(twin.stock_of("SW10008").unwrap().0, before);
    let err = twin
        .storefront_transition("order", &placed.order_id, "complete")
        .unwrap_err();
    assert!(err.contains("Illegal transition"), "{err}");
}
