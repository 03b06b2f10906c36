//! The storefront side of the Shopware twin: turns a [`Cart`] into the complete
//! set of rows Shopware writes when an order is placed (CartOrderRoute →
//! OrderConverter): `order`, its line items (product, promotion,
//! customized-products trees, custom, credit), one `order_delivery`, one
//! `order_transaction`, the `order_customer`, the `order_address`, and a
//! `customer` row for guests and first-time registered buyers.
//!
//! Prices come from the product rows and are recomputed by [`super::pricing`]
//! (a client total is never trusted). Stock is not touched here: the caller
//! applies [`OrderRows::stock_takes`] with [`super::stock::apply_delta`], so it
//! can record observations and choose the stock model.
//!
//! Amounts given in a [`Cart`] (`unitPriceGross`, `surchargeGross`, `amountGross`,
//! `shippingGross`) are in the cart's price mode, like Shopware's price
//! definitions: gross for `gross` carts, net for `net` and `tax-free` carts.
//! Product prices come from the product's `price.gross` / `price.net` (the
//! currency's own entry, or the EUR entry times the currency factor).
//!
//! # A cart in JSON
//!
//! ```json
//! {"customer": {"email": "erika@example.com", "firstName": "Erika", "lastName": "Muster",
//!               "guest": false, "street": "Hauptstr. 1", "zipcode": "10115", "city": "Berlin"},
//!  "lines": [
//!    {"type": "product", "productNumber": "SW10006", "quantity": 2},
//!    {"type": "customized-products", "productNumber": "SW10003", "quantity": 1,
//!     "options": [{"label": "Engraving", "value": "For Anna", "surchargeGross": 4.9,
//!                  "oneTime": false, "itemNumber": "OPT-ENGRAVE"}]},
//!    {"type": "custom", "label": "Assembly", "unitPriceGross": 29.9, "quantity": 1, "taxRate": 19},
//!    {"type": "credit", "label": "Goodwill", "amountGross": 5}],
//!  "promotion": {"name": "Black Friday", "code": "BF10", "discount": {"percentage": 10}},
//!  "shippingGross": 4.95, "taxStatus": "gross", "currency": "EUR"}
//! ```
//!
//! Unknown fields are refused (a client-side price or total cannot sneak in).
//!
//! # What the checkout enforces (SHOPWARE.md §7)
//!
//! Unknown, inactive and parent-of-variants products are refused. Closeout
//! products (own or inherited `isCloseout`) sell only while `available` is true
//! and up to their `stock`; other products sell regardless of stock, as in
//! Shopware. Every product also respects `minPurchase` and `maxPurchase`
//! (default 100, `core.cart.maxQuantity`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::pricing::{self, CashRounding, LinePrice, TaxCalculation, TaxStatus};
use super::states;
use super::stock;
use super::store::{Row, Store};
use crate::clock::rfc3339_ms;
use crate::twin::hex_id;

/// Shopware's live version id (orders are versioned).
pub const LIVE_VERSION: &str = "0fa91ce3e96a4bc2be4bd9ce752c3425";
/// `Defaults::LANGUAGE_SYSTEM`.
pub const LANGUAGE_SYSTEM: &str = "2fbb5fe2e29a4d70aa5854ce7ce3e20b";
/// `Defaults::CURRENCY`: the system currency (EUR in the seeded shop).
pub const CURRENCY_EUR: &str = "b7d2554b0ce847cd82f3ac9bd1c0dfca";
/// `core.cart.maxQuantity` default: the max quantity when `maxPurchase` is null.
pub const MAX_QUANTITY: i64 = 100;

/// A stable id for a fixed shop object the twin does not store as a row
/// (`sales_channel:storefront`, `payment_method:invoice`, `country:DE`, …):
/// the same on every run, like the ids of one Shopware install.
pub fn fixed_id(name: &str) -> String {
    hex::encode(&Sha256::digest(format!("synctwin:{name}").as_bytes())[..16])
}

/// The variant options the twin knows (property group, option). Variants carry
/// their ids in `optionIds`; the checkout turns them into the line item's
/// `payload.options` (`[{group, option}]`), as ProductCartProcessor does.
pub const VARIANT_OPTIONS: &[(&str, &str)] = &[
    ("Size", "S"),
    ("Size", "M"),
    ("Size", "L"),
    ("Size", "XL"),
    ("Color", "Black"),
    ("Color", "White"),
    ("Color", "Red"),
];

/// The id of a variant option (`property_group_option`).
pub fn option_id(group: &str, option: &str) -> String {
    fixed_id(&format!("property_group_option:{group}:{option}"))
}

/// The (group, option) of a known option id.
pub fn variant_option(id: &str) -> Option<(&'static str, &'static str)> {
    VARIANT_OPTIONS.iter().copied().find(|(g, o)| option_id(g, o) == id)
}

/// A storefront cart, as the traffic driver submits it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Cart {
    pub customer: CartCustomer,
    pub lines: Vec<CartLine>,
    #[serde(default)]
    pub promotion: Option<CartPromotion>,
    /// Shipping costs in the cart's price mode; none = free shipping.
    #[serde(default)]
    pub shipping_gross: Option<f64>,
    /// `gross` | `net` | `tax-free`; default `gross`.
    #[serde(default)]
    pub tax_status: Option<String>,
    /// ISO code of a seeded currency; default `EUR`.
    #[serde(default)]
    pub currency: Option<String>,
}

/// Who buys, and where it goes (billing and shipping address are the same).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CartCustomer {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// A guest checkout creates a new `customer` row with `guest: true` every time.
    #[serde(default)]
    pub guest: bool,
    /// Used for a newly created customer row; generated (10000 + customers) if absent.
    #[serde(default)]
    pub customer_number: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    pub street: String,
    pub zipcode: String,
    pub city: String,
    /// ISO 3166 alpha-2; default `DE`.
    #[serde(default)]
    pub country_iso: Option<String>,
    #[serde(default)]
    pub vat_ids: Vec<String>,
    /// The address's phone number (`order_address.phoneNumber`); left out of
    /// traces when absent, so traces written before it existed read the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

/// One cart position.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(
    tag = "type",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum CartLine {
    /// A catalogue product (or variant) by productNumber.
    Product { product_number: String, quantity: i64 },
    /// A SwagCustomizedProducts product: the product must carry a
    /// `swagCustomizedProductsTemplateId`.
    CustomizedProducts {
        product_number: String,
        quantity: i64,
        options: Vec<CartOption>,
    },
    /// A custom line item (no product): `unitPriceGross` in the cart's price mode.
    Custom {
        label: String,
        unit_price_gross: f64,
        quantity: i64,
        tax_rate: f64,
    },
    /// A credit (positive amount, booked negative), taxed like the goods.
    Credit { label: String, amount_gross: f64 },
}

/// One customized-products option with the customer's input.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CartOption {
    pub label: String,
    /// The customer's text (engraving, print text, …).
    pub value: String,
    #[serde(default)]
    pub surcharge_gross: f64,
    /// Charged once per order line instead of per unit.
    #[serde(default)]
    pub one_time: bool,
    /// The option's item number (`payload.productNumber`); `"*"` when absent.
    #[serde(default)]
    pub item_number: Option<String>,
}

/// A promotion applied to the cart's goods.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CartPromotion {
    pub name: String,
    /// The code the customer entered; none = an automatic promotion.
    #[serde(default)]
    pub code: Option<String>,
    pub discount: DiscountKind,
}

