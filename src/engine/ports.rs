//! What the engine's flows need from the outside world, as traits: the shop,
//! the ERP, and a way to wait. HTTP adapters implement them for real systems
//! and the twins; in-memory fakes implement them for unit tests, which then run
//! without sockets or sleeps.

use std::future::Future;
use std::time::Duration;

use serde_json::Value;

use super::http::CallError;
use super::mapping::OrderDraft;

/// The shop side (Shopware).
pub trait ShopApi {
    /// Orders matching the criteria, with the associations the mapping needs.
    fn search_orders(&self, criteria: &Value) -> impl Future<Output = Result<Vec<Value>, CallError>> + Send;
    /// Writes stock figures in one sync request (operation key `op_key`,
    /// products addressed by productNumber). `indexing` sets `indexing-behavior`.
    fn push_stock(
        &self,
        op_key: &str,
        batch: &[(String, i64)],
        indexing: Option<&str>,
    ) -> impl Future<Output = Result<(), CallError>> + Send;
    /// Writes one product's stock with `PATCH /api/product/{id}` (the per-SKU strategy).
    fn patch_stock(&self, sku: &str, stock: i64) -> impl Future<Output = Result<(), CallError>> + Send;
    /// The delivery of an order (by order number) with its and the order's state.
    fn delivery_of(&self, order_number: &str) -> impl Future<Output = Result<Option<DeliveryRef>, CallError>> + Send;
    /// Replaces a delivery's tracking codes.
    fn set_tracking(&self, delivery_id: &str, codes: &[String]) -> impl Future<Output = Result<(), CallError>> + Send;
    /// Runs a state transition; returns the new state's technical name.
    fn transition(
        &self,
        entity: &str,
        id: &str,
        action: &str,
    ) -> impl Future<Output = Result<String, CallError>> + Send;
    /// The stock Shopware shows for these productNumbers (those it knows).
    fn stock_of(&self, skus: &[String]) -> impl Future<Output = Result<Vec<(String, Shown)>, CallError>> + Send;
    /// productNumbers (with their stock) that have stock but `available = false`:
    /// closeout products whose availability was not recomputed after a restock.
    fn stale_closeouts(&self) -> impl Future<Output = Result<Vec<(String, i64)>, CallError>> + Send;
}

/// A product's stock as Shopware shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    pub stock: i64,
    /// Whether it can be bought (false for a closeout out of stock).
    pub available: bool,
}

impl Shown {
    /// Stock but not available: a closeout whose availability was not
    /// recomputed after a restock (writing its stock with indexing does).
    pub fn stale_closeout(&self) -> bool {
        self.stock > 0 && !self.available
    }
}

/// An order's delivery as the fulfilment flow needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRef {
    pub order_id: String,
    pub order_state: String,
    pub delivery_id: String,
    pub delivery_state: String,
    pub tracking_codes: Vec<String>,
}

/// A posted ERP shipment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipment {
    pub number: String,
    pub external_document_number: String,
    pub tracking_number: Option<String>,
    /// Units per item number.
    pub lines: Vec<(String, i64)>,
    /// When it was posted (RFC 3339), for the shipment watermark.
    pub posted: String,
}

/// An ERP item's stock as the ERP reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErpItem {
    pub number: String,
    /// Only inventory items carry stock to push.
    pub inventory: bool,
    pub on_hand: i64,
    pub available: i64,
    /// `lastModifiedDateTime` (RFC 3339).
    pub modified: String,
}

/// The ERP side.
pub trait ErpApi {
    /// The ERP document number of an order with this external document number, if any.
    fn find_order(
        &self,
        external_document_number: &str,
    ) -> impl Future<Output = Result<Option<String>, CallError>> + Send;
    /// Creates the order; returns the ERP's document number.
    fn create_order(&self, draft: &OrderDraft) -> impl Future<Output = Result<String, CallError>> + Send;
    /// Items modified after `since` (all items when None), every page read.
    fn items_since(&self, since: Option<&str>) -> impl Future<Output = Result<Vec<ErpItem>, CallError>> + Send;
    /// Shipments posted after `since` (all when None), every page read.
    fn shipments_since(&self, since: Option<&str>) -> impl Future<Output = Result<Vec<Shipment>, CallError>> + Send;
}

/// Waiting in scenario time (real adapters sleep the wall-clock equivalent).
pub trait Pause {
    fn pause(&self, scenario: Duration) -> impl Future<Output = ()> + Send;
}

/// Sleeps `scenario / speed` of wall time.
#[derive(Debug, Clone)]
pub struct ScaledPause(pub crate::clock::SharedClock);

impl Pause for ScaledPause {
    fn pause(&self, scenario: Duration) -> impl Future<Output = ()> + Send {
        crate::clock::sleep_wall(self.0.speed().to_wall(scenario))
    }
}
