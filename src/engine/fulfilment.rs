//! Fulfilment sync: ERP shipments back to Shopware (F11).
//!
//! For each shipment posted since the last pass: find the order's delivery,
//! add the tracking number to its codes, move the delivery to `shipped` or
//! `shipped_partially` and the order to `in_progress` / `completed`, using only
//! transitions the state tables allow from the current state. Anything that
//! cannot be done (no such order, a transition the tables forbid) becomes an
//! exception, never a crash. The decision is the pure [`plan`].
//!
//! The naive strategies, kept to show F11: [`Transitions::Blind`] sends `ship`
//! and `process` (or `complete`) for every shipment whatever the states, so a
//! partial shipment marks the whole delivery shipped and a second shipment is
//! refused as an illegal transition; [`Tracking::Replace`] writes only the
//! newest tracking code, so the first parcel's code is lost.

use serde::{Deserialize, Serialize};

use super::backoff::RetryPolicy;
use super::http::CallError;
use super::mapping::Owner;
use super::ports::{ErpApi, Pause, Shipment, ShopApi};
use super::state::{EngineState, StateError};

/// Which state transitions a shipment triggers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transitions {
    /// Only those the state tables allow from the current states, partial
    /// shipments as `ship_partially` ([`plan`]).
    #[default]
    Planned,
    /// `ship` on the delivery and `process` (or `complete`) on the order for
    /// every shipment, whatever the states (naive).
    Blind,
}

/// How a shipment's tracking number is written to the delivery.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tracking {
    /// Added to the codes already there (one per parcel).
    #[default]
    Append,
    /// Written as the only code (naive: `PATCH trackingCodes` replaces the list,
    /// so a split order keeps only its last parcel's code).
    Replace,
}

/// Fulfilment settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FulfilmentConfig {
    /// Send Shopware's customer mails on transitions.
    pub send_mail: bool,
    /// Complete the order when everything has shipped.
    pub complete_orders: bool,
    #[serde(default)]
    pub transitions: Transitions,
    #[serde(default)]
    pub tracking: Tracking,
    /// Orders whose shipments are written at once (one order's shipments
    /// always one after the other, so its transitions stay in order).
    #[serde(default = "super::config::one")]
    pub concurrency: usize,
}

impl Default for FulfilmentConfig {
    fn default() -> Self {
        FulfilmentConfig {
            send_mail: false,
            complete_orders: true,
            transitions: Transitions::Planned,
            tracking: Tracking::Append,
            concurrency: 1,
        }
    }
}

/// One state change to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Delivery(&'static str),
    Order(&'static str),
}

/// The transitions that bring a delivery and its order in line with what has
/// shipped, from their current states. Pure.
pub fn plan(delivery_state: &str, order_state: &str, fully_shipped: bool, complete_orders: bool) -> Vec<Step> {
    let mut steps = Vec::new();
    match (delivery_state, fully_shipped) {
        ("open" | "shipped_partially", true) => steps.push(Step::Delivery("ship")),
        ("open", false) => steps.push(Step::Delivery("ship_partially")),
        _ => {}
    }
    let mut order = order_state;
    if order == "open" {
        steps.push(Step::Order("process"));
        order = "in_progress";
    }
    if fully_shipped && complete_orders && order == "in_progress" {
        steps.push(Step::Order("complete"));
    }
    steps
}

