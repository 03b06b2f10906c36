//! Findings from what the run measured: orders missing without an exception,
//! duplicates, money outside the tolerance, stock left wrong, oversells,
//! resurrected stock, merged guests, 429 storms, server errors and an export or
//! stock sync that falls behind its own polling interval. Each fix names the
//! engine setting to change, its value in this run and a concrete new value.

use std::collections::{BTreeMap, BTreeSet};

use super::exceptions::natural;
use super::finding::{examples, money, Finding, Impact, Owner, Severity};
use super::metric::advice;
use super::run::RunFacts;
use crate::engine::mapping::GuestStrategy;
use crate::engine::stock_policy::StockPolicy;
use crate::report::units;

/// A 429 ratio at or above this is a warning; below it, 429s are worth knowing (info).
pub const RATE_LIMIT_WARNING_RATIO: f64 = 0.01;

/// A sync whose p95 latency exceeds this many of its own polling intervals is
/// falling behind (an order waits one interval at most when nothing queues).
pub const BEHIND_FACTOR: f64 = 3.0;

/// Pacing suggested below the rate the server accepted during a storm.
pub const PACING_HEADROOM: f64 = 0.8;

/// All gap findings (unranked).
pub fn findings(f: &RunFacts, parked: &BTreeSet<String>) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(missing(f, parked));
    out.extend(duplicates(f));
    out.extend(orphans(f));
    out.extend(money_deltas(f));
    out.extend(stock_mismatches(f));
    out.extend(stale_closeouts(f));
    out.extend(oversells(f));
    out.extend(resurrection(f));
    out.extend(guests(f));
    out.extend(rate_limited(f));
    out.extend(retry_after(f));
    out.extend(server_errors(f));
    out.extend(latency(f));
    out
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", units::count(n as f64), if n == 1 { one } else { many })
}

fn secs(d: std::time::Duration) -> String {
    units::duration(d.as_millis() as f64)
}

#[allow(clippy::too_many_arguments)]
fn finding(
    key: &str,
    title: String,
    severity: Severity,
    owner: Owner,
    impact: Impact,
    count: u64,
    count_of: &str,
    examples: Vec<String>,
    evidence: String,
    fix: String,
    metrics: &[&str],
) -> Finding {
    Finding {
        key: key.into(),
        title,
        category: key.into(),
        severity,
        owner,
        impact,
        count,
        count_of: count_of.into(),
        examples,
        evidence,
        fix,
        metrics: metrics.iter().map(|m| m.to_string()).collect(),
    }
}

fn missing(f: &RunFacts, parked: &BTreeSet<String>) -> Option<Finding> {
    let rc = &f.report.reconciliation;
    let (numbers, gross): (Vec<String>, f64) = match f.orders {
        Some(o) => {
            let in_erp: BTreeSet<&str> = o.erp.iter().map(|e| e.external_document_number.as_str()).collect();
            let lost: Vec<_> = o
                .shop
                .iter()
                .filter(|s| !s.cancelled && !in_erp.contains(s.number.as_str()) && !parked.contains(&s.number))
                .collect();
            (
                natural(lost.iter().map(|s| s.number.clone()).collect()),
                lost.iter().map(|s| s.gross).sum(),
            )
        }
        None => (Vec::new(), 0.0),
    };
    let n = if f.orders.is_some() {
        numbers.len() as u64
    } else {
        rc.missing_orders.saturating_sub(parked.len() as u64)
    };
    if n == 0 {
        return None;
    }
    let oldest = units::duration(f.report.latency.oldest_unexported_max_ms);
    let fix = match f.engine {
        Some(c) if c.export.overlap.is_zero() => format!(
            "Set export.overlap = \"2m\" in {} (now 0s): without an overlap the watermark skips orders committed \
             after a later one was read.",
            f.engine_name()
        ),
        Some(c) => format!(
            "The export did not catch up before the run ended (the oldest unexported order waited {oldest}): it reads \
             export.page_size = {} orders every intervals.orders = {}; raise export.page_size to {} or poll more often.",
            c.export.page_size,
            secs(c.intervals.orders),
            (c.export.page_size * 2).min(500)
        ),
        None => advice("reconciliation.missing_orders").into(),
    };
    Some(finding(
        "missing_orders",
        format!(
            "{} never reached the ERP and no exception says why",
            plural(n, "order", "orders")
        ),
        Severity::Critical,
        Owner::Integration,
        Impact {
            orders_blocked: n,
            units_oversold: 0,
            money_unreconciled: gross,
        },
        n,
        "orders",
        examples(numbers),
        format!(
            "{} in Shopware are not in the ERP and not in the exception queue{}; the oldest unexported order waited \
             {oldest}.",
            plural(n, "order", "orders"),
            if gross > 0.0 {
                format!(" ({} gross)", money(gross))
            } else {
                String::new()
            }
        ),
        fix,
        &["reconciliation.missing_orders", "latency.oldest_unexported_max"],
    ))
}

