//! The ERP's records: items, customers, G/L accounts, sales orders and posted
//! shipments, with GUID ids and ERP-assigned document numbers.
//!
//! Money is integer cents (unit prices 1/100,000, see [`super::totals`]); times
//! are scenario instants rendered as RFC 3339 on the way out. Collections are
//! keyed by number (items in a `BTreeMap`, documents on [`Shelf`]s, which keep
//! all but the newest packed on disk) so listings and snapshots are in a
//! stable order; lookups by id, e-mail and external document number go
//! through [`super::index`]. Everything here is plain data (`Serialize`);
//! the end of a run takes it out of the twin whole
//! ([`super::ErpTwin::take_state`]) for reconciliation.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rand::RngCore;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use super::fields::TextFields;
use super::guid::Guid;
use super::index::{IdIndex, Lookup};
use super::odata::{Kind, Queryable, Value};
use super::shelf::Shelf;
use super::totals::{cents_json, percent_json, unit_price_json};
use crate::clock::SimTime;
use crate::twin::at_rest::RowFile;

/// Item type as Business Central names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemType {
    Inventory,
    Service,
    #[serde(rename = "Non-Inventory")]
    NonInventory,
}

impl ItemType {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::Inventory => "Inventory",
            ItemType::Service => "Service",
            ItemType::NonInventory => "Non-Inventory",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Inventory" => Some(ItemType::Inventory),
            "Service" => Some(ItemType::Service),
            "Non-Inventory" => Some(ItemType::NonInventory),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub id: Guid,
    pub number: String,
    pub display_name: String,
    pub item_type: ItemType,
    pub blocked: bool,
    /// On hand (only Inventory items carry stock).
    pub inventory: i64,
    /// Quantity on open orders not yet shipped.
    pub reserved: i64,
    pub unit_price_e5: i64,
    pub tax_code: String,
    pub last_modified: SimTime,
}

