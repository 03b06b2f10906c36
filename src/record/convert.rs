//! Admin API rows into trace material: an order (with its line items, customer
//! and billing address) into the storefront [`Cart`] that places the same
//! order again, a product into a [`ProductSnapshot`], a currency into a
//! [`CurrencySnapshot`]. Pure: JSON in, values out, so every rule is unit-tested
//! against the rows the Shopware twin writes.
//!
//! How an order becomes a cart (the inverse of the twin's checkout):
//! - `product` lines by `payload.productNumber` and quantity;
//! - `customized-products` containers by their product child, with one option
//!   per `customized-products-option` child: label, the customer's text
//!   (`payload.value`, else its `option-values` child), the surcharge (the
//!   option's unit price), one-time or not, and its item number;
//! - `custom` lines with label, unit price, quantity and tax rate; `credit`
//!   lines with their amount;
//! - the first `promotion` line as the cart's promotion (percentage or
//!   absolute, as its payload says; other kinds as the absolute amount granted);
//!   further promotions are counted, a cart carries one;
//! - shipping costs, tax status (gross, net, tax-free) and currency as ordered;
//! - the customer from `orderCustomer` (guest or registered from
//!   `orderCustomer.customer.guest`) and the billing address.
//!
//! Line types the twin does not model are left out and counted by type.

use std::collections::BTreeMap;

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::scenario::recorded::{CurrencySnapshot, PriceSnapshot, ProductSnapshot};
use crate::twin::shopware::checkout::{
    Cart, CartCustomer, CartLine, CartOption, CartPromotion, DiscountKind, CURRENCY_EUR,
};
use crate::twin::shopware::pricing::CashRounding;

/// One recorded order, ready to pseudonymise and write.
#[derive(Debug, Clone)]
pub struct RecordedOrder {
    pub order_number: String,
    /// `orderDateTime` (else `createdAt`).
    pub placed: OffsetDateTime,
    /// The order's state (`open`, `cancelled`, …).
    pub state: String,
    /// For a cancelled order: when (its `updatedAt`, never before `placed`).
    pub cancelled: Option<OffsetDateTime>,
    pub cart: Cart,
    /// Product units per productNumber (nested products included).
    pub units: BTreeMap<String, i64>,
    /// Products sold inside customized-products containers.
    pub customizable: Vec<String>,
    /// Line items left out, by type.
    pub skipped_lines: BTreeMap<String, u64>,
    /// Promotion lines beyond the first.
    pub extra_promotions: u64,
}

/// An order that cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConvertError {
    #[error("order {order}: no orderDateTime or createdAt")]
    NoTime { order: String },
    #[error("order {order}: '{value}' is not an RFC 3339 timestamp")]
    BadTime { order: String, value: String },
}

fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn num(v: &Value, pointer: &str) -> Option<f64> {
    v.pointer(pointer).and_then(Value::as_f64)
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn parse_time(order: &str, value: &str) -> Result<OffsetDateTime, ConvertError> {
    OffsetDateTime::parse(value, &Rfc3339).map_err(|_| ConvertError::BadTime {
        order: order.to_string(),
        value: value.to_string(),
    })
}

/// Line items by position within their parent.
fn children<'a>(items: &'a [Value], parent: Option<&str>) -> Vec<&'a Value> {
    let mut out: Vec<&Value> = items
        .iter()
        .filter(|i| i.get("parentId").and_then(Value::as_str) == parent)
        .collect();
    out.sort_by_key(|i| i.get("position").and_then(Value::as_i64).unwrap_or(0));
    out
}

fn quantity(item: &Value) -> i64 {
    item.get("quantity").and_then(Value::as_i64).unwrap_or(1)
}