fn duplicates(f: &RunFacts) -> Option<Finding> {
    let (n, numbers, gross) = match f.orders {
        Some(o) => {
            let mut by_ext: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
            for e in o.erp {
                by_ext
                    .entry(e.external_document_number.as_str())
                    .or_default()
                    .push(e.gross_cents as f64 / 100.0);
            }
            let dup: Vec<(&str, Vec<f64>)> = by_ext.into_iter().filter(|(_, v)| v.len() > 1).collect();
            (
                dup.iter().map(|(_, v)| v.len() as u64 - 1).sum::<u64>(),
                natural(dup.iter().map(|(k, _)| k.to_string()).collect()),
                dup.iter().map(|(_, v)| v[1..].iter().sum::<f64>()).sum::<f64>(),
            )
        }
        None => (f.report.reconciliation.duplicated_orders, Vec::new(), 0.0),
    };
    if n == 0 {
        return None;
    }
    let fix = match f.engine {
        Some(c) if !c.export.lookup_before_create => format!(
            "Set export.lookup_before_create = true in {} (now false): the engine then looks each order up by its \
             Shopware number before creating it, so a timeout after the ERP committed does not post it again.",
            f.engine_name()
        ),
        Some(c) => format!(
            "The engine looks orders up before creating them, yet the ERP holds copies: it committed after the \
             lookup. Raise request_timeout (now {}) above the ERP's processing time.",
            secs(c.request_timeout)
        ),
        None => advice("reconciliation.duplicated_orders").into(),
    };
    Some(finding(
        "duplicated_orders",
        format!("{} created twice in the ERP", plural(n, "order copy", "order copies")),
        Severity::Critical,
        Owner::Integration,
        Impact {
            orders_blocked: 0,
            units_oversold: 0,
            money_unreconciled: gross,
        },
        n,
        "duplicate orders",
        examples(numbers),
        format!(
            "The ERP holds {} for Shopware orders it already had{}: invoices and shipments may go out twice.",
            plural(n, "extra copy", "extra copies"),
            if gross > 0.0 {
                format!(" ({} gross booked twice)", money(gross))
            } else {
                String::new()
            }
        ),
        fix,
        &["reconciliation.duplicated_orders", "reconciliation.erp_orders"],
    ))
}

fn orphans(f: &RunFacts) -> Option<Finding> {
    let n = f.report.reconciliation.orphaned_orders;
    if n == 0 {
        return None;
    }
    let numbers = f
        .orders
        .map(|o| {
            let shop: BTreeSet<&str> = o.shop.iter().map(|s| s.number.as_str()).collect();
            let set: BTreeSet<String> = o
                .erp
                .iter()
                .filter(|e| !shop.contains(e.external_document_number.as_str()))
                .map(|e| e.external_document_number.clone())
                .collect();
            natural(set.into_iter().collect())
        })
        .unwrap_or_default();
    Some(finding(
        "orphaned_orders",
        format!("{} in the ERP have no Shopware order", plural(n, "order", "orders")),
        Severity::Warning,
        Owner::Operations,
        Impact::default(),
        n,
        "orders",
        examples(numbers),
        format!(
            "{} carry an external document number Shopware does not know.",
            plural(n, "ERP order", "ERP orders")
        ),
        advice("reconciliation.orphaned_orders").into(),
        &["reconciliation.orphaned_orders"],
    ))
}

fn money_deltas(f: &RunFacts) -> Option<Finding> {
    let rc = &f.report.reconciliation;
    if rc.orders_outside_tolerance == 0 {
        return None;
    }
    let outside: Vec<_> = rc.money_deltas.iter().filter(|d| !d.within_tolerance).collect();
    let sum: f64 = outside.iter().map(|d| d.delta_gross.abs()).sum();
    let largest = outside
        .iter()
        .max_by(|a, b| a.delta_gross.abs().total_cmp(&b.delta_gross.abs()));
    let mut by_rate: BTreeMap<&str, f64> = BTreeMap::new();
    for d in &outside {
        for (rate, delta) in &d.delta_tax {
            *by_rate.entry(rate.as_str()).or_default() += delta;
        }
    }
    let rates: Vec<String> = by_rate
        .iter()
        .filter(|(_, v)| v.abs() >= 0.005)
        .map(|(r, v)| format!("{r} %: {:+.2}", v))
        .collect();
    let cents_only = largest.is_some_and(|d| d.delta_gross.abs() < 0.10);
    let shared = on_shared_guest_customers(f, outside.iter().map(|d| d.order_number.as_str()));
    let fix = if !outside.is_empty() && shared.0 == outside.len() {
        format!(
            "All of them are guest orders booked on the shared ERP customer {}: its prices-include-tax setting \
             differs from the shop's, so the ERP recomputes tax. Book each guest on their own customer (see the \
             guest finding) and these totals match.",
            shared.1.join(", ")
        )
    } else if cents_only {
        format!(
            "The totals differ by cents: the shop and the ERP ({}) round tax differently (per line against per \
             document). Align the ERP's rounding with Shopware's, or post Shopware's tax amounts instead of letting \
             the ERP recompute them.",
            f.report.scenario.erp_profile
        )
    } else {
        "The totals differ beyond rounding: compare tax rates, the discount lines (mapping.discount_item, one line \
         per tax rate) and shipping (mapping.shipping_item) of the example orders in both systems."
            .to_string()
    };
    let fix = if shared.0 > 0 && shared.0 < outside.len() {
        format!(
            "{fix} {} of them are guest orders on a shared ERP customer ({}): see the guest finding.",
            shared.0,
            shared.1.join(", ")
        )
    } else {
        fix
    };
    let n = rc.orders_outside_tolerance;
    Some(finding(
        "money_outside_tolerance",
        format!(
            "{} booked with a different total in the ERP",
            plural(n, "order", "orders")
        ),
        Severity::Warning,
        Owner::Finance,
        Impact {
            orders_blocked: 0,
            units_oversold: 0,
            money_unreconciled: sum,
        },
        n,
        "orders",
        examples(natural(outside.iter().map(|d| d.order_number.clone()).collect())),
        format!(
            "{} beyond half a cent per line{}{}{}.",
            plural(n, "order differs", "orders differ"),
            if (outside.len() as u64) < n {
                format!(" ({} listed)", outside.len())
            } else {
                String::new()
            },
            largest.map_or_else(String::new, |d| format!(
                "; the largest is {} on order {} (shop {}, ERP {})",
                money(d.delta_gross),
                d.order_number,
                money(d.shop_gross),
                money(d.erp_gross)
            )),
            if rates.is_empty() {
                String::new()
            } else {
                format!("; tax deltas by rate: {}", rates.join(", "))
            }
        ),
        fix,
        &[
            "reconciliation.orders_outside_tolerance",
            "reconciliation.total_delta_gross",
            "reconciliation.money_deltas",
        ],
    ))
}