/// `{"percentage": 10}` or `{"absolute": 5}` (in the cart's price mode).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiscountKind {
    Percentage(f64),
    Absolute(f64),
}

/// What `build_order` needs besides the store and the cart.
pub struct BuildContext<'a> {
    /// Source of every id of the new rows.
    pub rng: &'a mut ChaCha8Rng,
    /// The placement time, RFC 3339 with ms (`clock::rfc3339_ms`).
    pub now: String,
    pub order_number: String,
}

/// Stock an order takes from one product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockTake {
    pub product_id: String,
    pub product_number: String,
    pub quantity: i64,
}

/// Every row of one placed order.
#[derive(Debug, Clone)]
pub struct OrderRows {
    pub order: Row,
    /// Parents before children, in position order.
    pub line_items: Vec<Row>,
    pub deliveries: Vec<Row>,
    pub transactions: Vec<Row>,
    pub order_customer: Row,
    pub addresses: Vec<Row>,
    /// A customer row to insert (every guest, or a registered buyer seen first).
    pub new_customer: Option<Row>,
    /// Per product, in first-seen order.
    pub stock_takes: Vec<StockTake>,
}

impl OrderRows {
    pub fn order_id(&self) -> &str {
        self.order.get("id").and_then(Value::as_str).unwrap_or_default()
    }
}

/// Why a cart cannot become an order.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckoutError {
    #[error("the cart has no line items")]
    EmptyCart,
    #[error("product '{0}' does not exist")]
    UnknownProduct(String),
    #[error("product '{0}' is not active")]
    Inactive(String),
    #[error("product '{0}' has variants and cannot be bought itself; order a variant")]
    NotBuyable(String),
    #[error("closeout product '{0}' is sold out (available is false)")]
    NotAvailable(String),
    #[error("closeout product '{product_number}': {requested} requested, only {available} in stock")]
    InsufficientStock {
        product_number: String,
        requested: i64,
        available: i64,
    },
    #[error("quantity {quantity} for '{item}' is invalid: {reason}")]
    InvalidQuantity {
        item: String,
        quantity: i64,
        reason: String,
    },
    #[error("product '{0}' is not customizable (no swagCustomizedProductsTemplateId)")]
    NotCustomizable(String),
    #[error("product '{0}' has no price in the cart's currency or no tax")]
    Unpriced(String),
    #[error("unknown currency '{0}'")]
    UnknownCurrency(String),
    #[error("unknown tax status '{0}', expected gross, net or tax-free")]
    InvalidTaxStatus(String),
    #[error("invalid amount {value} for '{label}': must be a finite number from 0 to 1e9 (percentages and tax rates up to 100)")]
    InvalidAmount { label: String, value: f64 },
    #[error("'{0}' is not an RFC 3339 timestamp")]
    InvalidTimestamp(String),
}

/// A product as the checkout sees it (inheritance resolved).
struct ProductInfo {
    id: String,
    number: String,
    name: String,
    rate_bp: i64,
    unit: i64,
    template_id: Option<String>,
    payload: Value,
}

/// A line item before it becomes a row.
struct Item {
    id: String,
    parent: Option<String>,
    kind: &'static str,
    identifier: String,
    referenced_id: Value,
    product_id: Value,
    promotion_id: Value,
    label: String,
    quantity: i64,
    price: LinePrice,
    definition: Value,
    good: bool,
    states: Vec<&'static str>,
    payload: Value,
}

/// The currency the cart is priced in.
struct Currency {
    id: String,
    factor: f64,
    item: CashRounding,
    total: CashRounding,
    item_json: Value,
    total_json: Value,
}

fn obj(v: Value) -> Row {
    match v {
        Value::Object(m) => m,
        _ => Row::new(),
    }
}

fn calc_json(p: &LinePrice) -> Value {
    serde_json::to_value(p.to_calculated()).unwrap_or(Value::Null)
}

/// The largest amount a cart may carry (keeps all cent arithmetic far from overflow).
const MAX_AMOUNT: f64 = 1e9;

fn amount(label: &str, value: f64) -> Result<i64, CheckoutError> {
    if value.is_finite() && (0.0..=MAX_AMOUNT).contains(&value) {
        Ok(pricing::cents(value))
    } else {
        Err(CheckoutError::InvalidAmount {
            label: label.to_string(),
            value,
        })
    }
}

fn currency(store: &Store, iso: &str) -> Result<Currency, CheckoutError> {
    let row = store
        .rows("currency")
        .find(|r| r.get("isoCode").and_then(Value::as_str) == Some(iso))
        .ok_or_else(|| CheckoutError::UnknownCurrency(iso.to_string()))?;
    let rounding = |field: &str| -> (CashRounding, Value) {
        let v = row.get(field).cloned().unwrap_or(Value::Null);
        let r = serde_json::from_value::<CashRounding>(v.clone()).unwrap_or(CashRounding::CENT);
        (r, v)
    };
    let (item, item_json) = rounding("itemRounding");
    let (total, total_json) = rounding("totalRounding");
    Ok(Currency {
        id: row.get("id").and_then(Value::as_str).unwrap_or_default().to_string(),
        factor: row.get("factor").and_then(Value::as_f64).unwrap_or(1.0),
        item,
        total,
        item_json,
        total_json,
    })
}

/// The product's unit price in the cart's currency and price mode, item-rounded.
fn unit_price(store: &Store, row: &Row, cur: &Currency, status: TaxStatus) -> Option<i64> {
    let prices = stock::inherited(store, row, "price")?;
    let prices = prices.as_array()?;
    let field = if status == TaxStatus::Gross { "gross" } else { "net" };
    let own = prices
        .iter()
        .find(|p| p.get("currencyId").and_then(Value::as_str) == Some(cur.id.as_str()));
    let value = match own {
        Some(p) => p.get(field)?.as_f64()?,
        None => {
            let base = prices
                .iter()
                .find(|p| p.get("currencyId").and_then(Value::as_str) == Some(CURRENCY_EUR))?;
            base.get(field)?.as_f64()? * cur.factor
        }
    };
    if !(value.is_finite() && value.abs() <= MAX_AMOUNT) {
        return None;
    }
    Some(cur.item.cash_round(pricing::cents(value)))
}

