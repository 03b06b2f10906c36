//! Inventory sync: ERP stock into Shopware (the ERP is the authority).
//!
//! A pass pulls the items changed since the last pass (or all of them for a
//! full pull), computes the figure to push per [`StockPolicy`], and writes it
//! either in sync-API batches (`batch_size` records, `concurrency` requests at
//! once) or one `PATCH` per SKU (the strategy kept for comparison). With
//! `skip_unchanged`, SKUs whose figure Shopware already shows are left out
//! (looked up only where the ERP's on hand has not moved since the last push;
//! a closeout shown sold out with stock is written). A batch
//! rejected for some records is resent without them (Shopware names them with
//! pointers; otherwise the batch is halved); the bad SKUs go to the exception
//! queue. 429s, 5xx and timeouts are retried with backoff, honouring
//! `Retry-After`. The item watermark only moves when every push landed, so a
//! failed push is retried by the next delta.

use std::collections::{HashMap, HashSet, VecDeque};

use futures::future::join_all;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::backoff::{Decision, RetryPolicy};
use super::batching::{split, Split};
use super::http::CallError;
use super::mapping::Owner;
use super::ports::{ErpApi, Pause, ShopApi, Shown};
use super::state::{EngineState, StateError};
use super::stock_policy::{push_figure, ErpStock, StockPolicy};

/// How stock is written to Shopware.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushStrategy {
    /// `POST /api/_action/sync` batches.
    SyncBatches,
    /// One `PATCH /api/product/{id}` per SKU.
    PerSkuPatch,
}

/// Inventory settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryConfig {
    pub batch_size: usize,
    pub concurrency: usize,
    pub policy: StockPolicy,
    pub strategy: PushStrategy,
    /// `indexing-behavior` for sync writes (None: synchronous indexing, so a
    /// restocked closeout product becomes available again).
    pub indexing: Option<String>,
    /// After a push, look for products with stock that Shopware still shows
    /// sold out (a closeout whose availability was not recomputed) and park
    /// them for review.
    #[serde(default = "yes")]
    pub flag_stale_closeouts: bool,
    /// Leave out SKUs whose figure Shopware already shows. Before each wave,
    /// read the stock Shopware shows for the SKUs whose ERP on hand has not
    /// moved since their last push, and leave out those that show their
    /// figure, can be bought, and took no order since. A write that changes
    /// nothing can still land after an order it did not count, and put that
    /// order's units back on sale (F4).
    #[serde(default = "yes")]
    pub skip_unchanged: bool,
}

fn yes() -> bool {
    true
}