/// How many of these orders are guest orders booked on an ERP customer that
/// guests with different e-mails share, and those customers.
fn on_shared_guest_customers<'a>(f: &RunFacts, numbers: impl Iterator<Item = &'a str>) -> (usize, Vec<String>) {
    let Some(o) = f.orders else {
        return (0, Vec::new());
    };
    let guests: BTreeMap<&str, &str> = o
        .shop
        .iter()
        .filter(|s| s.guest)
        .map(|s| (s.number.as_str(), s.email.as_str()))
        .collect();
    let mut customer_of: BTreeMap<&str, &str> = BTreeMap::new();
    for e in o.erp {
        customer_of
            .entry(e.external_document_number.as_str())
            .or_insert(e.customer_number.as_str());
    }
    let mut emails: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (number, email) in &guests {
        if let Some(c) = customer_of.get(number) {
            emails.entry(c).or_default().insert(email);
        }
    }
    let shared: BTreeSet<&str> = emails.iter().filter(|(_, e)| e.len() > 1).map(|(c, _)| *c).collect();
    let mut hit = BTreeSet::new();
    let count = numbers
        .filter(|n| guests.contains_key(n))
        .filter_map(|n| customer_of.get(n).filter(|c| shared.contains(**c)))
        .inspect(|c| {
            hit.insert(c.to_string());
        })
        .count();
    (count, hit.into_iter().collect())
}

fn stock_mismatches(f: &RunFacts) -> Option<Finding> {
    let list = &f.report.reconciliation.stock_mismatches;
    if list.is_empty() {
        return None;
    }
    let above: i64 = list.iter().map(|m| (m.shopware - m.erp_available).max(0)).sum();
    let above_skus = list.iter().filter(|m| m.shopware > m.erp_available).count();
    let mut sorted: Vec<_> = list.iter().collect();
    sorted.sort_by_key(|m| (std::cmp::Reverse((m.shopware - m.erp_available).abs()), m.sku.clone()));
    let fix = match f.engine {
        Some(c) if c.inventory.policy == StockPolicy::OnHand => format!(
            "Set inventory.policy = {{ policy = \"available_minus_unacknowledged\", buffer = 0 }} in {} (now on_hand): \
             on hand ignores open orders, so Shopware shows units that are already sold.",
            f.engine_name()
        ),
        Some(c) => format!(
            "Check the stock exceptions for these SKUs; stock is pushed every intervals.inventory = {} with a full \
             pull every {}: shorten intervals.inventory to {}.",
            secs(c.intervals.inventory),
            secs(c.intervals.full_inventory),
            secs(c.intervals.inventory / 2)
        ),
        None => advice("reconciliation.stock_mismatches").into(),
    };
    let n = list.len() as u64;
    Some(finding(
        "stock_mismatch",
        format!(
            "{} show different stock in Shopware and the ERP at the end",
            plural(n, "SKU", "SKUs")
        ),
        Severity::Warning,
        Owner::Ecommerce,
        Impact::default(),
        n,
        "SKUs",
        examples(
            sorted
                .iter()
                .map(|m| format!("{} (Shopware {}, ERP {})", m.sku, m.shopware, m.erp_available)),
        ),
        format!(
            "After the final full sync, {} still differ; on {above_skus} of them Shopware shows more than the ERP \
             has ({} in all), which customers can buy.",
            plural(n, "SKU", "SKUs"),
            plural(above.max(0) as u64, "unit", "units")
        ),
        fix,
        &["reconciliation.stock_mismatches"],
    ))
}

