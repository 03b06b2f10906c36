//! What the end of a run reads out of the twins for reconciliation: the
//! Shopware twin's orders, deliveries, stale closeouts and stock, and the ERP
//! twin's orders, available stock, items and fulfilments. Both are read from
//! the records [`super::orchestrate`] takes out of the twins, one twin after
//! the other (a peak day's state would take hundreds of MB to clone).

use std::collections::BTreeMap;

use crate::reconcile::shipments::{fulfilments, ErpFulfilment, OrderShipped, ShopDelivery};
use crate::reconcile::{erp_order, ErpOrder, OrderFigures, ShopOrder};
use crate::twin::erp::ErpState;
use crate::twin::shopware::store::Store;

/// What the end of a run reads out of the Shopware twin.
pub(super) struct ShopEnd {
    pub(super) orders: Vec<ShopOrder>,
    pub(super) deliveries: Vec<ShopDelivery>,
    pub(super) stale_closeouts: Vec<(String, i64)>,
    /// Stock per product number, every product.
    pub(super) stock: BTreeMap<String, i64>,
}

impl ShopEnd {
    /// Reads the store's order tables out of it, each freed once read.
    pub(super) fn read(store: &mut Store) -> ShopEnd {
        let (orders, deliveries) = crate::reconcile::take_orders_and_deliveries(store);
        ShopEnd {
            orders,
            deliveries,
            stale_closeouts: crate::reconcile::stale_closeouts(store),
            stock: crate::reconcile::shop_stock(store),
        }
    }
}

/// What the end of a run reads out of the ERP twin's records.
pub(super) struct ErpEnd {
    pub(super) orders: Vec<ErpOrder>,
    /// Available stock per inventory item.
    pub(super) available: BTreeMap<String, i64>,
    /// Item number → blocked.
    pub(super) items: BTreeMap<String, bool>,
    pub(super) fulfilments: Vec<ErpFulfilment>,
}

impl ErpEnd {
    pub(super) fn read(state: &ErpState) -> ErpEnd {
        // Each order decoded once (most rest packed) for both reconciliations.
        let (orders, shipped): (Vec<ErpOrder>, Vec<OrderShipped>) = state
            .orders
            .scan::<OrderFigures>()
            .map(|o| (erp_order(&o), OrderShipped::of(&o)))
            .unzip();
        ErpEnd {
            orders,
            available: state
                .items
                .iter()
                .filter(|(_, i)| i.item_type.as_str() == "Inventory")
                .map(|(sku, i)| (sku.clone(), i.available()))
                .collect(),
            items: state
                .items
                .iter()
                .map(|(number, item)| (number.clone(), item.blocked))
                .collect(),
            fulfilments: fulfilments(state, shipped.into_iter()),
        }
    }
}