impl Default for InventoryConfig {
    fn default() -> Self {
        InventoryConfig {
            batch_size: 100,
            concurrency: 2,
            policy: StockPolicy::default(),
            strategy: PushStrategy::SyncBatches,
            indexing: None,
            flag_stale_closeouts: true,
            skip_unchanged: true,
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InventoryReport {
    pub items_read: usize,
    pub pushed: usize,
    /// SKUs left out because Shopware already showed their figure.
    pub unchanged: usize,
    /// Requests sent to Shopware (retries included).
    pub requests: u32,
    pub retries: u32,
    pub honoured_retry_after: u32,
    /// SKUs Shopware refused (unknown product, invalid value).
    pub rejected: usize,
    /// SKUs not written within the retry budget (left for the next pass).
    pub unpushed: usize,
    /// Products with stock that Shopware still shows sold out.
    pub stale_closeouts: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("reading items from the ERP failed: {0}")]
    Erp(CallError),
}

const ITEMS_WATERMARK: &str = "items_watermark";
/// `createdAt` of the newest order the inventory pass has seen.
const SEEN_CURSOR: &str = "orders_seen_at";

/// Runs one pass; `full` pulls every item instead of the changes.
#[allow(clippy::too_many_arguments)]
pub async fn inventory_once(
    shop: &impl ShopApi,
    erp: &impl ErpApi,
    pause: &impl Pause,
    state: &EngineState,
    cfg: &InventoryConfig,
    retry: &RetryPolicy,
    rng: &mut impl Rng,
    full: bool,
) -> Result<InventoryReport, InventoryError> {
    let since = if full { None } else { state.get_kv(ITEMS_WATERMARK)? };
    // Acknowledgements after this mark are not in the stock figures read next.
    let mark = state.ack_mark()?;
    let (items, read_retries, read_honoured) =
        super::backoff::retrying(pause, retry, rng, || erp.items_since(since.as_deref())).await;
    let items = items.map_err(InventoryError::Erp)?;
    let stock: Vec<(&str, ErpStock)> = items
        .iter()
        .filter(|i| i.inventory)
        .map(|i| {
            let erp = ErpStock {
                on_hand: i.on_hand,
                available: i.available,
            };
            (i.number.as_str(), erp)
        })
        .collect();
    let mut report = InventoryReport {
        items_read: items.len(),
        retries: read_retries,
        honoured_retry_after: read_honoured,
        ..Default::default()
    };
    let units: Vec<&[(&str, ErpStock)]> = match cfg.strategy {
        PushStrategy::SyncBatches => stock.chunks(cfg.batch_size.max(1)).collect(),
        PushStrategy::PerSkuPatch => stock.chunks(1).collect(),
    };
    let mut outcomes = Vec::new();
    let mut unacked = Unacknowledged::at(state, mark)?;
    // A SKU whose ERP on hand moved since its last push (receipt, adjustment,
    // shipment) has a new figure: it is written without a look at Shopware.
    // The others (an order the ERP took moves only its reservations) and SKUs
    // not pushed yet are compared with what Shopware shows.
    let last_on_hand = match cfg.skip_unchanged {
        true => state.pushed_on_hand()?,
        false => HashMap::new(),
    };
    let on_hand: HashMap<&str, i64> = stock.iter().map(|(sku, erp)| (*sku, erp.on_hand)).collect();
    if cfg.skip_unchanged {
        // Orders placed since the last pass are read first, so each wave's
        // read after its stock read holds only the orders placed since the
        // wave before: only their SKUs are written whatever Shopware shows.
        unacked.read_new_orders(shop, pause, retry, rng, state).await?;
    }
    for wave in units.chunks(cfg.concurrency.max(1)) {
        // Each wave's figures are taken right before it is sent: orders placed
        // while earlier waves were pushed count too, so a full push of a large
        // catalogue does not put their units back on sale (F4).
        //
        // Shopware's stock is read before the orders, so an order placed while
        // it was read is among the orders read next, and its SKUs are written
        // whatever Shopware showed.
        let candidates: Vec<String> = match cfg.skip_unchanged {
            true => wave
                .iter()
                .flat_map(|b| b.iter())
                .filter(|(sku, erp)| last_on_hand.get(*sku).is_none_or(|h| *h == erp.on_hand))
                .map(|(sku, _)| sku.to_string())
                .collect(),
            false => Vec::new(),
        };
        let shown = match candidates.is_empty() {
            true => None,
            false => shown_stock(shop, pause, retry, rng, &candidates).await,
        };
        let touched = unacked.read_new_orders(shop, pause, retry, rng, state).await?;
        let unchanged = |sku: &str, figure: i64| match (&shown, &touched) {
            (Some(shown), Some(touched)) => {
                shown.get(sku).is_some_and(|s| s.stock == figure && !s.stale_closeout()) && !touched.contains(sku)
            }
            _ => false,
        };
        let mut batches = Vec::new();
        for batch in wave {
            let figures: Vec<(String, i64)> = batch
                .iter()
                .map(|(sku, erp)| (sku.to_string(), push_figure(cfg.policy, *erp, unacked.units(sku))))
                .collect();
            let before = figures.len();
            let figures: Vec<(String, i64)> = figures.into_iter().filter(|(sku, f)| !unchanged(sku, *f)).collect();
            report.unchanged += before - figures.len();
            if !figures.is_empty() {
                batches.push(figures);
            }
        }
        let futures = batches.into_iter().enumerate().map(|(i, batch)| {
            let seed: u64 = rng.gen();
            push_unit(shop, pause, cfg, retry, batch, format!("stock-{i}"), seed)
        });
        outcomes.extend(join_all(futures).await);
    }
    for o in outcomes {
        report.requests += o.requests;
        report.retries += o.retries;
        report.honoured_retry_after += o.honoured;
        report.pushed += o.pushed.len();
        report.unpushed += o.unpushed;
        for (sku, stock) in &o.pushed {
            state.set_pushed(sku, *stock, on_hand.get(sku.as_str()).copied().unwrap_or_default())?;
        }
        for (sku, why) in &o.rejected {
            report.rejected += 1;
            state.add_exception(sku, "stock_rejected", Owner::Ecommerce, why)?;
        }
        if let Some(e) = &o.gave_up {
            state.add_exception("inventory", "stock_push_failed", Owner::Integration, e)?;
        }
    }
    if cfg.flag_stale_closeouts && report.pushed > 0 {
        // A failed check is not worth failing the pass for: it runs again next time.
        if let (Ok(stale), _, _) = super::backoff::retrying(pause, retry, rng, || shop.stale_closeouts()).await {
            for (sku, stock) in stale {
                report.stale_closeouts += 1;
                state.add_exception(
                    &sku,
                    "closeout_unavailable",
                    Owner::Ecommerce,
                    &format!(
                        "restocked to {stock} but Shopware still shows it sold out: its available flag was not recomputed \
                         (sync with indexing disabled?); write stock with indexing, or run the product indexer"
                    ),
                )?;
            }
        }
    }
    if report.unpushed == 0 {
        if let Some(newest) = items.iter().map(|i| i.modified.as_str()).max() {
            state.set_kv(ITEMS_WATERMARK, newest)?;
        }
    }
    Ok(report)
}

/// The stock Shopware shows for these SKUs, or None if it could not be read
/// (then every SKU of the wave is written).
async fn shown_stock(
    shop: &impl ShopApi,
    pause: &impl Pause,
    retry: &RetryPolicy,
    rng: &mut impl Rng,
    skus: &[String],
) -> Option<HashMap<String, Shown>> {
    match super::backoff::retrying(pause, retry, rng, || shop.stock_of(skus)).await {
        (Ok(rows), _, _) => Some(rows.into_iter().collect()),
        (Err(_), _, _) => None,
    }
}

/// Units per SKU that the ERP's stock figures, read after `mark`, do not
/// hold yet: orders the ERP had not acknowledged by then, and orders placed
/// in Shopware since, read as the pass goes.
struct Unacknowledged {
    mark: i64,
    counted: HashSet<String>,
    units: HashMap<String, i64>,
}

impl Unacknowledged {
    fn at(state: &EngineState, mark: i64) -> Result<Self, StateError> {
        let mut u = Unacknowledged {
            mark,
            counted: Default::default(),
            units: Default::default(),
        };
        for (number, lines) in state.unacknowledged_orders_at(mark)? {
            u.count(number, &lines);
        }
        Ok(u)
    }

    fn count(&mut self, number: String, lines: &[(String, i64)]) {
        if self.counted.insert(number) {
            for (sku, qty) in lines {
                *self.units.entry(sku.clone()).or_insert(0) += qty;
            }
        }
    }

    fn units(&self, sku: &str) -> i64 {
        self.units.get(sku).copied().unwrap_or(0)
    }

    /// Reads the orders placed since the last read and counts those the ERP
    /// had not acknowledged by the mark. Returns the SKUs of every order read,
    /// or None if a page could not be read (orders may then be missing).
    ///
    /// The engine remembers the orders it has read until the export takes
    /// them, so each read covers only the orders placed since the one before,
    /// however far the export is behind. A failed read is not worth failing
    /// the pass for: the figure is then as of the read before.
    async fn read_new_orders(
        &mut self,
        shop: &impl ShopApi,
        pause: &impl Pause,
        retry: &RetryPolicy,
        rng: &mut impl Rng,
        state: &EngineState,
    ) -> Result<Option<HashSet<String>>, InventoryError> {
        let since = match state.get_kv(SEEN_CURSOR)? {
            Some(c) => Some(c),
            None => state.watermark()?.created_at,
        };
        let mut newest: Option<String> = None;
        let mut touched = Some(HashSet::new());
        for page in 1.. {
            let criteria = super::export::recent_orders_criteria(since.as_deref(), page);
            let (Ok(recent), _, _) =
                super::backoff::retrying(pause, retry, rng, || shop.search_orders(&criteria)).await
            else {
                touched = None;
                break;
            };
            for order in &recent {
                let number = order.get("orderNumber").and_then(Value::as_str).unwrap_or_default();
                let lines = super::export::order_lines(order);
                if let Some(t) = touched.as_mut() {
                    t.extend(lines.iter().map(|(sku, _)| sku.clone()));
                }
                if !self.counted.contains(number) && state.unacknowledged_by(number, self.mark)? {
                    state.note_seen(number, &lines)?;
                    self.count(number.to_string(), &lines);
                }
                if let Some(ts) = order.get("createdAt").and_then(Value::as_str) {
                    newest = Some(ts.to_string());
                }
            }
            if recent.len() < super::export::RECENT_PAGE {
                break;
            }
        }
        // Sorted by createdAt: the last order read is the newest. The next read
        // starts at its instant (orders sharing it are read again, and known).
        if let Some(ts) = &newest {
            state.set_kv(SEEN_CURSOR, ts)?;
        }
        Ok(touched)
    }
}

#[derive(Debug, Default)]
struct UnitOutcome {
    pushed: Vec<(String, i64)>,
    rejected: Vec<(String, String)>,
    unpushed: usize,
    requests: u32,
    retries: u32,
    honoured: u32,
    gave_up: Option<String>,
}

/// Pushes one batch (or one SKU), isolating bad records and retrying transient failures.
async fn push_unit(
    shop: &impl ShopApi,
    pause: &impl Pause,
    cfg: &InventoryConfig,
    retry: &RetryPolicy,
    batch: Vec<(String, i64)>,
    op_key: String,
    seed: u64,
) -> UnitOutcome {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = UnitOutcome::default();
    let mut queue: VecDeque<Vec<(String, i64)>> = VecDeque::from([batch]);
    while let Some(part) = queue.pop_front() {
        let mut attempt = 0;
        loop {
            attempt += 1;
            out.requests += 1;
            let result = match cfg.strategy {
                PushStrategy::SyncBatches => shop.push_stock(&op_key, &part, cfg.indexing.as_deref()).await,
                PushStrategy::PerSkuPatch => shop.patch_stock(&part[0].0, part[0].1).await,
            };
            match result {
                Ok(()) => {
                    out.pushed.extend(part.iter().cloned());
                    break;
                }
                Err(e) if e.status() == Some(400) || e.status() == Some(404) => {
                    let pointers = error_pointers(&e);
                    match split(&op_key, part.len(), &pointers) {
                        Split::Isolated { bad, retry } => {
                            for i in &bad {
                                out.rejected.push((part[*i].0.clone(), e.to_string()));
                            }
                            if !retry.is_empty() {
                                queue.push_back(retry.iter().map(|i| part[*i].clone()).collect());
                            }
                        }
                        Split::Halves(a, b) => {
                            queue.push_back(a.iter().map(|i| part[*i].clone()).collect());
                            queue.push_back(b.iter().map(|i| part[*i].clone()).collect());
                        }
                        Split::Single(_) => out.rejected.push((part[0].0.clone(), e.to_string())),
                    }
                    break;
                }
                Err(e) => match retry.decide(attempt, e.outcome(), e.retry_after(), &mut rng) {
                    Decision::RetryAfter { wait, honoured_header } => {
                        out.retries += 1;
                        out.honoured += u32::from(honoured_header);
                        pause.pause(wait).await;
                    }
                    Decision::GiveUp => {
                        out.unpushed += part.len();
                        out.gave_up = Some(e.to_string());
                        break;
                    }
                },
            }
        }
    }
    out
}

/// The `source.pointer`s of a Shopware error body.
fn error_pointers(e: &CallError) -> Vec<String> {
    match e {
        CallError::Status { body, .. } => body
            .get("errors")
            .and_then(Value::as_array)
            .map(|errs| {
                errs.iter()
                    .filter_map(|x| x.pointer("/source/pointer").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
