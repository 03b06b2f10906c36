//! Recording a live shop: `synctwin record` reads the orders placed in a time
//! window and the product catalogue from a Shopware Admin API and writes a
//! trace that `synctwin run` replays (see [`crate::scenario::trace`]).
//!
//! # Layout
//!
//! - [`fetch`]: the Admin API reads (token, criteria, pages, retries);
//! - [`convert`]: orders, products and currencies into carts and snapshots;
//! - [`pseudonym`]: consistent pseudonyms for the personal data.
//!
//! # What the trace holds
//!
//! A catalogue header (every currency and product), then one `place_order`
//! per order placed in `[from, to)` at its `orderDateTime` minus `from`, and a
//! `cancel_order` for each order cancelled before `to` (at its `updatedAt`,
//! Shopware's last change: the Admin API keeps no cheaper record of when).
//! Orders are read oldest first and written as they come, through a hidden
//! side file next to the trace that is joined after the header once the
//! catalogue is read (a long window is never held in memory); the trace
//! appears only when complete, and a failed recording leaves nothing behind.
//!
//! A product's `stock` in the header is the stock the window started with, as
//! far as orders tell: its stock when recorded plus the units every order
//! placed since `from` took (the window's and, read lightly, the later ones;
//! cancelled orders gave theirs back). Receipts and corrections booked since
//! `from` are not in the Admin API's orders, so a window that ends near the
//! recording keeps the figure closest to the truth.
//!
//! Personal data (names, e-mails, addresses, phone numbers, companies, VAT ids,
//! customer numbers, configurator texts) is pseudonymised unless told not to.

pub mod convert;
pub mod fetch;
pub mod pseudonym;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;
use time::OffsetDateTime;

use crate::clock::Speed;
use crate::engine::http::CallError;
use crate::scenario::recorded::ProductSnapshot;
use crate::scenario::trace::{TraceEvent, TraceWriter};
use fetch::{FetchStats, Fetcher};
use pseudonym::Pseudonymiser;

/// What to record and where. `Debug` leaves the secret out.
#[derive(Clone)]
pub struct RecordOptions {
    /// The shop's root URL (a trailing `/api` is fine).
    pub shopware_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// Start of the window (inclusive).
    pub from: OffsetDateTime,
    /// End of the window (exclusive).
    pub to: OffsetDateTime,
    pub output: PathBuf,
    /// None: personal data is written as it is.
    pub pseudonymiser: Option<Pseudonymiser>,
    /// Rows per Admin API page (1..=500).
    pub page_size: usize,
    pub timeout: Duration,
    /// The shop's clock speed: 1 for a real shop, a twin's `--speed` for a twin.
    pub speed: Speed,
}

impl std::fmt::Debug for RecordOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordOptions")
            .field("shopware_url", &self.shopware_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("output", &self.output)
            .field("pseudonymised", &self.pseudonymiser.is_some())
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

/// What a recording holds and what it cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RecordSummary {
    pub orders: u64,
    pub guest_orders: u64,
    pub promotion_orders: u64,
    pub configurator_orders: u64,
    /// Distinct customer e-mails.
    pub customers: u64,
    pub cancelled_in_window: u64,
    /// Cancelled after `to`: placed in the trace, not cancelled there.
    pub cancelled_after_window: u64,
    /// Orders by state when recorded.
    pub order_states: BTreeMap<String, u64>,
    pub products: u64,
    pub currencies: u64,
    /// Line items of types the twin does not model, left out, by type.
    pub skipped_lines: BTreeMap<String, u64>,
    /// Promotion lines beyond an order's first (a cart carries one).
    pub extra_promotions: u64,
    /// Orders with no line the twin models (left out).
    pub empty_orders: u64,
    /// productNumbers ordered in the window that the catalogue no longer lists
    /// (the replay refuses those orders).
    pub unknown_products: Vec<String>,
    /// Orders placed after the window, read for their stock takes only.
    pub later_orders: u64,
    /// Orders that bought more than the shop had in stock (sold below zero):
    /// a replay's customers buy only what the shop shows, so the replay does
    /// not place them (unless the sync restocked the product in time).
    pub orders_beyond_stock: u64,
    /// The products those orders were short of.
    pub products_beyond_stock: Vec<String>,
    pub fetch: FetchStats,
}