/// Closeouts Shopware still shows sold out with stock, measured at the twin
/// (the engine may not look for them); those the engine parked already are
/// its exception's finding.
fn stale_closeouts(f: &RunFacts) -> Option<Finding> {
    let parked: BTreeSet<&str> = f
        .exceptions
        .iter()
        .filter(|e| !e.resolved && e.category == "closeout_unavailable")
        .map(|e| e.subject.as_str())
        .collect();
    let mut stale: Vec<&(String, i64)> = f
        .stale_closeouts?
        .iter()
        .filter(|(sku, _)| !parked.contains(sku.as_str()))
        .collect();
    // Most hidden units first.
    stale.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| (a.0.len(), &a.0).cmp(&(b.0.len(), &b.0))));
    if stale.is_empty() {
        return None;
    }
    let units: i64 = stale.iter().map(|(_, s)| s).sum();
    let fix = match f.engine.and_then(|c| c.inventory.indexing.as_deref()) {
        Some(i) => format!(
            "Remove inventory.indexing (now \"{i}\") from {}: Shopware then recomputes availability when stock is \
             written. Re-index these products once (bin/console dal:refresh:index).",
            f.engine_name()
        ),
        None => "Re-index these products (bin/console dal:refresh:index) and find what writes their stock with \
                 indexing disabled."
            .into(),
    };
    let n = stale.len() as u64;
    Some(finding(
        "closeout_sold_out_in_stock",
        format!(
            "{} shown sold out though in stock",
            plural(n, "closeout product", "closeout products")
        ),
        Severity::Warning,
        Owner::Ecommerce,
        Impact::default(),
        n,
        "SKUs",
        examples(stale.iter().map(|(sku, s)| format!("{sku} (stock {s})"))),
        format!(
            "At the end Shopware shows {} as unavailable with {} in stock; its indexer would show them available: \
             their stock was written with indexing disabled. Nobody can buy them.",
            plural(n, "closeout", "closeouts"),
            plural(units.max(0) as u64, "unit", "units")
        ),
        fix,
        &["reconciliation.stale_closeouts"],
    ))
}

fn oversells(f: &RunFacts) -> Option<Finding> {
    let rc = &f.report.reconciliation;
    if rc.oversell_events == 0 && rc.oversold_units <= 0 {
        return None;
    }
    let units_sold = rc.oversold_units.max(0) as u64;
    let fix = match f.engine {
        Some(c) => match c.inventory.policy {
            StockPolicy::OnHand => format!(
                "Set inventory.policy = {{ policy = \"available_minus_unacknowledged\", buffer = 0 }} in {} (now \
                 on_hand), so units sold but not yet in the ERP are not offered again.",
                f.engine_name()
            ),
            StockPolicy::AvailableMinusUnacknowledged { buffer } => {
                let per_event = units_sold.div_ceil(rc.oversell_events.max(1)).max(1) as i64;
                format!(
                    "Push stock more often (intervals.inventory = {} → {}) or keep a safety buffer: inventory.policy \
                     buffer = {} (now {buffer}), the units oversold per event in this run.",
                    secs(c.intervals.inventory),
                    secs(c.intervals.inventory / 2),
                    buffer + per_event
                )
            }
        },
        None => advice("reconciliation.oversold_units").into(),
    };
    Some(finding(
        "oversold",
        format!(
            "{} oversold in {}",
            plural(units_sold, "unit", "units"),
            plural(rc.oversell_events, "sale", "sales")
        ),
        Severity::Critical,
        Owner::Ecommerce,
        Impact {
            orders_blocked: 0,
            units_oversold: units_sold,
            money_unreconciled: 0.0,
        },
        rc.oversell_events,
        "oversell events",
        Vec::new(),
        format!(
            "Customers bought {} that the ERP did not have while Shopware showed them in stock.",
            plural(units_sold, "unit", "units")
        ),
        fix,
        &["reconciliation.oversell_events", "reconciliation.oversold_units"],
    ))
}

fn resurrection(f: &RunFacts) -> Option<Finding> {
    let n = f.report.reconciliation.resurrected_units;
    if n <= 0 {
        return None;
    }
    let fix = match f.engine {
        Some(c) if c.inventory.policy == StockPolicy::OnHand => format!(
            "Set inventory.policy = {{ policy = \"available_minus_unacknowledged\", buffer = 0 }} in {} (now \
             on_hand): Shopware 6.6 takes stock at order placement, and pushing ERP on hand before the order reached \
             the ERP puts the units back.",
            f.engine_name()
        ),
        _ => "Push ERP available minus the units of orders the ERP has not acknowledged yet, and never let a full \
              push overwrite newer deltas."
            .into(),
    };
    Some(finding(
        "stock_resurrection",
        format!(
            "{} put back on sale after they were sold",
            plural(n as u64, "unit", "units")
        ),
        Severity::Critical,
        Owner::Integration,
        Impact::default(),
        n as u64,
        "units",
        Vec::new(),
        format!(
            "Stock pushes restored {} that orders had already taken in Shopware.",
            plural(n as u64, "unit", "units")
        ),
        fix,
        &["reconciliation.resurrected_units"],
    ))
}

