//! Order export: Shopware orders into the ERP, each exactly once.
//!
//! One pass reads the next page of orders after the watermark, maps each, and
//! posts it through the outbox: marked pending before the post, created after.
//! The careful strategy looks the order up in the ERP by external document
//! number before every post (including retries after a timeout, when the ERP
//! may have committed); the naive strategy does not, and duplicates orders
//! when a commit is followed by a timeout (F9). An order that cannot be mapped
//! or is rejected goes to the exception queue and never blocks the ones behind.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::backoff::{Decision, RetryPolicy};
use super::http::CallError;
use super::mapping::{map_order, MappingConfig, MappingIssue, Owner};
use super::ports::{ErpApi, Pause, ShopApi};
use super::state::{EngineState, OutboxStatus, StateError};
use crate::clock::serde_duration;

/// Export settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportConfig {
    /// Orders per page.
    pub page_size: usize,
    /// Re-read this far behind the watermark for late commits.
    #[serde(with = "serde_duration")]
    pub overlap: Duration,
    /// Look the order up in the ERP before creating it (the careful strategy).
    pub lookup_before_create: bool,
    /// Pages read in one pass while they come back full, so a backlog drains
    /// in one pass instead of one page per interval.
    #[serde(default = "super::config::one")]
    pub pages_per_pass: usize,
    /// Orders exported at once. Business Central runs 5 requests per user at a
    /// time and queues the rest, so 2-4 keeps the queue short.
    #[serde(default = "super::config::one")]
    pub concurrency: usize,
}

impl Default for ExportConfig {
    fn default() -> Self {
        ExportConfig {
            page_size: 100,
            overlap: Duration::from_secs(120),
            lookup_before_create: true,
            pages_per_pass: 1,
            concurrency: 1,
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    pub read: usize,
    pub created: usize,
    /// Already in the ERP (found by the lookup).
    pub found: usize,
    pub exceptions: usize,
    /// Left pending: the ERP did not answer within the retry budget.
    pub pending: usize,
    pub retries: u32,
    pub honoured_retry_after: u32,
}

impl ExportReport {
    /// Adds one order's counts (`read` is counted per page, not per order).
    fn absorb(&mut self, r: &ExportReport) {
        self.created += r.created;
        self.found += r.found;
        self.exceptions += r.exceptions;
        self.pending += r.pending;
        self.retries += r.retries;
        self.honoured_retry_after += r.honoured_retry_after;
    }
}

/// An engine failure that stops the pass (its own state is unusable).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("reading orders from Shopware failed: {0}")]
    Shop(CallError),
}

/// The exception category and owner of an ERP rejection.
pub fn classify_rejection(e: &CallError) -> (&'static str, Owner) {
    let code = match e {
        CallError::Status { body, .. } => body.pointer("/error/code").and_then(Value::as_str).unwrap_or(""),
        _ => "",
    };
    match code {
        "Internal_InvalidTableRelation" => ("unmapped_sku", Owner::Operations),
        "Application_StringExceededLength" => ("field_too_long", Owner::Integration),
        c if c.contains("TaxCode") || c.contains("Tax") => ("unmapped_tax_code", Owner::Finance),
        c if c.contains("Customer") => ("customer", Owner::Integration),
        _ => ("erp_rejected", Owner::Integration),
    }
}

fn issue_category(i: &MappingIssue) -> &'static str {
    match i {
        MappingIssue::PromotionWithoutItem { .. } => "promotion_without_item",
        MappingIssue::UnmappedTaxRate { .. } => "unmapped_tax_rate",
        MappingIssue::UnsupportedLine { .. } => "unsupported_line",
        MappingIssue::ProductWithoutNumber { .. } => "product_without_number",
        MappingIssue::MissingCustomer => "missing_customer",
    }
}

/// The search criteria of an export page: the watermark's, reading only ids
/// and timestamps (the overlap re-reads orders already handed out; only the
/// fresh ones are then fetched whole, see [`orders_criteria`]).
pub fn page_criteria(state: &EngineState, cfg: &ExportConfig) -> Result<Value, StateError> {
    let mut c = state.watermark()?.criteria(cfg.page_size, cfg.overlap);
    c["includes"] = json!({"order": ["id", "createdAt"]});
    Ok(c)
}

/// Criteria for whole orders by id, with the associations the mapping needs.
pub fn orders_criteria(ids: &[String]) -> Value {
    json!({
        "ids": ids,
        "limit": ids.len().max(1),
        "associations": {"lineItems": {}, "orderCustomer": {"associations": {"customer": {}}}},
    })
}