/// Removes the side files of an unfinished recording.
struct Cleanup(Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn side_file(output: &Path, suffix: &str) -> PathBuf {
    let name = output
        .file_name()
        .map_or_else(|| "trace".into(), |n| n.to_string_lossy().to_string());
    output.with_file_name(format!(".{name}.{suffix}"))
}

fn ms_between(from: OffsetDateTime, at: OffsetDateTime) -> u64 {
    (at - from).whole_milliseconds().max(0) as u64
}

/// Explains the failures a person can fix.
fn explain(e: anyhow::Error, url: &str) -> anyhow::Error {
    match e.downcast_ref::<CallError>() {
        Some(CallError::Status { status: 401 | 403, .. }) => e.context(format!(
            "the shop at {url} refused the integration's credentials: check SYNCTWIN_SHOPWARE_CLIENT_ID and the secret, and that the integration may read orders, products and currencies"
        )),
        Some(CallError::NoAnswer { .. }) => e.context(format!("the shop at {url} did not answer")),
        _ => e.context(format!("cannot record from {url}")),
    }
}

/// Records the window into `opts.output`.
pub async fn record(opts: &RecordOptions) -> anyhow::Result<RecordSummary> {
    anyhow::ensure!(opts.to > opts.from, "--to must be after --from");
    let dir = match opts.output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    anyhow::ensure!(
        dir.is_dir(),
        "the directory of the trace {} does not exist",
        opts.output.display()
    );
    let limit = opts.page_size.clamp(1, fetch::MAX_PAGE);
    let mut fetcher = Fetcher::new(
        &opts.shopware_url,
        &opts.client_id,
        &opts.client_secret,
        opts.timeout,
        opts.speed,
    );
    let orders_path = side_file(&opts.output, "orders.part");
    let final_part = side_file(&opts.output, "part");
    let _cleanup = Cleanup(vec![orders_path.clone(), final_part.clone()]);
    let mut sum = RecordSummary::default();

    let mut currencies = Vec::new();
    fetcher
        .pages("currency", limit, fetch::currencies_criteria, |rows| {
            currencies.extend(rows.iter().filter_map(convert::currency));
            Ok(())
        })
        .await
        .map_err(|e| explain(e, &opts.shopware_url))?;
    sum.currencies = currencies.len() as u64;

    // Orders, oldest first, into the side file; cancellations wait in a heap
    // until the traffic reaches their time.
    let side =
        File::create(&orders_path).with_context(|| format!("cannot write the side file {}", orders_path.display()))?;
    let mut w = TraceWriter::new(BufWriter::new(side));
    let mut cancels: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::new();
    // Units taken since `from` by orders still standing (the header's stock adds them back).
    let mut taken: BTreeMap<String, i64> = BTreeMap::new();
    let mut ordered: BTreeSet<String> = BTreeSet::new();
    let mut customizable: BTreeSet<String> = BTreeSet::new();
    let mut emails: BTreeSet<String> = BTreeSet::new();
    let mut last_at = 0u64;
    let (from, to) = (opts.from, opts.to);
    fetcher
        .pages(
            "order",
            limit,
            |page, limit| fetch::orders_criteria(from, to, page, limit),
            |rows| {
                for row in &rows {
                    let o = convert::order(row)?;
                    *sum.order_states.entry(o.state.clone()).or_default() += 1;
                    for (t, n) in &o.skipped_lines {
                        *sum.skipped_lines.entry(t.clone()).or_default() += n;
                    }
                    sum.extra_promotions += o.extra_promotions;
                    if o.cart.lines.is_empty() {
                        sum.empty_orders += 1;
                        continue;
                    }
                    // The API sorts by orderDateTime; a trace never goes back in time.
                    let at = ms_between(from, o.placed).max(last_at);
                    last_at = at;
                    while let Some(Reverse((c_at, index))) = cancels.peek().copied() {
                        if c_at > at {
                            break;
                        }
                        cancels.pop();
                        w.write(&TraceEvent::CancelOrder {
                            at_ms: c_at,
                            order_index: index,
                        })
                        .with_context(|| format!("cannot write the side file {}", orders_path.display()))?;
                    }
                    match o.cancelled {
                        Some(c) if c < to => {
                            cancels.push(Reverse((ms_between(from, c).max(at), w.placed())));
                            sum.cancelled_in_window += 1;
                        }
                        Some(_) => sum.cancelled_after_window += 1,
                        None => {
                            for (sku, n) in &o.units {
                                *taken.entry(sku.clone()).or_default() += n;
                            }
                        }
                    }
                    ordered.extend(o.units.keys().cloned());
                    customizable.extend(o.customizable.iter().cloned());
                    emails.insert(o.cart.customer.email.trim().to_lowercase());
                    sum.orders += 1;
                    sum.guest_orders += u64::from(o.cart.customer.guest);
                    sum.promotion_orders += u64::from(o.cart.promotion.is_some());
                    sum.configurator_orders += u64::from(!o.customizable.is_empty());
                    let cart = match &opts.pseudonymiser {
                        Some(p) => p.cart(&o.cart),
                        None => o.cart,
                    };
                    w.write(&TraceEvent::PlaceOrder {
                        at_ms: at,
                        cart: Box::new(cart),
                    })
                    .with_context(|| format!("cannot write the side file {}", orders_path.display()))?;
                }
                Ok(())
            },
        )
        .await
        .map_err(|e| explain(e, &opts.shopware_url))?;
    while let Some(Reverse((c_at, index))) = cancels.pop() {
        w.write(&TraceEvent::CancelOrder {
            at_ms: c_at,
            order_index: index,
        })?;
    }
    w.finish()?.flush()?;
    sum.customers = emails.len() as u64;
    fetcher
        .pages(
            "order",
            limit,
            |page, limit| fetch::later_orders_criteria(to, page, limit),
            |rows| {
                sum.later_orders += rows.len() as u64;
                for row in &rows {
                    for (sku, n) in convert::units_taken(row) {
                        *taken.entry(sku).or_default() += n;
                    }
                }
                Ok(())
            },
        )
        .await
        .map_err(|e| explain(e, &opts.shopware_url))?;

    // The catalogue: stock as the window started (see the module docs).
    let mut raw: Vec<(String, Option<String>, ProductSnapshot)> = Vec::new();
    fetcher
        .pages("product", limit, fetch::products_criteria, |rows| {
            raw.extend(rows.iter().filter_map(convert::product));
            Ok(())
        })
        .await
        .map_err(|e| explain(e, &opts.shopware_url))?;
    let numbers: BTreeMap<String, String> = raw
        .iter()
        .map(|(id, _, p)| (id.clone(), p.product_number.clone()))
        .collect();
    let mut products: BTreeMap<String, ProductSnapshot> = BTreeMap::new();
    for (_, parent, mut p) in raw {
        p.parent_number = parent.and_then(|id| numbers.get(&id).cloned());
        p.stock += taken.get(&p.product_number).copied().unwrap_or(0);
        p.customizable |= customizable.contains(&p.product_number);
        products.insert(p.product_number.clone(), p);
    }
    sum.products = products.len() as u64;
    sum.unknown_products = ordered.into_iter().filter(|n| !products.contains_key(n)).collect();
    sum.fetch = fetcher.stats.clone();
    let start: BTreeMap<String, i64> = products.values().map(|p| (p.product_number.clone(), p.stock)).collect();
    let (short, skus) = beyond_stock(&orders_path, start)?;
    sum.orders_beyond_stock = short;
    sum.products_beyond_stock = skus;

    // Header, then the orders; the trace appears only when complete.
    let out = File::create(&final_part).with_context(|| format!("cannot write {}", final_part.display()))?;
    let mut w = TraceWriter::new(BufWriter::new(out));
    for c in currencies {
        w.write(&TraceEvent::Currency {
            at_ms: 0,
            currency: Box::new(c),
        })?;
    }
    for p in products.into_values() {
        w.write(&TraceEvent::Product {
            at_ms: 0,
            product: Box::new(p),
        })?;
    }
    let mut out = w.finish()?;
    let mut orders = BufReader::new(File::open(&orders_path)?);
    std::io::copy(&mut orders, &mut out)?;
    out.flush()?;
    drop(out);
    std::fs::rename(&final_part, &opts.output)
        .with_context(|| format!("cannot write the trace {}", opts.output.display()))?;
    Ok(sum)
}

/// Replays the recorded orders against the starting stock alone, as the
/// traffic driver's customers see it: orders asking for more than is left.
fn beyond_stock(orders: &Path, mut stock: BTreeMap<String, i64>) -> anyhow::Result<(u64, Vec<String>)> {
    use crate::twin::shopware::checkout::CartLine;
    let file = File::open(orders).with_context(|| format!("cannot read the side file {}", orders.display()))?;
    let mut placed: Vec<Option<BTreeMap<String, i64>>> = Vec::new();
    let (mut short, mut skus) = (0, BTreeSet::new());
    for ev in crate::scenario::trace::read(BufReader::new(file)) {
        match ev? {
            TraceEvent::PlaceOrder { cart, .. } => {
                let mut need: BTreeMap<String, i64> = BTreeMap::new();
                for l in &cart.lines {
                    if let CartLine::Product {
                        product_number,
                        quantity,
                    }
                    | CartLine::CustomizedProducts {
                        product_number,
                        quantity,
                        ..
                    } = l
                    {
                        *need.entry(product_number.clone()).or_default() += quantity;
                    }
                }
                let lacking: Vec<&String> = need
                    .iter()
                    .filter(|(n, q)| stock.get(*n).is_some_and(|s| s < *q))
                    .map(|(n, _)| n)
                    .collect();
                if lacking.is_empty() {
                    for (n, q) in &need {
                        if let Some(s) = stock.get_mut(n) {
                            *s -= q;
                        }
                    }
                    placed.push(Some(need));
                } else {
                    short += 1;
                    skus.extend(lacking.into_iter().cloned());
                    placed.push(None);
                }
            }
            TraceEvent::CancelOrder { order_index, .. } => {
                if let Some(Some(units)) = placed.get(order_index as usize) {
                    for (n, q) in units {
                        if let Some(s) = stock.get_mut(n) {
                            *s += q;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok((short, skus.into_iter().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twin::shopware::checkout::{Cart, CartCustomer, CartLine};

    fn order(at_ms: u64, sku: &str, quantity: i64) -> TraceEvent {
        let customer: CartCustomer = serde_json::from_value(serde_json::json!({
            "email": "a@example.com", "firstName": "A", "lastName": "B", "street": "S", "zipcode": "1", "city": "C"
        }))
        .unwrap();
        TraceEvent::PlaceOrder {
            at_ms,
            cart: Box::new(Cart {
                customer,
                lines: vec![CartLine::Product {
                    product_number: sku.into(),
                    quantity,
                }],
                promotion: None,
                shipping_gross: None,
                tax_status: None,
                currency: None,
            }),
        }
    }

    #[test]
    fn orders_beyond_the_starting_stock_are_found_as_the_driver_would_see_them() {
        let dir = std::env::temp_dir().join(format!("synctwin-beyond-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("orders.part");
        let mut w = TraceWriter::new(File::create(&path).unwrap());
        for e in [
            order(1, "A", 2),
            order(2, "A", 1),
            TraceEvent::CancelOrder {
                at_ms: 3,
                order_index: 0,
            },
            order(4, "A", 2),
            order(5, "B", 1),
            order(6, "UNLISTED", 9),
        ] {
            w.write(&e).unwrap();
        }
        w.finish().unwrap();
        let start = BTreeMap::from([("A".to_string(), 2), ("B".to_string(), 0)]);
        // A: 2 sold, the next 1 is short, the cancel gives 2 back, then 2 sell. B is short.
        // A product the catalogue does not list is the checkout's business, not stock's.
        assert_eq!(
            beyond_stock(&path, start).unwrap(),
            (2, vec!["A".to_string(), "B".to_string()])
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