fn guests(f: &RunFacts) -> Option<Finding> {
    let n = f.report.reconciliation.guests_merged;
    if n == 0 {
        return None;
    }
    let fix = match f.engine.map(|c| &c.mapping.guests) {
        Some(GuestStrategy::SingleCustomer { number }) => format!(
            "Set mapping.guests = {{ strategy = \"find_or_create\" }} in {} (now every guest is booked on ERP customer \
             {number}): each guest then gets their own customer, found again by e-mail.",
            f.engine_name()
        ),
        _ => advice("reconciliation.guests_merged").into(),
    };
    Some(finding(
        "guests_merged",
        format!(
            "{} booked on a customer shared with other guests",
            plural(n, "guest order", "guest orders")
        ),
        Severity::Critical,
        Owner::Integration,
        Impact::default(),
        n,
        "orders",
        Vec::new(),
        format!(
            "{} of different people share one ERP customer: invoices, addresses and dunning mix them up.",
            plural(n, "guest order", "guest orders")
        ),
        fix,
        &["reconciliation.guests_merged"],
    ))
}

/// `(system, route, count)` of responses with a status, most first.
fn routes_with(f: &RunFacts, status: impl Fn(&str) -> bool) -> Vec<(String, String, u64)> {
    let mut v: Vec<(String, String, u64)> = f
        .report
        .rate_limits
        .endpoints
        .iter()
        .flat_map(|(system, routes)| {
            routes.iter().filter_map(|(route, e)| {
                let n: u64 = e.by_status.iter().filter(|(s, _)| status(s)).map(|(_, n)| n).sum();
                (n > 0).then(|| (system.clone(), route.clone(), n))
            })
        })
        .collect();
    v.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (&a.0, &a.1).cmp(&(&b.0, &b.1))));
    v
}

/// The request rate (both systems) the servers accepted in the intervals with
/// 429s: what the limit let through.
fn accepted_rate_in_storms(f: &RunFacts) -> Option<f64> {
    let tl = &f.report.timeline;
    let interval_s = tl.windows(2).next().map(|w| (w[1].t_ms - w[0].t_ms) as f64 / 1000.0)?;
    tl.iter()
        .filter(|p| p.throttled > 0 && interval_s > 0.0)
        .map(|p| p.requests.saturating_sub(p.throttled) as f64 / interval_s)
        .reduce(f64::max)
}

fn rate_limited(f: &RunFacts) -> Option<Finding> {
    let rl = &f.report.rate_limits;
    if rl.throttled_429 == 0 {
        return None;
    }
    let routes = routes_with(f, |s| s == "429");
    let top_system = routes.first().map_or("shopware", |r| r.0.as_str());
    let accepted = accepted_rate_in_storms(f).unwrap_or(rl.peak_requests_per_second);
    let pace = (accepted * PACING_HEADROOM).floor().max(1.0);
    let fix = match f.engine {
        Some(c) if top_system == "erp" => format!(
            "Pace the ERP below its limit: rate_limits.erp_per_second = {} in {} (now {}); the servers accepted about \
             {}/s during the storms.",
            units::trim(pace, 0),
            f.engine_name(),
            c.rate_limits
                .erp_per_second
                .map_or_else(|| "unpaced".to_string(), |r| units::trim(r, 2)),
            units::trim(accepted, 1)
        ),
        Some(c) => {
            let mut steps = lighter_stock_pushes(c);
            steps.push(format!(
                "pace Shopware with rate_limits.shopware_per_second = {} (now {}; the servers accepted about {}/s \
                 during the storms)",
                units::trim(pace, 0),
                c.rate_limits
                    .shopware_per_second
                    .map_or_else(|| "unpaced".to_string(), |r| units::trim(r, 2)),
                units::trim(accepted, 1)
            ));
            format!("In {}: {}.", f.engine_name(), steps.join("; "))
        }
        None => advice("rate_limits.ratio_429").into(),
    };
    let severity = if rl.ratio_429 >= RATE_LIMIT_WARNING_RATIO || rl.retry_after_violations > 0 {
        Severity::Warning
    } else {
        Severity::Info
    };
    Some(finding(
        "rate_limited",
        format!(
            "{} throttled with 429 ({} of all), most on {} {}",
            plural(rl.throttled_429, "request", "requests"),
            units::percent(rl.ratio_429),
            top_system,
            routes.first().map_or("", |r| r.1.as_str())
        ),
        severity,
        Owner::Integration,
        Impact::default(),
        rl.throttled_429,
        "throttled requests",
        examples(routes.iter().map(|(s, r, n)| format!("{s} {r}: {n}"))),
        format!(
            "The systems answered {} with 429 Too Many Requests ({} with Retry-After); requests peaked at {}/s.",
            plural(rl.throttled_429, "request", "requests"),
            units::count(rl.throttled_with_retry_after as f64),
            units::trim(rl.peak_requests_per_second, 1)
        ),
        fix,
        &[
            "rate_limits.throttled_429",
            "rate_limits.ratio_429",
            "rate_limits.throttled_with_retry_after",
            "rate_limits.peak_requests_per_second",
        ],
    ))
}