impl Item {
    /// On hand minus open order quantity.
    pub fn available(&self) -> i64 {
        self.inventory - self.reserved
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub id: Guid,
    pub number: String,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Address and other free-text fields as sent.
    pub fields: TextFields,
    pub prices_include_tax: bool,
    pub last_modified: SimTime,
}

/// A G/L account that Account lines may post to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlAccount {
    pub number: String,
    pub name: String,
    pub tax_code: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LineType {
    Item,
    Account,
    Comment,
}

impl LineType {
    pub fn as_str(self) -> &'static str {
        match self {
            LineType::Item => "Item",
            LineType::Account => "Account",
            LineType::Comment => "Comment",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesOrderLine {
    pub id: Guid,
    pub sequence: u32,
    pub line_type: LineType,
    pub line_object_number: String,
    pub item_id: Option<Guid>,
    pub description: String,
    pub description2: String,
    pub quantity: i64,
    pub shipped_quantity: i64,
    pub unit_price_e5: i64,
    pub discount_amount: i64,
    pub tax_code: String,
    pub tax_bp: i64,
    pub amount_excluding_tax: i64,
    pub invoice_discount_allocation: i64,
    pub net_amount: i64,
    pub tax: i64,
    pub amount_including_tax: i64,
}

impl SalesOrderLine {
    /// Quantity still to ship (Item lines only).
    pub fn outstanding(&self) -> i64 {
        if self.line_type == LineType::Item {
            self.quantity - self.shipped_quantity
        } else {
            0
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesOrder {
    pub id: Guid,
    pub number: String,
    pub external_document_number: String,
    pub customer_id: Guid,
    pub customer_number: String,
    pub customer_name: String,
    /// Address, e-mail and phone fields as sent.
    pub fields: TextFields,
    pub currency_code: String,
    pub prices_include_tax: bool,
    /// Header (invoice) discount in cents, in the document's price basis.
    pub discount_amount: i64,
    pub lines: Vec<SalesOrderLine>,
    pub total_excluding_tax: i64,
    pub total_tax: i64,
    pub total_including_tax: i64,
    pub created: SimTime,
    pub last_modified: SimTime,
}

impl SalesOrder {
    pub fn fully_shipped(&self) -> bool {
        self.lines.iter().all(|l| l.outstanding() == 0)
    }
    pub fn anything_shipped(&self) -> bool {
        self.lines.iter().any(|l| l.shipped_quantity > 0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipmentLine {
    pub id: Guid,
    pub sequence: u32,
    pub line_object_number: String,
    pub description: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shipment {
    pub id: Guid,
    pub number: String,
    pub order_id: Guid,
    pub order_number: String,
    pub external_document_number: String,
    pub customer_number: String,
    pub shipping_agent: String,
    pub tracking_number: String,
    pub posted: SimTime,
    pub lines: Vec<ShipmentLine>,
}

/// Deterministic GUIDs and document numbers.
#[derive(Debug)]
pub struct Ids {
    rng: ChaCha8Rng,
    next_order: u64,
    next_shipment: u64,
    next_customer: u64,
    next_correlation: u64,
}

impl Ids {
    pub fn new(rng: ChaCha8Rng) -> Self {
        Ids {
            rng,
            next_order: 101_001,
            next_shipment: 102_001,
            next_customer: 10,
            next_correlation: 0,
        }
    }

    /// A lowercase GUID with dashes (version 4 bits set), from the seeded RNG.
    pub fn guid(&mut self) -> Guid {
        let mut b = [0u8; 16];
        self.rng.fill_bytes(&mut b);
        uuid::Builder::from_random_bytes(b).into_uuid().into()
    }

    /// `S-ORD101001`, `S-ORD101002`, …
    pub fn order_number(&mut self) -> String {
        let n = self.next_order;
        self.next_order += 1;
        format!("S-ORD{n}")
    }

    /// `S-SHPT102001`, …
    pub fn shipment_number(&mut self) -> String {
        let n = self.next_shipment;
        self.next_shipment += 1;
        format!("S-SHPT{n}")
    }

    /// `C00010`, `C00020`, … (Cronus numbers customers in tens).
    pub fn customer_number(&mut self) -> String {
        let n = self.next_customer;
        self.next_customer += 10;
        format!("C{n:05}")
    }

    /// A correlation id per answered error: deterministic, GUID-shaped.
    pub fn correlation(&mut self) -> String {
        self.next_correlation += 1;
        format!("00000000-0000-4000-8000-{:012x}", self.next_correlation)
    }

    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }
}

/// All records of the twin. Items and G/L accounts stay decoded (a
/// catalogue's worth, changed by every stock move); documents, which pile up
/// over a day, sit on [`Shelf`]s.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ErpState {
    pub items: BTreeMap<String, Item>,
    pub customers: Shelf<Customer>,
    pub accounts: BTreeMap<String, GlAccount>,
    pub orders: Shelf<SalesOrder>,
    pub shipments: Shelf<Shipment>,
    /// Item id → number, order id → number, … for `({id})` lookups.
    #[serde(skip)]
    pub item_ids: IdIndex,
    #[serde(skip)]
    pub customer_ids: IdIndex,
    #[serde(skip)]
    pub order_ids: IdIndex,
    #[serde(skip)]
    pub shipment_ids: IdIndex,
    /// Lowercased e-mail → customer numbers with it.
    #[serde(skip)]
    pub customer_emails: Lookup,
    /// External document number → order numbers with it (oldest first).
    #[serde(skip)]
    pub ext_index: Lookup,
    /// (posting instant, number) of every shipment: the fulfilment poll asks
    /// for shipments posted since its watermark.
    #[serde(skip)]
    pub shipments_posted: BTreeSet<(SimTime, Box<str>)>,
    /// Where packed documents rest (none: on the heap).
    #[serde(skip)]
    file: Option<Arc<RowFile>>,
}

/// Equal records (the indexes follow from them; where documents rest does not matter).
impl PartialEq for ErpState {
    fn eq(&self, other: &Self) -> bool {
        self.items == other.items
            && self.customers == other.customers
            && self.accounts == other.accounts
            && self.orders == other.orders
            && self.shipments == other.shipments
    }
}

impl ErpState {
    /// An empty state whose packed documents rest in a row file of its own
    /// when the system's temporary directory takes one (on the heap otherwise).
    pub fn at_rest() -> Self {
        let file = RowFile::create().ok().map(Arc::new);
        ErpState {
            customers: Shelf::new(file.clone()),
            orders: Shelf::new(file.clone()),
            shipments: Shelf::new(file.clone()),
            file,
            ..ErpState::default()
        }
    }

    /// Bytes written to the row file (0 without one).
    pub fn filed_bytes(&self) -> u64 {
        self.file.as_ref().map_or(0, |f| f.len())
    }

    /// Numbers of shipments posted at or after `since`, in number order.
    pub fn shipments_posted_since(&self, since: SimTime) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .shipments_posted
            .range((since, Box::<str>::from(""))..)
            .map(|(_, n)| &**n)
            .collect();
        v.sort_unstable();
        v
    }

    pub fn insert_item(&mut self, item: Item) {
        self.item_ids.insert(item.id, &item.number);
        self.items.insert(item.number.clone(), item);
    }

    pub fn insert_customer(&mut self, c: Customer) {
        self.customer_ids.insert(c.id, &c.number);
        if let Some(e) = &c.email {
            self.customer_emails.add(&e.to_lowercase(), &c.number);
        }
        self.customers.insert(c.number.clone(), c);
    }

    pub fn insert_order(&mut self, o: SalesOrder) {
        self.order_ids.insert(o.id, &o.number);
        if !o.external_document_number.is_empty() {
            self.ext_index.add(&o.external_document_number, &o.number);
        }
        self.orders.insert(o.number.clone(), o);
    }

    /// Removes an order and its index entries (a rolled-back batch).
    pub fn remove_order(&mut self, number: &str) -> Option<SalesOrder> {
        let o = self.orders.remove(number)?;
        self.order_ids.remove(&o.id);
        self.ext_index.remove(&o.external_document_number, number);
        Some(o)
    }

    /// Removes a customer and its index entries (a rolled-back batch).
    pub fn remove_customer(&mut self, number: &str) -> Option<Customer> {
        let c = self.customers.remove(number)?;
        self.customer_ids.remove(&c.id);
        if let Some(e) = &c.email {
            self.customer_emails.remove(&e.to_lowercase(), number);
        }
        Some(c)
    }

    pub fn insert_shipment(&mut self, s: Shipment) {
        self.shipment_ids.insert(s.id, &s.number);
        self.shipments_posted.insert((s.posted, s.number.as_str().into()));
        self.shipments.insert(s.number.clone(), s);
    }
}

fn ts(t: SimTime, epoch: OffsetDateTime) -> String {
    crate::clock::rfc3339_ms_z(epoch + t.as_duration())
}

fn date(t: SimTime, epoch: OffsetDateTime) -> String {
    let dt = epoch + t.as_duration();
    format!("{:04}-{:02}-{:02}", dt.year(), u8::from(dt.month()), dt.day())
}

fn etag(t: SimTime) -> String {
    format!("W/\"JzQ0O{}MDsn\"", t.0)
}

/// Rendering to BC's JSON shapes.
impl Item {
    pub fn to_json(&self, epoch: OffsetDateTime) -> serde_json::Value {
        json!({
            "@odata.etag": etag(self.last_modified),
            "id": self.id,
            "number": self.number,
            "displayName": self.display_name,
            "type": self.item_type.as_str(),
            "blocked": self.blocked,
            "inventory": self.inventory,
            "available": self.available(),
            "unitPrice": unit_price_json(self.unit_price_e5),
            "priceIncludesTax": false,
            "taxGroupCode": self.tax_code,
            "baseUnitOfMeasureCode": "PCS",
            "lastModifiedDateTime": ts(self.last_modified, epoch),
        })
    }
}

impl Queryable for Item {
    const TYPE_NAME: &'static str = "Microsoft.NAV.item";
    const FIELDS: &'static [(&'static str, Kind)] = &[
        ("id", Kind::Str),
        ("number", Kind::Str),
        ("displayName", Kind::Str),
        ("type", Kind::Str),
        ("blocked", Kind::Bool),
        ("inventory", Kind::Num),
        ("available", Kind::Num),
        ("unitPrice", Kind::Num),
        ("taxGroupCode", Kind::Str),
        ("lastModifiedDateTime", Kind::Time),
    ];
    fn field(&self, name: &str, epoch: OffsetDateTime) -> Option<Value<'_>> {
        Some(match name {
            "id" => Value::Str(&self.id),
            "number" => Value::Str(&self.number),
            "displayName" => Value::Str(&self.display_name),
            "type" => Value::Str(self.item_type.as_str()),
            "blocked" => Value::Bool(self.blocked),
            "inventory" => Value::Num(self.inventory as f64),
            "available" => Value::Num(self.available() as f64),
            "unitPrice" => Value::Num(self.unit_price_e5 as f64 / 100_000.0),
            "taxGroupCode" => Value::Str(&self.tax_code),
            "lastModifiedDateTime" => Value::Time(epoch + self.last_modified.as_duration()),
            _ => return None,
        })
    }
}

impl Customer {
    pub fn to_json(&self, epoch: OffsetDateTime) -> serde_json::Value {
        let mut v = json!({
            "@odata.etag": etag(self.last_modified),
            "id": self.id,
            "number": self.number,
            "displayName": self.display_name,
            "type": "Person",
            "email": self.email.clone().unwrap_or_default(),
            "phoneNumber": self.phone.clone().unwrap_or_default(),
            "pricesIncludeTax": self.prices_include_tax,
            "blocked": "_x0020_",
            "lastModifiedDateTime": ts(self.last_modified, epoch),
        });
        if let Some(obj) = v.as_object_mut() {
            for (k, val) in self.fields.iter() {
                obj.insert(k.to_string(), json!(val));
            }
        }
        v
    }
}

impl Queryable for Customer {
    const TYPE_NAME: &'static str = "Microsoft.NAV.customer";
    const FIELDS: &'static [(&'static str, Kind)] = &[
        ("id", Kind::Str),
        ("number", Kind::Str),
        ("displayName", Kind::Str),
        ("email", Kind::Str),
        ("phoneNumber", Kind::Str),
        ("lastModifiedDateTime", Kind::Time),
    ];
    fn field(&self, name: &str, epoch: OffsetDateTime) -> Option<Value<'_>> {
        Some(match name {
            "id" => Value::Str(&self.id),
            "number" => Value::Str(&self.number),
            "displayName" => Value::Str(&self.display_name),
            "email" => Value::Str(self.email.as_deref().unwrap_or("")),
            "phoneNumber" => Value::Str(self.phone.as_deref().unwrap_or("")),
            "lastModifiedDateTime" => Value::Time(epoch + self.last_modified.as_duration()),
            _ => return None,
        })
    }
}

impl SalesOrderLine {
    pub fn to_json(&self, document_id: &str) -> serde_json::Value {
        json!({
            "id": self.id,
            "documentId": document_id,
            "sequence": self.sequence,
            "itemId": self.item_id.unwrap_or_default(),
            "lineType": self.line_type.as_str(),
            "lineObjectNumber": self.line_object_number,
            "description": self.description,
            "description2": self.description2,
            "quantity": self.quantity,
            "unitPrice": unit_price_json(self.unit_price_e5),
            "discountAmount": cents_json(self.discount_amount),
            "taxCode": self.tax_code,
            "taxPercent": percent_json(self.tax_bp),
            "amountExcludingTax": cents_json(self.amount_excluding_tax),
            "invoiceDiscountAllocation": cents_json(self.invoice_discount_allocation),
            "netAmount": cents_json(self.net_amount),
            "netTaxAmount": cents_json(self.tax),
            "netAmountIncludingTax": cents_json(self.amount_including_tax),
            "totalTaxAmount": cents_json(self.tax),
            "amountIncludingTax": cents_json(self.amount_including_tax),
            "shippedQuantity": self.shipped_quantity,
        })
    }
}

impl SalesOrder {
    pub fn to_json(&self, epoch: OffsetDateTime, with_lines: bool) -> serde_json::Value {
        let mut v = json!({
            "@odata.etag": etag(self.last_modified),
            "id": self.id,
            "number": self.number,
            "externalDocumentNumber": self.external_document_number,
            "orderDate": date(self.created, epoch),
            "customerId": self.customer_id,
            "customerNumber": self.customer_number,
            "customerName": self.customer_name,
            "currencyCode": self.currency_code,
            "pricesIncludeTax": self.prices_include_tax,
            "discountAmount": cents_json(self.discount_amount),
            "totalAmountExcludingTax": cents_json(self.total_excluding_tax),
            "totalTaxAmount": cents_json(self.total_tax),
            "totalAmountIncludingTax": cents_json(self.total_including_tax),
            "fullyShipped": self.fully_shipped(),
            "status": "Open",
            "lastModifiedDateTime": ts(self.last_modified, epoch),
        });
        if let Some(obj) = v.as_object_mut() {
            for (k, val) in self.fields.iter() {
                obj.insert(k.to_string(), json!(val));
            }
            if with_lines {
                obj.insert(
                    "salesOrderLines".into(),
                    self.lines.iter().map(|l| l.to_json(&self.id)).collect(),
                );
            }
        }
        v
    }
}

impl Queryable for SalesOrder {
    const TYPE_NAME: &'static str = "Microsoft.NAV.salesOrder";
    const FIELDS: &'static [(&'static str, Kind)] = &[
        ("id", Kind::Str),
        ("number", Kind::Str),
        ("externalDocumentNumber", Kind::Str),
        ("customerId", Kind::Str),
        ("customerNumber", Kind::Str),
        ("fullyShipped", Kind::Bool),
        ("totalAmountIncludingTax", Kind::Num),
        ("lastModifiedDateTime", Kind::Time),
    ];
    fn field(&self, name: &str, epoch: OffsetDateTime) -> Option<Value<'_>> {
        Some(match name {
            "id" => Value::Str(&self.id),
            "number" => Value::Str(&self.number),
            "externalDocumentNumber" => Value::Str(&self.external_document_number),
            "customerId" => Value::Str(&self.customer_id),
            "customerNumber" => Value::Str(&self.customer_number),
            "fullyShipped" => Value::Bool(self.fully_shipped()),
            "totalAmountIncludingTax" => Value::Num(self.total_including_tax as f64 / 100.0),
            "lastModifiedDateTime" => Value::Time(epoch + self.last_modified.as_duration()),
            _ => return None,
        })
    }
}