/// An order row with the associations `record` asks for.
pub fn order(v: &Value) -> Result<RecordedOrder, ConvertError> {
    let number = text(v, "/orderNumber").unwrap_or("?").to_string();
    let when = text(v, "/orderDateTime")
        .or_else(|| text(v, "/createdAt"))
        .ok_or_else(|| ConvertError::NoTime { order: number.clone() })?;
    let placed = parse_time(&number, when)?;
    let state = text(v, "/stateMachineState/technicalName")
        .unwrap_or("open")
        .to_string();
    let cancelled = if state == "cancelled" {
        let at = match text(v, "/updatedAt") {
            Some(u) => parse_time(&number, u)?,
            None => placed,
        };
        Some(at.max(placed))
    } else {
        None
    };

    let items: Vec<Value> = v
        .get("lineItems")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut lines = Vec::new();
    let mut units: BTreeMap<String, i64> = BTreeMap::new();
    let mut customizable = Vec::new();
    let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
    let mut promotion: Option<CartPromotion> = None;
    let mut extra_promotions = 0;
    let product_number = |i: &Value| non_empty(text(i, "/payload/productNumber")).filter(|n| n != "*");
    for item in children(&items, None) {
        let kind = item.get("type").and_then(Value::as_str).unwrap_or("");
        let label = text(item, "/label").unwrap_or_default().to_string();
        match kind {
            "product" => match product_number(item) {
                Some(n) => {
                    *units.entry(n.clone()).or_default() += quantity(item);
                    lines.push(CartLine::Product {
                        product_number: n,
                        quantity: quantity(item),
                    });
                }
                None => *skipped.entry("product without productNumber".into()).or_default() += 1,
            },
            "customized-products" => {
                let id = item.get("id").and_then(Value::as_str);
                let parts = children(&items, id);
                let Some(n) = parts
                    .iter()
                    .find(|c| c.get("type").and_then(Value::as_str) == Some("product"))
                    .and_then(|c| product_number(c))
                else {
                    *skipped.entry("customized-products without product".into()).or_default() += 1;
                    continue;
                };
                let options = parts
                    .iter()
                    .filter(|c| c.get("type").and_then(Value::as_str) == Some("customized-products-option"))
                    .map(|o| {
                        let value = non_empty(text(o, "/payload/value")).or_else(|| {
                            let oid = o.get("id").and_then(Value::as_str);
                            children(&items, oid).first().and_then(|c| non_empty(text(c, "/label")))
                        });
                        CartOption {
                            label: text(o, "/label").unwrap_or_default().to_string(),
                            value: value.unwrap_or_default(),
                            surcharge_gross: num(o, "/unitPrice").unwrap_or(0.0).max(0.0),
                            one_time: o
                                .pointer("/payload/isOneTimeSurcharge")
                                .and_then(Value::as_bool)
                                .unwrap_or(false),
                            item_number: product_number(o),
                        }
                    })
                    .collect();
                *units.entry(n.clone()).or_default() += quantity(item);
                customizable.push(n.clone());
                lines.push(CartLine::CustomizedProducts {
                    product_number: n,
                    quantity: quantity(item),
                    options,
                });
            }
            "custom" => lines.push(CartLine::Custom {
                label,
                unit_price_gross: num(item, "/unitPrice").unwrap_or(0.0).max(0.0),
                quantity: quantity(item),
                tax_rate: num(item, "/price/taxRules/0/taxRate").unwrap_or(0.0),
            }),
            "credit" => lines.push(CartLine::Credit {
                label,
                amount_gross: num(item, "/totalPrice").unwrap_or(0.0).abs(),
            }),
            "promotion" if promotion.is_some() => extra_promotions += 1,
            "promotion" => {
                let value = text(item, "/payload/value").and_then(|s| s.trim().parse::<f64>().ok());
                let granted = num(item, "/totalPrice").unwrap_or(0.0).abs();
                let discount = match (text(item, "/payload/discountType"), value) {
                    (Some("percentage"), Some(p)) => DiscountKind::Percentage(p.abs()),
                    (Some("absolute"), Some(a)) => DiscountKind::Absolute(a.abs()),
                    _ => DiscountKind::Absolute(granted),
                };
                promotion = Some(CartPromotion {
                    name: label,
                    code: non_empty(text(item, "/payload/code")),
                    discount,
                });
            }
            other => *skipped.entry(other.to_string()).or_default() += 1,
        }
    }

    let shipping = num(v, "/shippingCosts/unitPrice")
        .or_else(|| num(v, "/shippingTotal"))
        .or_else(|| num(v, "/deliveries/0/shippingCosts/unitPrice"))
        .filter(|s| *s > 0.0);
    let tax_status = text(v, "/taxStatus")
        .or_else(|| text(v, "/price/taxStatus"))
        .filter(|s| *s != "gross")
        .map(str::to_string);
    Ok(RecordedOrder {
        order_number: number,
        placed,
        state,
        cancelled,
        cart: Cart {
            customer: customer(v),
            lines,
            promotion,
            shipping_gross: shipping,
            tax_status,
            currency: non_empty(text(v, "/currency/isoCode")),
        },
        units,
        customizable,
        skipped_lines: skipped,
        extra_promotions,
    })
}