fn product_info(store: &Store, number: &str, cur: &Currency, status: TaxStatus) -> Result<ProductInfo, CheckoutError> {
    let unknown = || CheckoutError::UnknownProduct(number.to_string());
    let id = store.product_by_number(number).ok_or_else(unknown)?.to_string();
    let row = store.get("product", &id).ok_or_else(unknown)?;
    let active = stock::inherited(store, &row, "active")
        .as_deref()
        .and_then(Value::as_bool)
        .unwrap_or(true);
    if !active {
        return Err(CheckoutError::Inactive(number.to_string()));
    }
    if !store.ids_by_fk("product", "parentId", &id).is_empty() {
        return Err(CheckoutError::NotBuyable(number.to_string()));
    }
    let unpriced = || CheckoutError::Unpriced(number.to_string());
    let tax_id = stock::inherited(store, &row, "taxId")
        .as_deref()
        .and_then(Value::as_str)
        .ok_or_else(unpriced)?
        .to_string();
    let rate = store
        .get("tax", &tax_id)
        .and_then(|t| t.get("taxRate").and_then(Value::as_f64))
        .ok_or_else(unpriced)?;
    let unit = unit_price(store, &row, cur, status).ok_or_else(unpriced)?;
    let name = stock::inherited(store, &row, "name")
        .as_deref()
        .and_then(Value::as_str)
        .unwrap_or(number)
        .to_string();
    let closeout = stock::is_closeout(store, &row);
    let stock_now = row.get("stock").and_then(Value::as_i64).unwrap_or(0);
    let parent_id = row.get("parentId").and_then(Value::as_str).map(str::to_string);
    let template_id = stock::inherited(store, &row, "swagCustomizedProductsTemplateId")
        .as_deref()
        .and_then(Value::as_str)
        .map(str::to_string);
    let purchase_prices = stock::inherited(store, &row, "purchasePrices")
        .as_deref()
        .cloned()
        .unwrap_or(Value::Null);
    let option_ids = row.get("optionIds").cloned().unwrap_or(Value::Null);
    let options: Vec<Value> = option_ids
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(variant_option)
        .map(|(group, option)| json!({"group": group, "option": option}))
        .collect();
    let payload = json!({
        "isCloseout": closeout,
        "customFields": stock::inherited(store, &row, "customFields").map(Cow::into_owned).unwrap_or(json!({})),
        "createdAt": row.get("createdAt").cloned().unwrap_or(Value::Null),
        "releaseDate": null,
        "isNew": false,
        "markAsTopseller": false,
        "purchasePrices": serde_json::to_string(&purchase_prices).unwrap_or_default(),
        "productNumber": number,
        "manufacturerId": stock::inherited(store, &row, "manufacturerId").map(Cow::into_owned).unwrap_or(Value::Null),
        "taxId": tax_id,
        "tagIds": null,
        "categoryIds": null,
        "propertyIds": null,
        "optionIds": option_ids,
        "options": options,
        "streamIds": null,
        "parentId": parent_id,
        "stock": stock_now,
        "features": [],
    });
    Ok(ProductInfo {
        id,
        number: number.to_string(),
        name,
        rate_bp: pricing::rate_bp(rate),
        unit,
        template_id,
        payload,
    })
}

/// Checks quantities against Shopware's limits: minPurchase, max quantity
/// (`maxPurchase` or 100) and, for closeout products, the stock and the
/// (possibly stale) `available` flag. Non-closeout products sell regardless of stock.
fn check_quantities(store: &Store, wanted: &BTreeMap<String, i64>) -> Result<(), CheckoutError> {
    for (number, &qty) in wanted {
        let Some(row) = store.product_by_number(number).and_then(|id| store.get("product", &id)) else {
            return Err(CheckoutError::UnknownProduct(number.clone()));
        };
        let min = stock::inherited(store, &row, "minPurchase")
            .as_deref()
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let max = stock::inherited(store, &row, "maxPurchase")
            .as_deref()
            .and_then(Value::as_i64)
            .unwrap_or(MAX_QUANTITY);
        if qty < min {
            return Err(CheckoutError::InvalidQuantity {
                item: number.clone(),
                quantity: qty,
                reason: format!("below minPurchase {min}"),
            });
        }
        if stock::is_closeout(store, &row) {
            let available = row.get("available").and_then(Value::as_bool).unwrap_or(false);
            let in_stock = row.get("stock").and_then(Value::as_i64).unwrap_or(0);
            if !available {
                return Err(CheckoutError::NotAvailable(number.clone()));
            }
            if qty > in_stock {
                return Err(CheckoutError::InsufficientStock {
                    product_number: number.clone(),
                    requested: qty,
                    available: in_stock,
                });
            }
        }
        if qty > max {
            return Err(CheckoutError::InvalidQuantity {
                item: number.clone(),
                quantity: qty,
                reason: format!("above the maximum {max}"),
            });
        }
    }
    Ok(())
}

fn quantity_definition(unit: i64, quantity: i64, rate_bp: i64) -> Value {
    json!({
        "type": "quantity",
        "price": pricing::to_f64(unit),
        "quantity": quantity,
        "taxRules": [{"taxRate": pricing::rate_f64(rate_bp), "percentage": 100.0, "apiAlias": "cart_tax_rule"}],
        "isCalculated": true,
        "referencePriceDefinition": null,
        "listPrice": null,
        "regulationPrice": null,
    })
}

/// Any line's quantity: at least 1, at most a million (whatever `maxPurchase` says).
fn positive_quantity(item: &str, quantity: i64) -> Result<(), CheckoutError> {
    let reason = if quantity < 1 {
        "must be at least 1"
    } else if quantity > 1_000_000 {
        "above 1000000"
    } else {
        return Ok(());
    };
    Err(CheckoutError::InvalidQuantity {
        item: item.to_string(),
        quantity,
        reason: reason.into(),
    })
}

fn product_item(
    p: &ProductInfo,
    quantity: i64,
    parent: Option<String>,
    status: TaxStatus,
    rng: &mut ChaCha8Rng,
) -> Item {
    Item {
        id: hex_id(rng),
        parent,
        kind: "product",
        identifier: p.id.clone(),
        referenced_id: json!(p.id),
        product_id: json!(p.id),
        promotion_id: Value::Null,
        label: p.name.clone(),
        quantity,
        price: pricing::quantity_price(p.unit, quantity, p.rate_bp, status),
        definition: quantity_definition(p.unit, quantity, p.rate_bp),
        good: true,
        states: vec!["is-physical"],
        payload: p.payload.clone(),
    }
}

