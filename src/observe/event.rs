//! The event vocabulary: what a twin saw change, as one enum generic over how
//! its text is held, so the owned form ([`Event`], built by the twins and
//! serialised) and the packed log's borrowed view ([`EventRef`]) cannot drift
//! apart, and one conversion ([`EventOf::convert`]) maps between them.

use serde::{Deserialize, Serialize};

use super::packed::{Codes, Lines};

/// A quantity of one SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuQty {
    pub sku: String,
    pub qty: i64,
}

/// An event with owned text: what the twins build and what JSONL holds.
pub type Event = EventOf<String, Vec<SkuQty>, Vec<String>>;

/// An event borrowed from a packed [`super::Observations`]: text as `&str`,
/// lines and codes as iterable views.
pub type EventRef<'a> = EventOf<&'a str, Lines<'a>, Codes<'a>>;

/// What changed, generic over how strings (`S`), order lines (`L`) and
/// tracking codes (`C`) are held: owned in [`Event`], borrowed from a packed
/// log in [`EventRef`], and as symbols inside the log itself. Shopware and ERP
/// events share one enum so that one log and one JSONL format serve both twins.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventOf<S, L, C> {
    // ---- Shopware ----
    /// An order was placed in the storefront (stock taken in 6.6+).
    OrderPlaced {
        order_id: S,
        order_number: S,
        guest: bool,
        lines: L,
        gross: f64,
    },
    /// A sale the storefront refused (not enough stock shown, closeout sold out).
    OrderRefused {
        sku: S,
        reason: S,
    },
    /// `product.stock` changed, and why (`sync`, `patch`, `order`, `cancel`, `reopen`).
    StockWritten {
        sku: S,
        before: i64,
        after: i64,
        via: S,
        /// The `available` flag after the write (stale when indexing was disabled).
        available: bool,
    },
    /// A state machine moved.
    StateChanged {
        entity: S,
        id: S,
        order_number: Option<S>,
        transition: S,
        from: S,
        to: S,
    },
    /// Tracking codes were written on a delivery.
    TrackingSet {
        delivery_id: S,
        order_number: Option<S>,
        codes: C,
    },
    // ---- ERP ----
    /// The ERP accepted a sales order.
    ErpOrderCreated {
        number: S,
        external_document_number: S,
        customer_number: S,
        lines: L,
        total_including_tax: f64,
    },
    /// The ERP rejected a sales order, with its error code.
    ErpOrderRejected {
        external_document_number: S,
        code: S,
        message: S,
    },
    /// An existing order was replaced by a POST with the same external
    /// document number (profiles in upsert mode).
    ErpOrderUpdated {
        number: S,
        external_document_number: S,
        lines: L,
        total_including_tax: f64,
    },
    ErpCustomerCreated {
        number: S,
        email: Option<S>,
    },
    /// A shipment was posted (on hand dropped).
    ErpShipmentPosted {
        number: S,
        external_document_number: S,
        tracking_number: Option<S>,
        lines: L,
    },
    /// ERP stock moved (receipt, adjustment, shipment).
    ErpStockMoved {
        sku: S,
        before: i64,
        after: i64,
        reason: S,
    },
    // ---- both ----
    /// A request answered 429 (or the ERP's throttling status).
    Throttled {
        route: S,
        status: u16,
        retry_after_secs: Option<u64>,
    },
    /// A fault was injected (deadlock 500, timeout, overload 503, dropped connection).
    Fault {
        route: S,
        kind: S,
        status: u16,
    },
}

/// Maps an event's text, lines and codes from one representation to another
/// (owned to packed, packed to borrowed, borrowed to owned).
pub(crate) trait Convert<S, L, C> {
    type S2;
    type L2;
    type C2;
    fn text(&mut self, s: S) -> Self::S2;
    fn lines(&mut self, l: L) -> Self::L2;
    fn codes(&mut self, c: C) -> Self::C2;
}

impl<S, L, C> EventOf<S, L, C> {
    /// The same event with its text, lines and codes converted by `m`.
    pub(crate) fn convert<M: Convert<S, L, C>>(self, m: &mut M) -> EventOf<M::S2, M::L2, M::C2> {
        match self {
            EventOf::OrderPlaced {
                order_id,
                order_number,
                guest,
                lines,
                gross,
            } => EventOf::OrderPlaced {
                order_id: m.text(order_id),
                order_number: m.text(order_number),
                guest,
                lines: m.lines(lines),
                gross,
            },
            EventOf::OrderRefused { sku, reason } => EventOf::OrderRefused {
                sku: m.text(sku),
                reason: m.text(reason),
            },
            EventOf::StockWritten {
                sku,
                before,
                after,
                via,
                available,
            } => EventOf::StockWritten {
                sku: m.text(sku),
                before,
                after,
                via: m.text(via),
                available,
            },
            EventOf::StateChanged {
                entity,
                id,
                order_number,
                transition,
                from,
                to,
            } => EventOf::StateChanged {
                entity: m.text(entity),
                id: m.text(id),
                order_number: order_number.map(|x| m.text(x)),
                transition: m.text(transition),
                from: m.text(from),
                to: m.text(to),
            },
            EventOf::TrackingSet {
                delivery_id,
                order_number,
                codes,
            } => EventOf::TrackingSet {
                delivery_id: m.text(delivery_id),
                order_number: order_number.map(|x| m.text(x)),
                codes: m.codes(codes),
            },
            EventOf::ErpOrderCreated {
                number,
                external_document_number,
                customer_number,
                lines,
                total_including_tax,
            } => EventOf::ErpOrderCreated {
                number: m.text(number),
                external_document_number: m.text(external_document_number),
                customer_number: m.text(customer_number),
                lines: m.lines(lines),
                total_including_tax,
            },
            EventOf::ErpOrderRejected {
                external_document_number,
                code,
                message,
            } => EventOf::ErpOrderRejected {
                external_document_number: m.text(external_document_number),
                code: m.text(code),
                message: m.text(message),
            },
            EventOf::ErpOrderUpdated {
                number,
                external_document_number,
                lines,
                total_including_tax,
            } => EventOf::ErpOrderUpdated {
                number: m.text(number),
                external_document_number: m.text(external_document_number),
                lines: m.lines(lines),
                total_including_tax,
            },
            EventOf::ErpCustomerCreated { number, email } => EventOf::ErpCustomerCreated {
                number: m.text(number),
                email: email.map(|x| m.text(x)),
            },
            EventOf::ErpShipmentPosted {
                number,
                external_document_number,
                tracking_number,
                lines,
            } => EventOf::ErpShipmentPosted {
                number: m.text(number),
                external_document_number: m.text(external_document_number),
                tracking_number: tracking_number.map(|x| m.text(x)),
                lines: m.lines(lines),
            },
            EventOf::ErpStockMoved {
                sku,
                before,
                after,
                reason,
            } => EventOf::ErpStockMoved {
                sku: m.text(sku),
                before,
                after,
                reason: m.text(reason),
            },
            EventOf::Throttled {
                route,
                status,
                retry_after_secs,
            } => EventOf::Throttled {
                route: m.text(route),
                status,
                retry_after_secs,
            },
            EventOf::Fault { route, kind, status } => EventOf::Fault {
                route: m.text(route),
                kind: m.text(kind),
                status,
            },
        }
    }
}