/// Concrete steps that make stock pushes lighter on Shopware, from the current
/// settings: sync batches instead of one PATCH per SKU, half the batch size,
/// half the concurrency (each only when it can still be lowered).
pub fn lighter_stock_pushes(c: &crate::engine::config::EngineConfig) -> Vec<String> {
    let inv = &c.inventory;
    let mut steps = Vec::new();
    if inv.strategy == crate::engine::inventory::PushStrategy::PerSkuPatch {
        steps.push(format!(
            "switch inventory.strategy to \"sync_batches\" (now one PATCH per SKU) with inventory.batch_size = {}",
            inv.batch_size.max(100)
        ));
    } else if inv.batch_size > 1 {
        steps.push(format!(
            "lower inventory.batch_size from {} to {}",
            inv.batch_size,
            (inv.batch_size / 2).max(1)
        ));
    }
    if inv.concurrency > 1 {
        steps.push(format!(
            "inventory.concurrency from {} to {}",
            inv.concurrency,
            (inv.concurrency / 2).max(1)
        ));
    }
    steps
}

fn retry_after(f: &RunFacts) -> Option<Finding> {
    let n = f.report.rate_limits.retry_after_violations;
    if n == 0 {
        return None;
    }
    Some(finding(
        "retry_after_ignored",
        format!(
            "{} sent before Retry-After had passed",
            plural(n, "request", "requests")
        ),
        Severity::Warning,
        Owner::Integration,
        Impact::default(),
        n,
        "requests",
        Vec::new(),
        format!(
            "After a 429 with Retry-After the client sent {} before the wait was over; each earns another 429.",
            plural(n, "request", "requests")
        ),
        advice("rate_limits.retry_after_violations").into(),
        &["rate_limits.retry_after_violations"],
    ))
}

fn server_errors(f: &RunFacts) -> Option<Finding> {
    let n = f.report.rate_limits.server_errors_5xx;
    if n == 0 {
        return None;
    }
    let routes = routes_with(f, |s| s.starts_with('5'));
    let overflow = routes_with(f, |s| s == "503").iter().map(|r| r.2).sum::<u64>();
    let on_sync = routes.iter().any(|r| r.1.contains("_action/sync"));
    let fix = match f.engine {
        Some(c) if overflow * 2 >= n => format!(
            "Most are 503s from a full worker queue: lower inventory.concurrency in {} from {} to {} and pace \
             requests.",
            f.engine_name(),
            c.inventory.concurrency,
            (c.inventory.concurrency / 2).max(1)
        ),
        Some(c) if on_sync => format!(
            "Large sync batches deadlock more often: lower inventory.batch_size in {} from {} to {}.",
            f.engine_name(),
            c.inventory.batch_size,
            (c.inventory.batch_size / 2).max(1)
        ),
        _ => {
            "Look at the failing routes in the examples; retry 5xx answers with backoff and make writes smaller.".into()
        }
    };
    Some(finding(
        "server_errors",
        format!("{} failed with a server error (5xx)", plural(n, "request", "requests")),
        Severity::Warning,
        Owner::Integration,
        Impact::default(),
        n,
        "failed requests",
        examples(routes.iter().map(|(s, r, n)| format!("{s} {r}: {n}"))),
        format!(
            "{} answered with a server error{}.",
            plural(n, "request was", "requests were"),
            if overflow > 0 {
                format!(
                    " ({} of them 503 Service Unavailable: a full worker queue)",
                    units::count(overflow as f64)
                )
            } else {
                String::new()
            }
        ),
        fix,
        &["rate_limits.server_errors_5xx"],
    ))
}