/// Builds every row of the order the cart becomes, without writing anything.
pub fn build_order(store: &Store, cart: &Cart, ctx: BuildContext<'_>) -> Result<OrderRows, CheckoutError> {
    if cart.lines.is_empty() {
        return Err(CheckoutError::EmptyCart);
    }
    let rng = ctx.rng;
    let status = match cart.tax_status.as_deref() {
        None => TaxStatus::Gross,
        Some(s) => TaxStatus::parse(s).ok_or_else(|| CheckoutError::InvalidTaxStatus(s.to_string()))?,
    };
    let cur = currency(store, cart.currency.as_deref().unwrap_or("EUR"))?;
    let placed =
        OffsetDateTime::parse(&ctx.now, &Rfc3339).map_err(|_| CheckoutError::InvalidTimestamp(ctx.now.clone()))?;
    let now = rfc3339_ms(placed);

    // Resolve products and check quantities for the whole cart first.
    let mut wanted: BTreeMap<String, i64> = BTreeMap::new();
    for line in &cart.lines {
        match line {
            CartLine::Product {
                product_number,
                quantity,
            }
            | CartLine::CustomizedProducts {
                product_number,
                quantity,
                ..
            } => {
                positive_quantity(product_number, *quantity)?;
                let total = wanted.entry(product_number.clone()).or_default();
                *total = total.saturating_add(*quantity);
            }
            CartLine::Custom { label, quantity, .. } => {
                positive_quantity(label, *quantity)?;
                if *quantity > MAX_QUANTITY {
                    return Err(CheckoutError::InvalidQuantity {
                        item: label.clone(),
                        quantity: *quantity,
                        reason: format!("above the maximum {MAX_QUANTITY}"),
                    });
                }
            }
            CartLine::Credit { .. } => {}
        }
    }
    let mut infos: BTreeMap<String, ProductInfo> = BTreeMap::new();
    for number in wanted.keys() {
        infos.insert(number.clone(), product_info(store, number, &cur, status)?);
    }
    check_quantities(store, &wanted)?;

    let mut items: Vec<Item> = Vec::new();
    let mut takes: Vec<StockTake> = Vec::new();
    let mut take = |p: &ProductInfo, q: i64| match takes.iter_mut().find(|t| t.product_id == p.id) {
        Some(t) => t.quantity += q,
        None => takes.push(StockTake {
            product_id: p.id.clone(),
            product_number: p.number.clone(),
            quantity: q,
        }),
    };
    let mut credits: Vec<(String, i64)> = Vec::new();
    for line in &cart.lines {
        match line {
            CartLine::Product {
                product_number,
                quantity,
            } => {
                let p = &infos[product_number];
                items.push(product_item(p, *quantity, None, status, rng));
                take(p, *quantity);
            }
            CartLine::CustomizedProducts {
                product_number,
                quantity,
                options,
            } => {
                let p = &infos[product_number];
                let template = p
                    .template_id
                    .clone()
                    .ok_or_else(|| CheckoutError::NotCustomizable(product_number.clone()))?;
                let container_id = hex_id(rng);
                let mut children: Vec<Item> = vec![product_item(p, *quantity, Some(container_id.clone()), status, rng)];
                take(p, *quantity);
                for o in options {
                    let surcharge = cur.item.cash_round(amount(&o.label, o.surcharge_gross)?);
                    let q = if o.one_time { 1 } else { *quantity };
                    let option_id = hex_id(rng);
                    children.push(Item {
                        id: option_id.clone(),
                        parent: Some(container_id.clone()),
                        kind: "customized-products-option",
                        identifier: hex_id(rng),
                        referenced_id: json!(fixed_id(&format!("customized-option:{template}:{}", o.label))),
                        product_id: Value::Null,
                        promotion_id: Value::Null,
                        label: o.label.clone(),
                        quantity: q,
                        price: pricing::quantity_price(surcharge, q, p.rate_bp, status),
                        definition: quantity_definition(surcharge, q, p.rate_bp),
                        good: false,
                        states: vec![],
                        payload: json!({
                            "productNumber": o.item_number.clone().unwrap_or_else(|| "*".into()),
                            "type": "textfield",
                            "isOneTimeSurcharge": o.one_time,
                            "value": o.value,
                        }),
                    });
                    children.push(Item {
                        id: hex_id(rng),
                        parent: Some(option_id),
                        kind: "option-values",
                        identifier: hex_id(rng),
                        referenced_id: json!(hex_id(rng)),
                        product_id: Value::Null,
                        promotion_id: Value::Null,
                        label: o.value.clone(),
                        quantity: 1,
                        price: LinePrice::zero(1),
                        definition: quantity_definition(0, 1, p.rate_bp),
                        good: false,
                        states: vec![],
                        payload: json!({"value": o.value, "productNumber": "*"}),
                    });
                }
                // The container's price is the sum of its direct children.
                let direct: Vec<&LinePrice> = children
                    .iter()
                    .filter(|c| c.parent.as_deref() == Some(container_id.as_str()))
                    .map(|c| &c.price)
                    .collect();
                // PriceCollection::sum(): unit = sum of the unit prices, quantity 1.
                let total: i64 = direct.iter().map(|c| c.total).sum();
                let price = LinePrice {
                    unit: direct.iter().map(|c| c.unit).sum(),
                    quantity: 1,
                    total,
                    taxes: pricing::sum_taxes(direct.iter().copied()),
                    rules: pricing::proportional_rules(direct.iter().copied()),
                };
                items.push(Item {
                    id: container_id,
                    parent: None,
                    kind: "customized-products",
                    identifier: hex_id(rng),
                    referenced_id: json!(template),
                    product_id: Value::Null,
                    promotion_id: Value::Null,
                    label: p.name.clone(),
                    quantity: *quantity,
                    price,
                    definition: Value::Null,
                    good: true,
                    states: vec![],
                    payload: json!({"productNumber": "*", "templateId": template}),
                });
                items.extend(children);
            }
            CartLine::Custom {
                label,
                unit_price_gross,
                quantity,
                tax_rate,
            } => {
                let unit = cur.item.cash_round(amount(label, *unit_price_gross)?);
                if !(tax_rate.is_finite() && (0.0..=100.0).contains(tax_rate)) {
                    return Err(CheckoutError::InvalidAmount {
                        label: label.clone(),
                        value: *tax_rate,
                    });
                }
                let rate = pricing::rate_bp(*tax_rate);
                let id = hex_id(rng);
                items.push(Item {
                    id: id.clone(),
                    parent: None,
                    kind: "custom",
                    identifier: id.clone(),
                    referenced_id: json!(id),
                    product_id: Value::Null,
                    promotion_id: Value::Null,
                    label: label.clone(),
                    quantity: *quantity,
                    price: pricing::quantity_price(unit, *quantity, rate, status),
                    definition: quantity_definition(unit, *quantity, rate),
                    good: true,
                    states: vec![],
                    payload: json!({}),
                });
            }
            CartLine::Credit { label, amount_gross } => {
                credits.push((label.clone(), amount(label, *amount_gross)?));
            }
        }
    }

    // Credits and the promotion apply to the goods at the top level.
    let goods: Vec<LinePrice> = items
        .iter()
        .filter(|i| i.parent.is_none() && i.good)
        .map(|i| i.price.clone())
        .collect();
    let goods_refs: Vec<&LinePrice> = goods.iter().collect();
    for (label, value) in credits {
        let id = hex_id(rng);
        let price = pricing::absolute_discount(value, &goods_refs, status);
        items.push(Item {
            id: id.clone(),
            parent: None,
            kind: "credit",
            identifier: id.clone(),
            referenced_id: json!(id),
            product_id: Value::Null,
            promotion_id: Value::Null,
            label,
            quantity: 1,
            definition: json!({"type": "absolute", "price": pricing::to_f64(price.total), "filter": null}),
            price,
            good: false,
            states: vec![],
            payload: json!({}),
        });
    }
    if let Some(promo) = &cart.promotion {
        let promotion_id = fixed_id(&format!("promotion:{}", promo.name));
        let discount_id = fixed_id(&format!("promotion-discount:{}", promo.name));
        let code = promo.code.clone().unwrap_or_default();
        let (price, kind, value, definition) = match promo.discount {
            DiscountKind::Percentage(pct) => {
                if !(pct.is_finite() && (0.0..=100.0).contains(&pct)) {
                    return Err(CheckoutError::InvalidAmount {
                        label: promo.name.clone(),
                        value: pct,
                    });
                }
                (
                    pricing::percentage_discount(pct, &goods_refs, status, &cur.item),
                    "percentage",
                    pct,
                    json!({"type": "percentage", "percentage": -pct, "filter": null}),
                )
            }
            DiscountKind::Absolute(v) => {
                let cents = amount(&promo.name, v)?;
                (
                    pricing::absolute_discount(cents, &goods_refs, status),
                    "absolute",
                    v,
                    json!({"type": "absolute", "price": -pricing::to_f64(cents), "filter": null}),
                )
            }
        };
        items.push(Item {
            id: hex_id(rng),
            parent: None,
            kind: "promotion",
            identifier: discount_id.clone(),
            referenced_id: json!(code),
            product_id: Value::Null,
            promotion_id: json!(promotion_id),
            label: promo.name.clone(),
            quantity: 1,
            price,
            definition,
            good: false,
            states: vec![],
            payload: json!({
                "promotionId": promotion_id,
                "discountId": discount_id,
                "discountType": kind,
                "code": code,
                "value": format!("{value}"),
                "maxValue": "",
                "discountScope": "cart",
                "promotionCodeType": if promo.code.is_some() { "fixed" } else { "automatic" },
                "preventCombination": false,
                "exclusions": [],
                "groupId": "",
                "setGroups": [],
                "filter": {"sorterKey": null, "applierKey": null, "usageKey": null, "pickerKey": null},
            }),
        });
    }

    // Shipping carries the goods' tax rates proportionally (tax type "auto").
    let shipping_cents = match cart.shipping_gross {
        Some(v) => cur.item.cash_round(amount("shipping", v)?),
        None => 0,
    };
    let shipping = pricing::split_price(
        shipping_cents,
        &pricing::proportional_rules(goods_refs.iter().copied()),
        status,
    );
    let top: Vec<&LinePrice> = items.iter().filter(|i| i.parent.is_none()).map(|i| &i.price).collect();
    let totals = pricing::cart_price(&top, &shipping, status, &cur.total, TaxCalculation::Horizontal);

    // Ids of the order and its satellites.
    let order_id = hex_id(rng);
    let address_id = hex_id(rng);
    let delivery_id = hex_id(rng);
    let transaction_id = hex_id(rng);
    let order_customer_id = hex_id(rng);
    let deep_link: String = (0..32)
        .map(|_| {
            const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            A[rng.gen_range(0..A.len())] as char
        })
        .collect();
    let c = &cart.customer;
    let country_id = fixed_id(&format!("country:{}", c.country_iso.as_deref().unwrap_or("DE")));
    let salutation_id = fixed_id("salutation:not_specified");
    let sales_channel_id = fixed_id("sales_channel:storefront");
    let payment_method_id = fixed_id("payment_method:invoice");
    let shipping_method_id = fixed_id("shipping_method:standard");

    // The customer: a new row per guest, the existing one for a registered email.
    let existing = if c.guest {
        None
    } else {
        store
            .customers_with_email(&c.email)
            .filter_map(|id| store.get("customer", &id))
            .find(|r| r.get("guest").and_then(Value::as_bool) != Some(true))
    };
    let (customer_id, customer_number, new_customer) = match existing {
        Some(r) => (
            r.get("id").and_then(Value::as_str).unwrap_or_default().to_string(),
            r.get("customerNumber")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            None,
        ),
        None => {
            let id = hex_id(rng);
            let number = c
                .customer_number
                .clone()
                .unwrap_or_else(|| (10000 + store.len("customer")).to_string());
            let row = obj(json!({
                "id": id,
                "groupId": fixed_id("customer_group:default"),
                "defaultPaymentMethodId": payment_method_id,
                "salesChannelId": sales_channel_id,
                "languageId": LANGUAGE_SYSTEM,
                "lastPaymentMethodId": null,
                "defaultBillingAddressId": hex_id(rng),
                "defaultShippingAddressId": hex_id(rng),
                "customerNumber": number,
                "salutationId": salutation_id,
                "firstName": c.first_name,
                "lastName": c.last_name,
                "company": c.company,
                "email": c.email,
                "title": null,
                "vatIds": c.vat_ids,
                "accountType": if c.company.is_some() { "business" } else { "private" },
                "active": true,
                "guest": c.guest,
                "firstLogin": if c.guest { Value::Null } else { json!(now) },
                "lastLogin": null,
                "birthday": null,
                "customFields": null,
                "createdAt": now,
                "updatedAt": null,
                "apiAlias": "customer",
            }));
            (id, number, Some(row))
        }
    };

    let address = obj(json!({
        "id": address_id,
        "versionId": LIVE_VERSION,
        "orderId": order_id,
        "orderVersionId": LIVE_VERSION,
        "countryId": country_id,
        "countryStateId": null,
        "salutationId": salutation_id,
        "firstName": c.first_name,
        "lastName": c.last_name,
        "street": c.street,
        "zipcode": c.zipcode,
        "city": c.city,
        "company": c.company,
        "department": null,
        "title": null,
        "phoneNumber": c.phone_number,
        "additionalAddressLine1": null,
        "additionalAddressLine2": null,
        "vatId": c.vat_ids.first(),
        "customFields": null,
        "createdAt": now,
        "updatedAt": null,
        "apiAlias": "order_address",
    }));
    let order_customer = obj(json!({
        "id": order_customer_id,
        "versionId": LIVE_VERSION,
        "customerId": customer_id,
        "orderId": order_id,
        "orderVersionId": LIVE_VERSION,
        "email": c.email,
        "salutationId": salutation_id,
        "firstName": c.first_name,
        "lastName": c.last_name,
        "company": c.company,
        "title": null,
        "vatIds": c.vat_ids,
        "customerNumber": customer_number,
        "customFields": null,
        "remoteAddress": null,
        "createdAt": now,
        "updatedAt": null,
        "apiAlias": "order_customer",
    }));
    let day = time::Duration::days(1);
    let delivery = obj(json!({
        "id": delivery_id,
        "versionId": LIVE_VERSION,
        "orderId": order_id,
        "orderVersionId": LIVE_VERSION,
        "shippingOrderAddressId": address_id,
        "shippingOrderAddressVersionId": LIVE_VERSION,
        "shippingMethodId": shipping_method_id,
        "stateId": states::initial_state_id(&states::DELIVERY),
        "trackingCodes": [],
        "shippingDateEarliest": rfc3339_ms(placed + day),
        "shippingDateLatest": rfc3339_ms(placed + day * 3),
        "shippingCosts": calc_json(&shipping),
        "positions": [],
        "customFields": null,
        "createdAt": now,
        "updatedAt": null,
        "apiAlias": "order_delivery",
    }));
    let order_amount = LinePrice {
        unit: totals.total,
        quantity: 1,
        total: totals.total,
        taxes: totals.taxes.clone(),
        rules: totals.rules.clone(),
    };
    let transaction = obj(json!({
        "id": transaction_id,
        "versionId": LIVE_VERSION,
        "orderId": order_id,
        "orderVersionId": LIVE_VERSION,
        "paymentMethodId": payment_method_id,
        "amount": calc_json(&order_amount),
        "stateId": states::initial_state_id(&states::TRANSACTION),
        "validationData": null,
        "customFields": null,
        "createdAt": now,
        "updatedAt": null,
        "apiAlias": "order_transaction",
    }));
    let midnight = placed.replace_time(time::Time::MIDNIGHT);
    let order = obj(json!({
        "id": order_id,
        "versionId": LIVE_VERSION,
        "autoIncrement": store.len("order") + 1,
        "orderNumber": ctx.order_number,
        "billingAddressId": address_id,
        "billingAddressVersionId": LIVE_VERSION,
        "currencyId": cur.id,
        "languageId": LANGUAGE_SYSTEM,
        "salesChannelId": sales_channel_id,
        "orderDateTime": now,
        "orderDate": rfc3339_ms(midnight),
        "price": serde_json::to_value(totals.to_cart_price()).unwrap_or(Value::Null),
        "amountTotal": pricing::to_f64(totals.total),
        "amountNet": pricing::to_f64(totals.net),
        "positionPrice": pricing::to_f64(totals.position),
        "taxStatus": status.as_str(),
        "shippingCosts": calc_json(&shipping),
        "shippingTotal": pricing::to_f64(shipping.total),
        "currencyFactor": cur.factor,
        "deepLinkCode": deep_link,
        "affiliateCode": null,
        "campaignCode": null,
        "customerComment": null,
        "stateId": states::initial_state_id(&states::ORDER),
        "ruleIds": [],
        "customFields": null,
        "createdById": null,
        "updatedById": null,
        "itemRounding": cur.item_json,
        "totalRounding": cur.total_json,
        "createdAt": now,
        "updatedAt": null,
        "apiAlias": "order",
    }));

    // Positions count from 1 within each parent.
    let mut next_pos: BTreeMap<Option<String>, i64> = BTreeMap::new();
    let line_items = items
        .into_iter()
        .map(|i| {
            let pos = next_pos.entry(i.parent.clone()).or_insert(0);
            *pos += 1;
            obj(json!({
                "id": i.id,
                "versionId": LIVE_VERSION,
                "orderId": order_id,
                "orderVersionId": LIVE_VERSION,
                "productId": i.product_id,
                "productVersionId": if i.product_id.is_null() { Value::Null } else { json!(LIVE_VERSION) },
                "promotionId": i.promotion_id,
                "parentId": i.parent,
                "parentVersionId": if i.parent.is_some() { json!(LIVE_VERSION) } else { Value::Null },
                "coverId": null,
                "identifier": i.identifier,
                "referencedId": i.referenced_id,
                "quantity": i.quantity,
                "label": i.label,
                "payload": i.payload,
                "good": i.good,
                "removable": true,
                "stackable": true,
                "position": *pos,
                "states": i.states,
                // An unloaded association, as Shopware serialises it (the schema requires the key).
                "children": null,
                "price": calc_json(&i.price),
                "priceDefinition": i.definition,
                "unitPrice": pricing::to_f64(i.price.unit),
                "totalPrice": pricing::to_f64(i.price.total),
                "description": null,
                "type": i.kind,
                "customFields": null,
                "createdAt": now,
                "updatedAt": null,
                "apiAlias": "order_line_item",
            }))
        })
        .collect();

    Ok(OrderRows {
        order,
        line_items,
        deliveries: vec![delivery],
        transactions: vec![transaction],
        order_customer,
        addresses: vec![address],
        new_customer,
        stock_takes: takes,
    })
}