/// Orders per page of [`recent_orders_criteria`] (Shopware's maximum).
pub const RECENT_PAGE: usize = 500;

/// Criteria for page `page` (1-based) of the orders created at or after
/// `since` (all orders without it), with their line items. Sorted, so pages do
/// not shift while orders arrive at the end.
pub fn recent_orders_criteria(since: Option<&str>, page: usize) -> Value {
    let mut c = json!({
        "limit": RECENT_PAGE,
        "page": page.max(1),
        "sort": [{"field": "createdAt", "order": "ASC"}, {"field": "id", "order": "ASC"}],
        "associations": {"lineItems": {}},
        "includes": {"order": ["id", "orderNumber", "createdAt", "lineItems"], "order_line_item": ["type", "quantity", "payload"]},
        "total-count-mode": 0,
    });
    if let Some(ts) = since {
        c["filter"] = json!([{"type": "range", "field": "createdAt", "parameters": {"gte": ts}}]);
    }
    c
}

/// Runs one export pass.
#[allow(clippy::too_many_arguments)]
pub async fn export_once(
    shop: &impl ShopApi,
    erp: &impl ErpApi,
    pause: &impl Pause,
    state: &EngineState,
    cfg: &ExportConfig,
    mapping: &MappingConfig,
    retry: &RetryPolicy,
    rng: &mut (impl Rng + Send),
) -> Result<ExportReport, ExportError> {
    let mut report = ExportReport::default();
    // Orders left in flight by a previous (killed) run come first.
    for entry in state.outbox_with(OutboxStatus::Pending)? {
        let by_id = json!({"ids": [entry.order_id], "associations": {"lineItems": {}, "orderCustomer": {"associations": {"customer": {}}}}});
        let (orders, retries, honoured) =
            super::backoff::retrying(pause, retry, rng, || shop.search_orders(&by_id)).await;
        report.retries += retries;
        report.honoured_retry_after += honoured;
        let orders = orders.map_err(ExportError::Shop)?;
        if let Some(order) = orders.first() {
            export_order(order, erp, pause, state, cfg, mapping, retry, rng, &mut report).await?;
        }
    }
    for _ in 0..cfg.pages_per_pass.max(1) {
        let criteria = page_criteria(state, cfg)?;
        let (page, retries, honoured) =
            super::backoff::retrying(pause, retry, rng, || shop.search_orders(&criteria)).await;
        report.retries += retries;
        report.honoured_retry_after += honoured;
        let page = page.map_err(ExportError::Shop)?;
        report.read += page.len();
        let mut wm = state.watermark()?;
        let rows: Vec<(String, String)> = page
            .iter()
            .map(|o| {
                (
                    o["id"].as_str().unwrap_or_default().to_string(),
                    o["createdAt"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let full = page.len() >= cfg.page_size;
        let fresh = wm.advance(&rows, full, cfg.overlap);
        if !fresh.is_empty() {
            let by_ids = orders_criteria(&fresh);
            let (orders, retries, honoured) =
                super::backoff::retrying(pause, retry, rng, || shop.search_orders(&by_ids)).await;
            report.retries += retries;
            report.honoured_retry_after += honoured;
            let orders = orders.map_err(ExportError::Shop)?;
            // In the order the page listed them (createdAt, id).
            let mut ordered: Vec<&Value> = Vec::with_capacity(orders.len());
            for id in &fresh {
                ordered.extend(orders.iter().find(|o| o["id"].as_str() == Some(id.as_str())));
            }
            export_all(&ordered, erp, pause, state, cfg, mapping, retry, rng, &mut report).await?;
        }
        // Saved only once the page's orders are in the outbox: a crash before
        // re-reads the page, and the outbox keeps the exports exactly-once.
        state.save_watermark(&wm)?;
        if !full {
            break;
        }
    }
    Ok(report)
}

/// Exports `orders`, `cfg.concurrency` at a time. Each order gets its own
/// random stream drawn in order from `rng`, so retries' jitter stays
/// deterministic for one seed whatever order the exports finish in.
#[allow(clippy::too_many_arguments)]
async fn export_all(
    orders: &[&Value],
    erp: &impl ErpApi,
    pause: &impl Pause,
    state: &EngineState,
    cfg: &ExportConfig,
    mapping: &MappingConfig,
    retry: &RetryPolicy,
    rng: &mut (impl Rng + Send),
    report: &mut ExportReport,
) -> Result<(), ExportError> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    let seeds: Vec<u64> = orders.iter().map(|_| rng.gen()).collect();
    let results: Vec<ExportReport> = stream::iter(orders.iter().zip(seeds))
        .map(|(order, seed)| async move {
            let mut own = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut r = ExportReport::default();
            export_order(order, erp, pause, state, cfg, mapping, retry, &mut own, &mut r).await?;
            Ok::<_, ExportError>(r)
        })
        .buffered(cfg.concurrency.max(1))
        .try_collect()
        .await?;
    for r in &results {
        report.absorb(r);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn export_order(
    order: &Value,
    erp: &impl ErpApi,
    pause: &impl Pause,
    state: &EngineState,
    cfg: &ExportConfig,
    mapping: &MappingConfig,
    retry: &RetryPolicy,
    rng: &mut (impl Rng + Send),
    report: &mut ExportReport,
) -> Result<(), ExportError> {
    let number = order["orderNumber"].as_str().unwrap_or_default().to_string();
    let id = order["id"].as_str().unwrap_or_default().to_string();
    let lines = order_lines(order);
    let draft = match map_order(order, mapping) {
        Ok(d) => d,
        Err(issues) => {
            for i in &issues {
                state.add_exception(&number, issue_category(i), i.owner(), &i.to_string())?;
            }
            state.begin(&number, &id, &lines)?;
            state.failed(&number)?;
            report.exceptions += 1;
            return Ok(());
        }
    };
    if let Some(prev) = state.begin(&number, &id, &lines)? {
        if prev.status == OutboxStatus::Created {
            return Ok(());
        }
    }
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        if cfg.lookup_before_create {
            match erp.find_order(&number).await {
                Ok(Some(erp_number)) => {
                    state.created(&number, &erp_number)?;
                    state.resolve_subject(&number, "erp_unavailable")?;
                    report.found += 1;
                    return Ok(());
                }
                Ok(None) => {}
                Err(e) => {
                    if !wait_or_give_up(&e, attempt, pause, retry, rng, report).await {
                        report.pending += 1;
                        return Ok(());
                    }
                    continue;
                }
            }
        }
        match erp.create_order(&draft).await {
            Ok(erp_number) => {
                state.created(&number, &erp_number)?;
                state.resolve_subject(&number, "erp_unavailable")?;
                report.created += 1;
                return Ok(());
            }
            Err(e) if super::backoff::retryable(e.outcome()) => {
                if !wait_or_give_up(&e, attempt, pause, retry, rng, report).await {
                    // Still pending: the next pass looks it up again.
                    state.add_exception(&number, "erp_unavailable", Owner::Integration, &e.to_string())?;
                    report.pending += 1;
                    return Ok(());
                }
            }
            Err(e) => {
                let (category, owner) = classify_rejection(&e);
                state.add_exception(&number, category, owner, &e.to_string())?;
                state.failed(&number)?;
                report.exceptions += 1;
                return Ok(());
            }
        }
    }
}

/// Units per productNumber of an order's product lines (nested ones included).
pub fn order_lines(order: &Value) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = Vec::new();
    for li in order.get("lineItems").and_then(Value::as_array).into_iter().flatten() {
        if li.get("type").and_then(Value::as_str) != Some("product") {
            continue;
        }
        let Some(sku) = li.pointer("/payload/productNumber").and_then(Value::as_str) else {
            continue;
        };
        let qty = li.get("quantity").and_then(Value::as_i64).unwrap_or(0);
        match out.iter_mut().find(|(s, _)| s == sku) {
            Some(e) => e.1 += qty,
            None => out.push((sku.to_string(), qty)),
        }
    }
    out
}

/// Waits before the next attempt; false when the retry budget is spent.
async fn wait_or_give_up(
    e: &CallError,
    attempt: u32,
    pause: &impl Pause,
    retry: &RetryPolicy,
    rng: &mut (impl Rng + Send),
    report: &mut ExportReport,
) -> bool {
    match retry.decide(attempt, e.outcome(), e.retry_after(), rng) {
        Decision::GiveUp => false,
        Decision::RetryAfter { wait, honoured_header } => {
            report.retries += 1;
            if honoured_header {
                report.honoured_retry_after += 1;
            }
            pause.pause(wait).await;
            true
        }
    }
}

#[cfg(test)]
mod tests;