/// The buyer: `orderCustomer` for who, the billing address for where.
fn customer(v: &Value) -> CartCustomer {
    let oc = v.get("orderCustomer").unwrap_or(&Value::Null);
    let billing_id = text(v, "/billingAddressId");
    let address = v
        .get("billingAddress")
        .filter(|a| a.is_object())
        .or_else(|| {
            v.get("addresses")
                .and_then(Value::as_array)
                .and_then(|all| all.iter().find(|a| a.get("id").and_then(Value::as_str) == billing_id))
        })
        .unwrap_or(&Value::Null);
    let s = |v: &Value, p: &str| text(v, p).unwrap_or_default().to_string();
    CartCustomer {
        email: s(oc, "/email"),
        first_name: s(oc, "/firstName"),
        last_name: s(oc, "/lastName"),
        guest: oc.pointer("/customer/guest").and_then(Value::as_bool).unwrap_or(false),
        customer_number: non_empty(text(oc, "/customerNumber")),
        company: non_empty(text(oc, "/company")).or_else(|| non_empty(text(address, "/company"))),
        street: s(address, "/street"),
        zipcode: s(address, "/zipcode"),
        city: s(address, "/city"),
        country_iso: non_empty(text(address, "/country/iso")),
        vat_ids: oc
            .get("vatIds")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|x| non_empty(x.as_str())).collect())
            .unwrap_or_default(),
        phone_number: non_empty(text(address, "/phoneNumber")),
    }
}

/// The product units an order took, unless it is cancelled (which gave them back).
pub fn units_taken(v: &Value) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    if text(v, "/stateMachineState/technicalName") == Some("cancelled") {
        return out;
    }
    for item in v.get("lineItems").and_then(Value::as_array).into_iter().flatten() {
        if item.get("type").and_then(Value::as_str) != Some("product") {
            continue;
        }
        if let Some(n) = non_empty(text(item, "/payload/productNumber")) {
            *out.entry(n).or_default() += quantity(item);
        }
    }
    out
}

/// A product row (with its `tax` association): (id, parentId, snapshot).
/// `stock` is the current stock and `parent_number` is left for the caller,
/// which knows every product's number.
pub fn product(v: &Value) -> Option<(String, Option<String>, ProductSnapshot)> {
    let id = text(v, "/id")?.to_string();
    let number = non_empty(text(v, "/productNumber"))?;
    let price = v
        .get("price")
        .and_then(Value::as_array)
        .and_then(|prices| {
            prices
                .iter()
                .find(|p| p.get("currencyId").and_then(Value::as_str) == Some(CURRENCY_EUR))
                .or_else(|| prices.first())
        })
        .and_then(|p| {
            Some(PriceSnapshot {
                gross: p.get("gross")?.as_f64()?,
                net: p.get("net")?.as_f64()?,
            })
        });
    let customizable = v
        .get("swagCustomizedProductsTemplateId")
        .or_else(|| v.pointer("/extensions/swagCustomizedProductsTemplate/id"))
        .is_some_and(|t| !t.is_null());
    let snapshot = ProductSnapshot {
        product_number: number,
        parent_number: None,
        name: non_empty(text(v, "/name")),
        tax_rate: v.get("taxId").filter(|t| !t.is_null()).and(num(v, "/tax/taxRate")),
        price,
        stock: v.get("stock").and_then(Value::as_i64).unwrap_or(0),
        is_closeout: v.get("isCloseout").and_then(Value::as_bool),
        customizable,
        min_purchase: v.get("minPurchase").and_then(Value::as_i64),
        max_purchase: v.get("maxPurchase").and_then(Value::as_i64),
    };
    Some((id, non_empty(text(v, "/parentId")), snapshot))
}