/// The naive steps for any shipment: the delivery shipped, the order moved on,
/// without looking at either state.
pub fn blind(complete_orders: bool) -> Vec<Step> {
    vec![
        Step::Delivery("ship"),
        Step::Order(if complete_orders { "complete" } else { "process" }),
    ]
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FulfilmentReport {
    pub shipments: usize,
    pub tracking_set: usize,
    pub transitions: usize,
    pub exceptions: usize,
}

impl FulfilmentReport {
    fn absorb(&mut self, r: &FulfilmentReport) {
        self.shipments += r.shipments;
        self.tracking_set += r.tracking_set;
        self.transitions += r.transitions;
        self.exceptions += r.exceptions;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FulfilmentError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("reading shipments from the ERP failed: {0}")]
    Erp(CallError),
}

const SHIPMENTS_WATERMARK: &str = "shipments_watermark";

/// Runs one pass.
pub async fn fulfil_once(
    shop: &impl ShopApi,
    erp: &impl ErpApi,
    pause: &impl Pause,
    state: &EngineState,
    cfg: &FulfilmentConfig,
    retry: &RetryPolicy,
    rng: &mut impl rand::Rng,
) -> Result<FulfilmentReport, FulfilmentError> {
    let since = state.get_kv(SHIPMENTS_WATERMARK)?;
    let (shipments, _, _) = super::backoff::retrying(pause, retry, rng, || erp.shipments_since(since.as_deref())).await;
    let shipments = shipments.map_err(FulfilmentError::Erp)?;
    // One group per order, in the order the ERP posted them; groups run
    // `concurrency` at a time, each order's shipments one after the other.
    let mut groups: Vec<Vec<&Shipment>> = Vec::new();
    let mut group_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for s in &shipments {
        let g = *group_of.entry(s.external_document_number.as_str()).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(s);
    }
    use futures::stream::{self, StreamExt, TryStreamExt};
    let results: Vec<(FulfilmentReport, bool)> = stream::iter(groups)
        .map(|group| async move {
            let mut r = FulfilmentReport::default();
            let mut done = true;
            for s in group {
                done &= fulfil_shipment(s, shop, state, cfg, &mut r).await?;
            }
            Ok::<_, StateError>((r, done))
        })
        .buffered(cfg.concurrency.max(1))
        .try_collect()
        .await?;
    let mut report = FulfilmentReport::default();
    let mut all_done = true;
    for (r, done) in &results {
        report.absorb(r);
        all_done &= done;
    }
    if all_done {
        if let Some(n) = shipments.iter().map(|s| s.posted.as_str()).max() {
            if since.as_deref().is_none_or(|since| n > since) {
                state.set_kv(SHIPMENTS_WATERMARK, n)?;
            }
        }
    }
    Ok(report)
}

/// Writes one shipment into Shopware: tracking, then the transitions that
/// bring the delivery and order in line. False when Shopware did not answer
/// (the shipment is forgotten, so the next pass tries again).
async fn fulfil_shipment(
    s: &Shipment,
    shop: &impl ShopApi,
    state: &EngineState,
    cfg: &FulfilmentConfig,
    report: &mut FulfilmentReport,
) -> Result<bool, StateError> {
    if !state.record_shipment(&s.number, &s.external_document_number, &s.lines)? {
        return Ok(true);
    }
    let order = &s.external_document_number;
    let fail = |state: &EngineState, category: &str, detail: String| {
        state.add_exception(order, category, Owner::Operations, &detail)
    };
    let found = shop.delivery_of(order).await;
    if found.is_ok() {
        report.shipments += 1;
    }
    let delivery = match found {
        Ok(Some(d)) => d,
        Ok(None) => {
            fail(
                state,
                "shipment_without_order",
                format!(
                    "shipment {} names order {order}, which Shopware does not have",
                    s.number
                ),
            )?;
            report.exceptions += 1;
            return Ok(true);
        }
        Err(e) => {
            state.add_exception(order, "shop_unavailable", Owner::Integration, &e.to_string())?;
            state.forget_shipment(&s.number)?;
            return Ok(false);
        }
    };
    if let Some(code) = &s.tracking_number {
        if !delivery.tracking_codes.contains(code) {
            let mut codes = match cfg.tracking {
                Tracking::Append => delivery.tracking_codes.clone(),
                Tracking::Replace => Vec::new(),
            };
            codes.push(code.clone());
            match shop.set_tracking(&delivery.delivery_id, &codes).await {
                Ok(()) => report.tracking_set += 1,
                Err(e) => {
                    fail(state, "tracking_not_set", e.to_string())?;
                    report.exceptions += 1;
                }
            }
        }
    }
    let (shipped, ordered) = state.shipped_and_ordered(order)?;
    let fully = ordered > 0 && shipped >= ordered;
    let steps = match cfg.transitions {
        Transitions::Planned => plan(
            &delivery.delivery_state,
            &delivery.order_state,
            fully,
            cfg.complete_orders,
        ),
        Transitions::Blind => blind(cfg.complete_orders),
    };
    for step in steps {
        let (entity, id, action) = match step {
            Step::Delivery(a) => ("order_delivery", delivery.delivery_id.as_str(), a),
            Step::Order(a) => ("order", delivery.order_id.as_str(), a),
        };
        match shop.transition(entity, id, action).await {
            Ok(_) => report.transitions += 1,
            Err(e) => {
                fail(state, "illegal_transition", format!("{entity} {action}: {e}"))?;
                report.exceptions += 1;
                break;
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_follow_the_state_tables() {
        use Step::*;
        assert_eq!(
            plan("open", "open", true, true),
            vec![Delivery("ship"), Order("process"), Order("complete")]
        );
        assert_eq!(
            plan("open", "open", false, true),
            vec![Delivery("ship_partially"), Order("process")]
        );
        assert_eq!(
            plan("shipped_partially", "in_progress", true, true),
            vec![Delivery("ship"), Order("complete")]
        );
        assert_eq!(
            plan("shipped_partially", "in_progress", false, true),
            Vec::<Step>::new(),
            "already partially shipped"
        );
        assert_eq!(
            plan("shipped", "completed", true, true),
            Vec::<Step>::new(),
            "a repeated shipment changes nothing"
        );
        assert_eq!(
            plan("open", "open", true, false),
            vec![Delivery("ship"), Order("process")]
        );
        // A cancelled order is not moved: the planned steps would be illegal, so none are planned.
        assert_eq!(plan("cancelled", "cancelled", true, true), Vec::<Step>::new());
    }
}