impl Shipment {
    pub fn to_json(&self, epoch: OffsetDateTime, with_lines: bool) -> serde_json::Value {
        let mut v = json!({
            "@odata.etag": etag(self.posted),
            "id": self.id,
            "number": self.number,
            "externalDocumentNumber": self.external_document_number,
            "orderNumber": self.order_number,
            "orderId": self.order_id,
            "customerNumber": self.customer_number,
            "shipmentDate": date(self.posted, epoch),
            "postingDate": date(self.posted, epoch),
            "shippingAgentCode": self.shipping_agent,
            "packageTrackingNumber": self.tracking_number,
            "lastModifiedDateTime": ts(self.posted, epoch),
        });
        if with_lines {
            if let Some(obj) = v.as_object_mut() {
                obj.insert(
                    "salesShipmentLines".into(),
                    self.lines
                        .iter()
                        .map(|l| {
                            json!({
                                "id": l.id,
                                "documentId": self.id,
                                "documentNo": self.number,
                                "sequence": l.sequence,
                                "lineType": "Item",
                                "lineObjectNumber": l.line_object_number,
                                "description": l.description,
                                "quantity": l.quantity,
                            })
                        })
                        .collect(),
                );
            }
        }
        v
    }
}

impl Queryable for Shipment {
    const TYPE_NAME: &'static str = "Microsoft.NAV.salesShipment";
    const FIELDS: &'static [(&'static str, Kind)] = &[
        ("id", Kind::Str),
        ("number", Kind::Str),
        ("externalDocumentNumber", Kind::Str),
        ("orderNumber", Kind::Str),
        ("customerNumber", Kind::Str),
        ("lastModifiedDateTime", Kind::Time),
    ];
    fn field(&self, name: &str, epoch: OffsetDateTime) -> Option<Value<'_>> {
        Some(match name {
            "id" => Value::Str(&self.id),
            "number" => Value::Str(&self.number),
            "externalDocumentNumber" => Value::Str(&self.external_document_number),
            "orderNumber" => Value::Str(&self.order_number),
            "customerNumber" => Value::Str(&self.customer_number),
            "lastModifiedDateTime" => Value::Time(epoch + self.posted.as_duration()),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ids_are_deterministic_guids_and_bc_numbers() {
        let mut a = Ids::new(ChaCha8Rng::seed_from_u64(1));
        let mut b = Ids::new(ChaCha8Rng::seed_from_u64(1));
        let g = a.guid();
        assert_eq!(g, b.guid());
        assert_eq!(g.len(), 36);
        assert_eq!(&g[14..15], "4");
        assert_eq!(a.order_number(), "S-ORD101001");
        assert_eq!(a.order_number(), "S-ORD101002");
        assert_eq!(a.shipment_number(), "S-SHPT102001");
        assert_eq!(a.customer_number(), "C00010");
        assert_eq!(a.customer_number(), "C00020");
    }

    #[test]
    fn timestamps_are_utc_with_z() {
        assert_eq!(
            ts(SimTime(1_500_000), crate::clock::default_epoch()),
            "2026-11-27T00:00:01.500Z"
        );
    }
}
