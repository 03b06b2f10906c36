//! The stock figure the engine pushes to Shopware (ERP.md §3, §5).
//!
//! Shopware 6.6 takes stock off when an order is placed. Pushing the ERP's on
//! hand while some of those orders have not reached the ERP puts their units
//! back (stock resurrection, F4). The safe figure is the ERP's available stock
//! minus what Shopware has sold that the ERP has not acknowledged yet, minus a
//! safety buffer; the naive figure is kept to show the failure.

use serde::{Deserialize, Serialize};

/// Which figure to push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case", deny_unknown_fields)]
pub enum StockPolicy {
    /// ERP available − units in Shopware orders not yet acknowledged − buffer.
    AvailableMinusUnacknowledged { buffer: i64 },
    /// ERP on hand as is (naive; resurrects sold units).
    OnHand,
}

impl Default for StockPolicy {
    fn default() -> Self {
        StockPolicy::AvailableMinusUnacknowledged { buffer: 0 }
    }
}

/// The ERP's view of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErpStock {
    pub on_hand: i64,
    /// On hand minus open ERP order quantity.
    pub available: i64,
}

/// The figure to write to `product.stock`.
pub fn push_figure(policy: StockPolicy, erp: ErpStock, unacknowledged: i64) -> i64 {
    match policy {
        StockPolicy::OnHand => erp.on_hand.max(0),
        StockPolicy::AvailableMinusUnacknowledged { buffer } => (erp.available - unacknowledged - buffer).max(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_push_resurrects_units_sold_but_not_yet_exported() {
        // ERP: 10 on hand, 2 already on open ERP orders. Shopware sold 3 more not yet exported.
        let erp = ErpStock {
            on_hand: 10,
            available: 8,
        };
        assert_eq!(push_figure(StockPolicy::OnHand, erp, 3), 10, "5 units resurrected");
        assert_eq!(push_figure(StockPolicy::default(), erp, 3), 5);
        assert_eq!(
            push_figure(StockPolicy::AvailableMinusUnacknowledged { buffer: 2 }, erp, 3),
            3
        );
        assert_eq!(
            push_figure(StockPolicy::AvailableMinusUnacknowledged { buffer: 9 }, erp, 3),
            0,
            "never negative"
        );
    }
}