/// A currency row.
pub fn currency(v: &Value) -> Option<CurrencySnapshot> {
    let rounding = |field: &str| {
        v.get(field)
            .and_then(|r| serde_json::from_value::<CashRounding>(r.clone()).ok())
            .unwrap_or(CashRounding::CENT)
    };
    Some(CurrencySnapshot {
        iso_code: non_empty(text(v, "/isoCode"))?,
        factor: num(v, "/factor").unwrap_or(1.0),
        system_default: v.get("isSystemDefault").and_then(Value::as_bool).unwrap_or(false)
            || text(v, "/id") == Some(CURRENCY_EUR),
        item_rounding: rounding("itemRounding"),
        total_rounding: rounding("totalRounding"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::shopware::checkout::{build_order, insert_order, BuildContext};
    use crate::twin::shopware::render;
    use crate::twin::shopware::seed::{seed_shop, SeedConfig};
    use crate::twin::shopware::store::Store;
    use rand::SeedableRng;
    use serde_json::json;

    /// The seeded shop's orders as the Admin API renders them with `record`'s associations.
    fn rendered(store: &Store) -> Vec<Value> {
        let c = crate::twin::shopware::criteria::parse(&super::super::fetch::order_associations())
            .unwrap_or_else(|e| panic!("{e:?}"));
        let mut rows: Vec<_> = store.rows("order").collect();
        rows.sort_by_key(|o| o["orderNumber"].as_str().unwrap().to_string());
        rows.into_iter()
            .map(|o| render::row_json(store, "order", &o, &c))
            .collect()
    }

    fn seeded() -> Store {
        let mut s = Store::new();
        seed_shop(
            &mut s,
            &SeedConfig {
                products: 60,
                orders: 16,
                seed: 5,
            },
        );
        s
    }

    /// Every seeded order kind comes back as a cart that the checkout turns into
    /// the same order: same lines, same totals.
    #[test]
    fn every_seeded_order_converts_back_to_a_cart_with_the_same_totals() {
        let store = seeded();
        let orders = rendered(&store);
        assert_eq!(orders.len(), 16);
        let mut replay = seeded();
        let mut kinds = std::collections::BTreeSet::new();
        for (i, o) in orders.iter().enumerate() {
            let r = order(o).unwrap();
            assert!(r.skipped_lines.is_empty(), "{:?}", r.skipped_lines);
            for l in &r.cart.lines {
                kinds.insert(format!("{l:?}").split_whitespace().next().unwrap().to_string());
            }
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(i as u64);
            let rows = build_order(
                &replay,
                &r.cart,
                BuildContext {
                    rng: &mut rng,
                    now: o["orderDateTime"].as_str().unwrap().to_string(),
                    order_number: format!("R{i}"),
                },
            )
            .unwrap_or_else(|e| panic!("order {}: {e}", r.order_number));
            for f in [
                "amountTotal",
                "amountNet",
                "positionPrice",
                "shippingTotal",
                "taxStatus",
                "currencyId",
            ] {
                assert_eq!(rows.order[f], o[f], "order {} field {f}", r.order_number);
            }
            assert_eq!(rows.line_items.len(), o["lineItems"].as_array().unwrap().len());
            assert_eq!(r.cart.customer.email, o["orderCustomer"]["email"].as_str().unwrap());
            assert_eq!(
                r.cart.customer.guest,
                o["orderCustomer"]["customer"]["guest"].as_bool().unwrap()
            );
            assert_eq!(
                r.cart.customer.phone_number.as_deref(),
                o["billingAddress"]["phoneNumber"].as_str()
            );
            insert_order(&mut replay, rows);
        }
        for k in ["Product", "CustomizedProducts", "Custom", "Credit"] {
            assert!(kinds.contains(k), "{kinds:?}");
        }
        let promos = orders
            .iter()
            .filter_map(|o| order(o).unwrap().cart.promotion)
            .collect::<Vec<_>>();
        assert!(promos
            .iter()
            .any(|p| matches!(p.discount, DiscountKind::Percentage(_)) && p.code.is_some()));
        assert!(promos
            .iter()
            .any(|p| matches!(p.discount, DiscountKind::Absolute(_)) && p.code.is_none()));
        let net = orders.iter().find(|o| o["taxStatus"] == json!("net")).unwrap();
        assert_eq!(order(net).unwrap().cart.tax_status.as_deref(), Some("net"));
    }

    #[test]
    fn options_units_cancellations_and_unknown_lines() {
        let store = seeded();
        let orders = rendered(&store);
        let custom = orders
            .iter()
            .map(|o| order(o).unwrap())
            .find(|r| !r.customizable.is_empty())
            .unwrap();
        let CartLine::CustomizedProducts {
            options,
            product_number,
            quantity,
            ..
        } = &custom.cart.lines[0]
        else {
            panic!("{:?}", custom.cart.lines)
        };
        // Units count every line that sells the product, nested or plain.
        let sold: i64 = custom
            .cart
            .lines
            .iter()
            .filter_map(|l| match l {
                CartLine::Product {
                    product_number: n,
                    quantity,
                } if n == product_number => Some(*quantity),
                CartLine::CustomizedProducts {
                    product_number: n,
                    quantity,
                    ..
                } if n == product_number => Some(*quantity),
                _ => None,
            })
            .sum();
        assert!(sold >= *quantity);
        assert_eq!(custom.units[product_number], sold);
        assert_eq!(options.len(), 2);
        assert!(options[0].value.len() > 3 && !options[0].one_time && options[0].item_number.is_none());
        assert!(options[1].one_time && options[1].item_number.as_deref() == Some("OPT-GIFTWRAP"));

        let mut o = orders[0].clone();
        o["stateMachineState"] = json!({"technicalName": "cancelled"});
        o["updatedAt"] = json!("2030-01-01T00:00:00.000+00:00");
        o["lineItems"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": "x", "type": "container", "quantity": 1, "position": 99, "parentId": null}));
        let r = order(&o).unwrap();
        assert_eq!(r.cancelled.unwrap().year(), 2030);
        assert_eq!(r.skipped_lines["container"], 1);
        o["orderDateTime"] = json!("yesterday");
        assert!(matches!(order(&o), Err(ConvertError::BadTime { .. })));
    }

    #[test]
    fn products_and_currencies_read_with_inheritance_left_open() {
        let store = seeded();
        let c = crate::twin::shopware::criteria::parse(&json!({"associations": {"tax": {}}})).unwrap();
        let all: Vec<_> = store
            .rows("product")
            .filter_map(|p| product(&render::row_json(&store, "product", &p, &c)))
            .collect();
        assert_eq!(all.len(), store.len("product"));
        let variant = all.iter().find(|(_, parent, _)| parent.is_some()).unwrap();
        assert_eq!(
            (variant.2.tax_rate, variant.2.price, variant.2.name.clone()),
            (None, None, None)
        );
        let customizable = all.iter().filter(|(_, _, p)| p.customizable).count();
        assert!(customizable > 0);
        let simple = all
            .iter()
            .find(|(_, parent, p)| parent.is_none() && p.tax_rate.is_some())
            .unwrap();
        assert!(simple.2.price.unwrap().gross > 0.0);
        let currencies: Vec<_> = store
            .rows("currency")
            .filter_map(|r| currency(&Value::Object((*r).clone())))
            .collect();
        let eur = currencies.iter().find(|c| c.iso_code == "EUR").unwrap();
        assert!(eur.system_default);
        let chf = currencies.iter().find(|c| c.iso_code == "CHF").unwrap();
        assert_eq!((chf.system_default, chf.total_rounding.interval), (false, 0.05));
    }
}