fn latency(f: &RunFacts) -> Vec<Finding> {
    let Some(c) = f.engine else { return Vec::new() };
    let l = &f.report.latency;
    let mut out = Vec::new();
    let orders_ms = c.intervals.orders.as_millis() as f64;
    if l.order_export.count > 0 && l.order_export.p95_ms > BEHIND_FACTOR * orders_ms {
        out.push(finding(
            "export_behind",
            format!(
                "orders wait {} (p95) to reach the ERP",
                units::duration(l.order_export.p95_ms)
            ),
            Severity::Warning,
            Owner::Operations,
            Impact::default(),
            l.order_export.count,
            "orders",
            Vec::new(),
            format!(
                "The engine polls every {} but 5 % of orders waited longer than {} (p99 {}, oldest unexported {}).",
                secs(c.intervals.orders),
                units::duration(l.order_export.p95_ms),
                units::duration(l.order_export.p99_ms),
                units::duration(l.oldest_unexported_max_ms)
            ),
            format!(
                "Raise export.page_size in {} from {} to {}, or poll more often than intervals.orders = {}; if 429s or \
                 retries hold the queue back, fix those first.",
                f.engine_name(),
                c.export.page_size,
                (c.export.page_size * 2).min(500),
                secs(c.intervals.orders)
            ),
            &[
                "latency.order_export.p50",
                "latency.order_export.p95",
                "latency.order_export.p99",
                "latency.order_export.max",
                "latency.order_export.mean",
                "latency.oldest_unexported_max",
            ],
        ));
    }
    let stock_ms = c.intervals.inventory.as_millis() as f64;
    if l.stock_sync.count > 0 && l.stock_sync.p95_ms > BEHIND_FACTOR * stock_ms {
        out.push(finding(
            "stock_sync_behind",
            format!(
                "Shopware shows stale stock for {} (p95)",
                units::duration(l.stock_sync.p95_ms)
            ),
            Severity::Warning,
            Owner::Ecommerce,
            Impact::default(),
            l.stock_sync.count,
            "stock changes",
            Vec::new(),
            format!(
                "Stock is pushed every {} but 5 % of ERP changes took longer than {} to show in Shopware (p99 {}).",
                secs(c.intervals.inventory),
                units::duration(l.stock_sync.p95_ms),
                units::duration(l.stock_sync.p99_ms)
            ),
            format!(
                "Push deltas more often (intervals.inventory in {} from {} to {}); if the pushes are throttled, see \
                 the rate-limit finding.",
                f.engine_name(),
                secs(c.intervals.inventory),
                secs(c.intervals.inventory / 2)
            ),
            &[
                "latency.stock_sync.p50",
                "latency.stock_sync.p95",
                "latency.stock_sync.p99",
                "latency.stock_sync.max",
                "latency.stock_sync.mean",
            ],
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::config::EngineConfig;
    use crate::reconcile::{ErpOrder, ShopOrder};
    use crate::report::model::{EndpointStats, RunReport, TimelinePoint};
    use crate::report::sample::sample_report;

    fn shop(number: &str, gross: f64) -> ShopOrder {
        ShopOrder {
            number: number.into(),
            gross,
            net: gross,
            taxes: Default::default(),
            lines: 1,
            cancelled: false,
            guest: false,
            email: String::new(),
            units: vec![],
        }
    }

    fn erp(ext: &str, gross: f64) -> ErpOrder {
        ErpOrder {
            external_document_number: ext.into(),
            number: format!("S-{ext}"),
            customer_number: "C1".into(),
            gross_cents: (gross * 100.0) as i64,
            net_cents: 0,
            taxes_cents: Default::default(),
        }
    }

    #[test]
    fn missing_orders_exclude_the_parked_ones_and_duplicates_count_extra_copies() {
        let shop = vec![shop("10001", 10.0), shop("10002", 20.0), shop("10003", 30.0)];
        let erp = vec![erp("10001", 10.0), erp("10001", 10.0), erp("10001", 10.0)];
        let mut report = RunReport::default();
        report.reconciliation.missing_orders = 2;
        report.reconciliation.duplicated_orders = 2;
        let mut cfg = EngineConfig::default();
        cfg.export.lookup_before_create = false;
        let facts = RunFacts {
            report: &report,
            engine: Some(&cfg),
            exceptions: &[],
            orders: Some(super::super::run::OrderLists { shop: &shop, erp: &erp }),
            erp_items: None,
            stale_closeouts: None,
        };
        let parked: BTreeSet<String> = ["10002".to_string()].into();
        let m = missing(&facts, &parked).unwrap();
        assert_eq!(
            (m.count, m.impact.orders_blocked, m.impact.money_unreconciled),
            (1, 1, 30.0)
        );
        assert_eq!(m.examples, vec!["10003"]);
        assert!(
            m.fix.contains("export.page_size = 100") && m.fix.contains("to 200"),
            "{}",
            m.fix
        );
        let d = duplicates(&facts).unwrap();
        assert_eq!((d.count, d.impact.money_unreconciled), (2, 20.0));
        assert!(d.fix.contains("export.lookup_before_create = true") && d.fix.contains("(now false)"));
        assert!(missing(&facts, &["10002".into(), "10003".into()].into()).is_none());
        let mut no_overlap = cfg.clone();
        no_overlap.export.overlap = std::time::Duration::ZERO;
        let facts = RunFacts {
            engine: Some(&no_overlap),
            ..facts
        };
        assert!(missing(&facts, &parked)
            .unwrap()
            .fix
            .contains("export.overlap = \"2m\""));
    }

    #[test]
    fn money_deltas_of_merged_guests_point_at_the_guest_mapping() {
        let guest = |n: &str, email: &str| {
            let mut s = shop(n, 119.0);
            s.guest = true;
            s.email = email.into();
            s
        };
        let shop = vec![guest("1", "a@x"), guest("2", "b@x"), shop("3", 10.0)];
        let mut erp = vec![erp("1", 141.61), erp("2", 141.61), erp("3", 10.0)];
        erp[2].customer_number = "C9".into();
        let mut report = RunReport::default();
        report.reconciliation.orders_outside_tolerance = 2;
        for n in ["1", "2"] {
            report
                .reconciliation
                .money_deltas
                .push(crate::report::model::MoneyDelta {
                    order_number: n.into(),
                    shop_gross: 119.0,
                    erp_gross: 141.61,
                    delta_gross: 22.61,
                    delta_net: 0.0,
                    delta_tax: [("19".to_string(), 22.61)].into(),
                    within_tolerance: false,
                });
        }
        let facts = RunFacts {
            orders: Some(super::super::run::OrderLists { shop: &shop, erp: &erp }),
            ..RunFacts::from_report(&report)
        };
        let m = money_deltas(&facts).unwrap();
        assert!(
            m.fix
                .starts_with("All of them are guest orders booked on the shared ERP customer C1"),
            "{}",
            m.fix
        );
        assert_eq!(m.impact.money_unreconciled, 45.22);
    }

    #[test]
    fn stale_closeouts_the_engine_did_not_park_are_found_at_the_twin() {
        let report = RunReport::default();
        let stale = vec![("SW1".to_string(), 5), ("SW2".to_string(), 3)];
        let parked = vec![crate::engine::state::ExceptionEntry {
            id: 1,
            subject: "SW2".into(),
            category: "closeout_unavailable".into(),
            owner: Owner::Ecommerce,
            detail: String::new(),
            resolved: false,
        }];
        let mut cfg = EngineConfig::default();
        cfg.inventory.indexing = Some("disable-indexing".into());
        let facts = RunFacts {
            engine: Some(&cfg),
            exceptions: &parked,
            stale_closeouts: Some(&stale),
            ..RunFacts::from_report(&report)
        };
        let f = stale_closeouts(&facts).unwrap();
        assert_eq!((f.count, f.examples.clone()), (1, vec!["SW1 (stock 5)".to_string()]));
        assert!(
            f.fix.contains("inventory.indexing (now \"disable-indexing\")"),
            "{}",
            f.fix
        );
        let all_parked = RunFacts {
            stale_closeouts: Some(&stale[1..]),
            ..facts
        };
        assert!(stale_closeouts(&all_parked).is_none());
    }

    #[test]
    fn a_429_storm_gets_concrete_lower_settings() {
        let mut report = RunReport::default();
        report.scenario.engine = "naive.toml".into();
        let rl = &mut report.rate_limits;
        rl.throttled_429 = 300;
        rl.ratio_429 = 0.05;
        rl.peak_requests_per_second = 14.0;
        rl.endpoints.insert(
            "shopware".into(),
            [(
                "PATCH /api/product/{id}".to_string(),
                EndpointStats {
                    requests: 6000,
                    by_status: [("204".to_string(), 5700), ("429".to_string(), 300)].into(),
                    records: 0,
                },
            )]
            .into(),
        );
        // 60 s intervals: a storm interval let 720 - 120 = 600 requests through = 10/s.
        report.timeline = (0..3)
            .map(|i| TimelinePoint {
                t_ms: i * 60_000,
                requests: 720,
                throttled: if i == 1 { 120 } else { 0 },
                ..Default::default()
            })
            .collect();
        let mut cfg = EngineConfig::default();
        cfg.inventory.strategy = crate::engine::inventory::PushStrategy::PerSkuPatch;
        cfg.inventory.batch_size = 1;
        cfg.inventory.concurrency = 4;
        let facts = RunFacts {
            engine: Some(&cfg),
            ..RunFacts::from_report(&report)
        };
        let f = rate_limited(&facts).unwrap();
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.examples, vec!["shopware PATCH /api/product/{id}: 300"]);
        assert!(
            f.fix
                .starts_with("In naive.toml: switch inventory.strategy to \"sync_batches\""),
            "{}",
            f.fix
        );
        assert!(f.fix.contains("inventory.concurrency from 4 to 2"), "{}", f.fix);
        assert!(
            f.fix
                .contains("rate_limits.shopware_per_second = 8 (now unpaced; the servers accepted about 10/s"),
            "{}",
            f.fix
        );
        report.rate_limits.ratio_429 = 0.001;
        let f = rate_limited(&RunFacts::from_report(&report)).unwrap();
        assert_eq!(f.severity, Severity::Info);
    }

    #[test]
    fn the_sample_report_is_diagnosed_from_its_counts() {
        let r = sample_report();
        let f = findings(&RunFacts::from_report(&r), &BTreeSet::new());
        let keys: BTreeSet<&str> = f.iter().map(|f| f.key.as_str()).collect();
        for k in [
            "missing_orders",
            "duplicated_orders",
            "money_outside_tolerance",
            "stock_mismatch",
            "oversold",
            "guests_merged",
            "rate_limited",
            "retry_after_ignored",
            "server_errors",
        ] {
            assert!(keys.contains(k), "{k} missing in {keys:?}");
        }
        let oversold = f.iter().find(|f| f.key == "oversold").unwrap();
        assert_eq!(oversold.impact.units_oversold, 7);
        let money = f.iter().find(|f| f.key == "money_outside_tolerance").unwrap();
        assert_eq!(money.impact.money_unreconciled, 5.0);
        assert_eq!(money.examples, vec!["SW10077"]);
        assert!(!keys.contains("export_behind"), "no engine config, no latency rule");
    }
}