/// Writes all rows of an order (and its new customer). Stock is left to the caller.
pub fn insert_order(store: &mut Store, rows: OrderRows) {
    if let Some(c) = rows.new_customer {
        store.put("customer", c);
    }
    for a in rows.addresses {
        store.put("order_address", a);
    }
    store.put("order", rows.order);
    store.put("order_customer", rows.order_customer);
    for l in rows.line_items {
        store.put("order_line_item", l);
    }
    for d in rows.deliveries {
        store.put("order_delivery", d);
    }
    for t in rows.transactions {
        store.put("order_transaction", t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::shopware::seed::{seed_shop, SeedConfig};
    use rand::SeedableRng;

    const NOW: &str = "2026-11-27T10:15:00.000+00:00";

    /// One block of ten products (see `seed`): SW10000 parent of SW10000.1-3,
    /// SW10001 closeout sold out, SW10002 closeout in stock, SW10003
    /// customizable, SW10004 7 %, SW10005 closeout parent of SW10005.1-2,
    /// SW10006-SW10009 normal 19 %.
    fn shop() -> Store {
        let mut s = Store::new();
        seed_shop(
            &mut s,
            &SeedConfig {
                products: 10,
                orders: 0,
                seed: 7,
            },
        );
        s
    }

    fn set(store: &mut Store, number: &str, field: &str, value: Value) {
        let id = store.product_by_number(number).unwrap().to_string();
        let mut f = Row::new();
        f.insert(field.into(), value);
        store.update("product", &id, &f);
    }

    fn gross(store: &mut Store, number: &str, gross: f64, rate: f64) {
        set(
            store,
            number,
            "price",
            json!([{"currencyId": CURRENCY_EUR, "gross": gross, "net": gross / (1.0 + rate / 100.0), "linked": true}]),
        );
    }

    fn person(email: &str, guest: bool) -> CartCustomer {
        CartCustomer {
            email: email.into(),
            first_name: "Erika".into(),
            last_name: "Mustermann".into(),
            guest,
            customer_number: None,
            company: None,
            street: "Hauptstr. 1".into(),
            zipcode: "10115".into(),
            city: "Berlin".into(),
            country_iso: None,
            vat_ids: vec![],
            phone_number: None,
        }
    }

    fn cart(lines: Vec<CartLine>) -> Cart {
        Cart {
            customer: person("erika@example.com", false),
            lines,
            promotion: None,
            shipping_gross: None,
            tax_status: None,
            currency: None,
        }
    }

    fn p(number: &str, quantity: i64) -> CartLine {
        CartLine::Product {
            product_number: number.into(),
            quantity,
        }
    }

    fn build(store: &Store, cart: &Cart) -> Result<OrderRows, CheckoutError> {
        // A fresh stream per order count, so consecutive orders get distinct ids.
        let mut rng = ChaCha8Rng::seed_from_u64(1 + store.len("order") as u64);
        build_order(
            store,
            cart,
            BuildContext {
                rng: &mut rng,
                now: NOW.into(),
                order_number: "10000".into(),
            },
        )
    }

    fn cents_of(v: &Value) -> i64 {
        pricing::cents(v.as_f64().unwrap())
    }

    fn of_type<'a>(rows: &'a OrderRows, t: &str) -> Vec<&'a Row> {
        rows.line_items.iter().filter(|l| l["type"] == json!(t)).collect()
    }

    #[test]
    fn known_answer_promotion_basket_over_19_and_7_percent() {
        let mut s = shop();
        gross(&mut s, "SW10006", 10.0, 19.0);
        gross(&mut s, "SW10004", 5.0, 7.0);
        let mut c = cart(vec![p("SW10006", 2), p("SW10004", 1)]);
        c.shipping_gross = Some(4.95);
        c.promotion = Some(CartPromotion {
            name: "Ten off".into(),
            code: Some("TEN".into()),
            discount: DiscountKind::Percentage(10.0),
        });
        let rows = build(&s, &c).unwrap();
        let o = &rows.order;
        // 20.00 + 5.00 - 2.50 + 4.95
        assert_eq!(o["amountTotal"], json!(27.45));
        assert_eq!(o["positionPrice"], json!(22.5));
        assert_eq!(o["shippingTotal"], json!(4.95));
        // 7 %: 0.33 - 0.03 + 0.06 (shipping 0.99 share); 19 %: 3.19 - 0.32 + 0.63 (3.96 share)
        let taxes = o["price"]["calculatedTaxes"].as_array().unwrap();
        assert_eq!(
            (taxes[0]["taxRate"].clone(), taxes[0]["tax"].clone()),
            (json!(7.0), json!(0.36))
        );
        assert_eq!(
            (taxes[1]["taxRate"].clone(), taxes[1]["tax"].clone()),
            (json!(19.0), json!(3.5))
        );
        assert_eq!(o["amountNet"], json!(23.59));
        // The promotion item: negative, no product, code as referencedId, tax split 20/80.
        let promo = of_type(&rows, "promotion")[0];
        assert_eq!(promo["totalPrice"], json!(-2.5));
        assert_eq!(promo["referencedId"], json!("TEN"));
        assert_eq!(promo["productId"], Value::Null);
        assert_eq!(promo["good"], json!(false));
        assert!(promo["payload"].get("productNumber").is_none());
        assert_eq!(promo["payload"]["code"], json!("TEN"));
        assert_eq!(promo["payload"]["value"], json!("10"));
        assert_eq!(promo["payload"]["discountScope"], json!("cart"));
        assert_eq!(promo["promotionId"], promo["payload"]["promotionId"]);
        let split = promo["price"]["calculatedTaxes"].as_array().unwrap();
        assert_eq!(split.len(), 2);
        assert_eq!(
            (split[0]["price"].clone(), split[0]["tax"].clone()),
            (json!(-0.5), json!(-0.03))
        );
        assert_eq!(
            (split[1]["price"].clone(), split[1]["tax"].clone()),
            (json!(-2.0), json!(-0.32))
        );
        assert_eq!(promo["price"]["taxRules"][0]["percentage"], json!(20.0));
        // The twin's total is the sum of the top-level lines plus shipping.
        let lines: i64 = rows
            .line_items
            .iter()
            .filter(|l| l["parentId"].is_null())
            .map(|l| cents_of(&l["totalPrice"]))
            .sum();
        assert_eq!(lines + cents_of(&o["shippingTotal"]), cents_of(&o["amountTotal"]));
        assert_eq!(rows.transactions[0]["amount"]["totalPrice"], json!(27.45));
    }

    #[test]
    fn every_line_kind_and_the_customized_products_tree() {
        let mut s = shop();
        gross(&mut s, "SW10003", 20.0, 19.0);
        let mut c = cart(vec![
            p("SW10000.2", 1),
            CartLine::CustomizedProducts {
                product_number: "SW10003".into(),
                quantity: 2,
                options: vec![CartOption {
                    label: "Engraving".into(),
                    value: "x".repeat(60),
                    surcharge_gross: 3.0,
                    one_time: false,
                    item_number: Some("OPT-ENGRAVE".into()),
                }],
            },
            CartLine::Custom {
                label: "Assembly".into(),
                unit_price_gross: 10.0,
                quantity: 1,
                tax_rate: 19.0,
            },
            CartLine::Credit {
                label: "Goodwill".into(),
                amount_gross: 5.0,
            },
        ]);
        c.promotion = Some(CartPromotion {
            name: "Auto".into(),
            code: None,
            discount: DiscountKind::Absolute(1.0),
        });
        let rows = build(&s, &c).unwrap();
        for t in [
            "product",
            "customized-products",
            "customized-products-option",
            "option-values",
            "custom",
            "credit",
            "promotion",
        ] {
            assert!(!of_type(&rows, t).is_empty(), "missing {t}");
        }
        let container = of_type(&rows, "customized-products")[0];
        assert_eq!(container["payload"]["productNumber"], json!("*"));
        assert_eq!(
            container["referencedId"],
            json!(fixed_id("customized-template:SW10003")),
            "referencedId is the template id"
        );
        // 2 x 20.00 + 2 x 3.00
        assert_eq!(container["totalPrice"], json!(46.0));
        let child = of_type(&rows, "product")
            .into_iter()
            .find(|l| l["parentId"] == container["id"])
            .unwrap();
        assert_eq!(child["payload"]["productNumber"], json!("SW10003"));
        assert!(child["payload"]["purchasePrices"].is_string());
        let option = of_type(&rows, "customized-products-option")[0];
        assert_eq!(option["parentId"], container["id"]);
        assert_eq!(option["payload"]["productNumber"], json!("OPT-ENGRAVE"));
        assert_eq!(option["payload"]["isOneTimeSurcharge"], json!(false));
        let value = of_type(&rows, "option-values")[0];
        assert_eq!(value["parentId"], option["id"]);
        assert_eq!(value["label"].as_str().unwrap().len(), 60);
        // The variant: inherited tax and price, options in the payload.
        let variant = of_type(&rows, "product")
            .into_iter()
            .find(|l| l["parentId"].is_null())
            .unwrap();
        assert_eq!(variant["payload"]["productNumber"], json!("SW10000.2"));
        assert_eq!(variant["payload"]["options"], json!([{"group": "Size", "option": "M"}]));
        assert!(variant["payload"]["parentId"].is_string());
        assert_eq!(variant["states"], json!(["is-physical"]));
        for t in ["custom", "credit", "promotion"] {
            assert_eq!(of_type(&rows, t)[0]["productId"], Value::Null, "{t} has no product");
        }
        assert_eq!(of_type(&rows, "credit")[0]["totalPrice"], json!(-5.0));
        assert_eq!(of_type(&rows, "promotion")[0]["referencedId"], json!(""));
        // Positions count from 1 per parent; ids are Shopware hex ids.
        let top: Vec<i64> = rows
            .line_items
            .iter()
            .filter(|l| l["parentId"].is_null())
            .map(|l| l["position"].as_i64().unwrap())
            .collect();
        assert_eq!(top, vec![1, 2, 3, 4, 5]);
        for l in &rows.line_items {
            let id = l["id"].as_str().unwrap();
            assert!(id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
            assert_eq!(l["apiAlias"], json!("order_line_item"));
        }
        // Stock is taken from the variant and the customized product only.
        let takes: Vec<(&str, i64)> = rows
            .stock_takes
            .iter()
            .map(|t| (t.product_number.as_str(), t.quantity))
            .collect();
        assert_eq!(takes, vec![("SW10000.2", 1), ("SW10003", 2)]);
        let delivery = &rows.deliveries[0];
        assert_eq!(delivery["trackingCodes"], json!([]));
        assert_eq!(delivery["stateId"], json!(states::initial_state_id(&states::DELIVERY)));
        assert_eq!(delivery["shippingDateEarliest"], json!("2026-11-28T10:15:00.000+00:00"));
        assert_eq!(rows.order["orderDate"], json!("2026-11-27T00:00:00.000+00:00"));
        assert_eq!(rows.order["stateId"], json!(states::initial_state_id(&states::ORDER)));
        assert_eq!(rows.order["versionId"], json!(LIVE_VERSION));
    }

    #[test]
    fn closeout_and_quantity_rules() {
        let mut s = shop();
        let err = |s: &Store, lines| build(s, &cart(lines)).unwrap_err();
        assert_eq!(
            err(&s, vec![p("SW10001", 1)]),
            CheckoutError::NotAvailable("SW10001".into())
        );
        let stock = s.get("product", &s.product_by_number("SW10002").unwrap()).unwrap()["stock"]
            .as_i64()
            .unwrap();
        assert_eq!(
            err(&s, vec![p("SW10002", stock), p("SW10002", 1)]),
            CheckoutError::InsufficientStock {
                product_number: "SW10002".into(),
                requested: stock + 1,
                available: stock
            }
        );
        assert!(build(&s, &cart(vec![p("SW10002", stock)])).is_ok());
        // Closeout inherited from the parent by the variant.
        let v = s.get("product", &s.product_by_number("SW10005.1").unwrap()).unwrap()["stock"]
            .as_i64()
            .unwrap();
        assert!(matches!(
            err(&s, vec![p("SW10005.1", v + 1)]),
            CheckoutError::InsufficientStock { .. }
        ));
        // Not closeout: sells without stock (real Shopware behaviour).
        set(&mut s, "SW10006", "stock", json!(0));
        assert!(build(&s, &cart(vec![p("SW10006", 3)])).is_ok());
        assert_eq!(
            err(&s, vec![p("SW99999", 1)]),
            CheckoutError::UnknownProduct("SW99999".into())
        );
        assert_eq!(
            err(&s, vec![p("SW10000", 1)]),
            CheckoutError::NotBuyable("SW10000".into())
        );
        assert!(matches!(
            err(&s, vec![p("SW10006", 0)]),
            CheckoutError::InvalidQuantity { .. }
        ));
        assert!(matches!(
            err(&s, vec![p("SW10006", 101)]),
            CheckoutError::InvalidQuantity { .. }
        ));
        assert!(matches!(
            err(&s, vec![p("SW10006", i64::MAX)]),
            CheckoutError::InvalidQuantity { .. }
        ));
        let huge = CartLine::Custom {
            label: "x".into(),
            unit_price_gross: 1e300,
            quantity: 1,
            tax_rate: 19.0,
        };
        assert!(matches!(err(&s, vec![huge]), CheckoutError::InvalidAmount { .. }));
        assert_eq!(err(&s, vec![]), CheckoutError::EmptyCart);
        assert!(matches!(
            err(
                &s,
                vec![CartLine::CustomizedProducts {
                    product_number: "SW10006".into(),
                    quantity: 1,
                    options: vec![]
                }]
            ),
            CheckoutError::NotCustomizable(_)
        ));
        set(&mut s, "SW10007", "active", json!(false));
        assert_eq!(
            err(&s, vec![p("SW10007", 1)]),
            CheckoutError::Inactive("SW10007".into())
        );
        let mut c = cart(vec![p("SW10008", 1)]);
        c.tax_status = Some("GROSS".into());
        assert!(matches!(build(&s, &c), Err(CheckoutError::InvalidTaxStatus(_))));
        c.tax_status = None;
        c.currency = Some("USD".into());
        assert!(matches!(build(&s, &c), Err(CheckoutError::UnknownCurrency(_))));
        c.currency = None;
        c.shipping_gross = Some(f64::NAN);
        assert!(matches!(build(&s, &c), Err(CheckoutError::InvalidAmount { .. })));
    }

    #[test]
    fn guests_get_a_new_customer_each_time_registered_buyers_are_reused() {
        let mut s = shop();
        let place = |s: &mut Store, c: &Cart| {
            let rows = build(s, c).unwrap();
            let customer_id = rows.order_customer["customerId"].as_str().unwrap().to_string();
            let created = rows.new_customer.is_some();
            insert_order(s, rows);
            (customer_id, created)
        };
        let mut guest = cart(vec![p("SW10006", 1)]);
        guest.customer = person("guest@example.com", true);
        let (g1, new1) = place(&mut s, &guest);
        let (g2, new2) = place(&mut s, &guest);
        assert!(new1 && new2);
        assert_ne!(g1, g2, "same guest email, two customer rows");
        assert_eq!(s.get("customer", &g1).unwrap()["guest"], json!(true));
        assert_ne!(
            s.get("customer", &g1).unwrap()["customerNumber"],
            s.get("customer", &g2).unwrap()["customerNumber"]
        );
        let registered = cart(vec![p("SW10006", 1)]);
        let (r1, new3) = place(&mut s, &registered);
        let (r2, new4) = place(&mut s, &registered);
        assert!(new3 && !new4, "created once, then found by email");
        assert_eq!(r1, r2);
        assert_eq!(s.len("customer"), 3);
        assert_eq!(s.len("order"), 4);
        // Orders are complete: customer, address, delivery, transaction.
        let o = s.rows("order").next().unwrap();
        let oc = s.values_at("order", &o, "orderCustomer.email");
        assert_eq!(oc.len(), 1);
        assert_eq!(
            s.values_at("order", &o, "billingAddress.city"),
            vec![Cow::<Value>::Owned(json!("Berlin"))]
        );
        assert_eq!(s.values_at("order", &o, "deliveries.trackingCodes").len(), 1);
        assert_eq!(
            s.values_at("order", &o, "transactions.stateMachineState.technicalName"),
            vec![Cow::<Value>::Owned(json!("open"))]
        );
    }

    #[test]
    fn chf_net_and_tax_free_orders() {
        let mut s = shop();
        gross(&mut s, "SW10006", 10.0, 19.0);
        // CHF: 10.00 EUR * 0.94 = 9.40 CHF; x3 + shipping 0.72 = 28.92 -> 28.90
        let mut c = cart(vec![p("SW10006", 3)]);
        c.currency = Some("CHF".into());
        c.shipping_gross = Some(0.72);
        let o = build(&s, &c).unwrap().order;
        assert_eq!(o["price"]["rawTotal"], json!(28.92));
        assert_eq!(o["price"]["totalPrice"], json!(28.9));
        assert_eq!(o["amountTotal"], json!(28.9));
        assert_eq!(o["currencyFactor"], json!(0.94));
        assert_eq!(o["totalRounding"]["interval"], json!(0.05));
        // Net: 3 x 8.40 (10 / 1.19 = 8.4034) = 25.20 net, 19 % = 4.79
        let mut c = cart(vec![p("SW10006", 3)]);
        c.tax_status = Some("net".into());
        let o = build(&s, &c).unwrap().order;
        assert_eq!(o["taxStatus"], json!("net"));
        assert_eq!(o["amountNet"], json!(25.2));
        assert_eq!(o["amountTotal"], json!(29.99));
        c.tax_status = Some("tax-free".into());
        let o = build(&s, &c).unwrap().order;
        assert_eq!(o["price"]["taxStatus"], json!("tax-free"));
        assert_eq!(o["price"]["calculatedTaxes"], json!([]));
        assert_eq!(
            (o["amountNet"].clone(), o["amountTotal"].clone()),
            (json!(25.2), json!(25.2))
        );
    }

    #[test]
    fn carts_parse_from_the_drivers_json() {
        let c: Cart = serde_json::from_value(json!({
            "customer": {"email": "a@b.c", "firstName": "A", "lastName": "B", "guest": true,
                         "street": "S 1", "zipcode": "1", "city": "C"},
            "lines": [
                {"type": "product", "productNumber": "SW10006", "quantity": 1},
                {"type": "customized-products", "productNumber": "SW10003", "quantity": 1,
                 "options": [{"label": "Text", "value": "Hi", "surchargeGross": 1.5, "oneTime": true}]},
                {"type": "custom", "label": "Fee", "unitPriceGross": 2.0, "quantity": 1, "taxRate": 19},
                {"type": "credit", "label": "Credit", "amountGross": 1.0}
            ],
            "promotion": {"name": "P", "code": "X", "discount": {"percentage": 5}},
            "shippingGross": 4.95, "taxStatus": "gross", "currency": "EUR"
        }))
        .unwrap();
        assert_eq!(c.lines.len(), 4);
        let rows = build(&shop(), &c).unwrap();
        assert_eq!(rows.new_customer.unwrap()["guest"], json!(true));
        let bad = serde_json::from_value::<Cart>(json!({"customer": {}, "lines": [], "total": 1}));
        assert!(bad.is_err(), "unknown fields are refused");
        let bad_line = serde_json::from_value::<CartLine>(
            json!({"type": "product", "productNumber": "SW1", "quantity": 1, "price": 0.01}),
        );
        assert!(bad_line.is_err(), "a client price is refused, never trusted");
        let unknown_type = serde_json::from_value::<CartLine>(json!({"type": "discount", "label": "x"}));
        assert!(unknown_type.is_err());
    }
}
