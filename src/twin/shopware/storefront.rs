//! The storefront side of the Shopware twin: how the traffic driver places
//! orders and changes states directly, not through the Admin API.
//!
//! A placed order goes through [`super::checkout`] (the twin computes its own
//! prices and refuses what the shop would refuse), then 6.6 stock handling takes
//! its units at placement. Each placement or refusal is an observation.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use super::checkout::{build_order, insert_order, BuildContext, Cart, CheckoutError};
use super::routes::{sku_quantities, stock_event};
use super::stock;
use super::twin::ShopwareTwin;
use crate::observe::Event;

/// An order the storefront accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedOrder {
    pub order_id: String,
    pub order_number: String,
    /// The order's gross total as the twin computed it.
    pub amount_total: f64,
}

impl ShopwareTwin {
    /// Places an order now (scenario time) from a cart.
    pub fn place_order(&self, cart: &Cart) -> Result<PlacedOrder, CheckoutError> {
        let at = self.clock.now();
        let now_ts = self.timestamp(at);
        let mut store = self.write();
        // The store lock serialises placements, so the number is taken only on success.
        let (mut rng, number) = {
            let mut c = self.control();
            (ChaCha8Rng::seed_from_u64(c.rng.gen()), c.next_order_number)
        };
        let ctx = BuildContext {
            rng: &mut rng,
            now: now_ts,
            order_number: number.to_string(),
        };
        let rows = match build_order(&store, cart, ctx) {
            Ok(rows) => rows,
            Err(e) => {
                drop(store);
                let sku = match &e {
                    CheckoutError::NotAvailable(n) | CheckoutError::UnknownProduct(n) | CheckoutError::Inactive(n) => {
                        n.clone()
                    }
                    CheckoutError::InsufficientStock { product_number, .. } => product_number.clone(),
                    _ => String::new(),
                };
                self.observe(
                    at,
                    Event::OrderRefused {
                        sku,
                        reason: e.to_string(),
                    },
                );
                return Err(e);
            }
        };
        self.control().next_order_number = number + 1;
        let order_id = rows.order_id().to_string();
        let takes = rows.stock_takes.clone();
        insert_order(&mut store, rows);
        let changes: Vec<_> = takes
            .iter()
            .filter_map(|t| stock::apply_delta(&mut store, &t.product_id, -t.quantity, true))
            .collect();
        let order = store.get("order", &order_id);
        let amount_total = order
            .and_then(|o| o.get("amountTotal").and_then(Value::as_f64))
            .unwrap_or(0.0);
        let lines = sku_quantities(&store, &order_id);
        drop(store);
        self.observe(
            at,
            Event::OrderPlaced {
                order_id: order_id.clone(),
                order_number: number.to_string(),
                guest: cart.customer.guest,
                lines,
                gross: amount_total,
            },
        );
        for c in &changes {
            self.observe(at, stock_event(c, "order"));
        }
        Ok(PlacedOrder {
            order_id,
            order_number: number.to_string(),
            amount_total,
        })
    }

    /// Runs a state transition now from the storefront or back office side
    /// (a customer cancelling, a shop clerk completing an order).
    pub fn storefront_transition(&self, entity: &'static str, id: &str, action: &str) -> Result<String, String> {
        self.transition(entity, id, action, self.clock.now())
            .map_err(|e| e.detail.clone())
    }
}
