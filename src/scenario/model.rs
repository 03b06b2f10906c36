//! The scenario file as written: serde types for `scenarios/*.toml`, before validation.
//!
//! Every table denies unknown keys. Values that need checks serde cannot express
//! (shares, ranges, times) are wrapped in [`Spanned`] so that [`super::plan`] can
//! name the line of a bad value. Nothing here is used after loading: callers get a
//! [`super::Plan`].
//!
//! ```toml
//! name = "default"                 # shown in reports
//! description = "A mix of F1-F7"   # optional
//! seed = 42                        # one seed for every random choice
//! duration = "1h"                  # scenario time: ms, s, m, h
//! speed = 60                       # scenario seconds per wall second
//!
//! [catalogue]
//! skus = 300                       # sellable SKUs: simple products plus variants
//! variant_share = 0.3              # share of SKUs that are variants (2-4 per parent); default 0
//! closeout_share = 0.1             # share of SKUs with isCloseout; default 0
//! configurator_share = 0.05        # share of SKUs that are customizable products; default 0
//! sold_out_share = 0.05            # share of SKUs starting with stock 0; default 0
//! missing_in_erp = 6               # whole number: a count; decimal in 0..1: a share (F1); default 0
//! tax_rates = { "19" = 0.85, "7" = 0.15 }   # rate -> share of SKUs (19, 7 or 0); default all 19
//! initial_stock = [5, 60]          # on hand in both systems, inclusive; default [10, 100]
//!
//! [[phases]]                       # any number, in time order, not overlapping
//! start = "0m"
//! end = "1h"
//! orders_per_hour = 300            # Poisson arrivals
//! guest_share = 0.3                # shares default to 0 unless stated
//! returning_share = 0.2            # a buyer seen before (same e-mail) buys again; default 0.3
//! promotion_share = 0.2
//! configurator_share = 0.05
//! basket_size = [1, 4]             # distinct lines per order, inclusive; default [1, 3]
//! cancel_share = 0.02              # orders cancelled later by the customer
//!
//! [[erp_events]]                   # any number
//! kind = "receipt"                 # receipt | adjustment | burst
//! every = "10m"                    # receipt, adjustment: interval (also start, end: the window)
//! share = 0.05                     # share of the ERP's SKUs (of `select`) each time
//! qty = [10, 40]                   # receipt, burst: units; adjustment: delta = [-3, 2], reason
//! select = "any"                   # any | closeouts | sold_out; burst: at = ["30m"], spread = "1m"
//!
//! # trace = "traces/recorded.jsonl"  # replay this trace (relative to the scenario file)
//! #                                 # instead of [[phases]] and [[erp_events]]; a recorded
//! #                                 # trace brings its catalogue, so [catalogue] goes too
//!
//! [twins]
//! shopware_profile = "mocks/shopware/self-hosted-6.6.toml"   # relative to the repository
//! erp_profile = "mocks/erp/business-central.toml"
//!
//! [engine]
//! config = "engine/careful.toml"   # relative to the scenario file, or the settings inline;
//!                                  # without [engine]: the engine defaults
//!
//! [thresholds]
//! "latency.order_export.p95" = "< 5m"
//! "reconciliation.missing_orders" = "== 0"
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    pub seed: u64,
    pub duration: Spanned<String>,
    pub speed: Spanned<f64>,
    /// A trace to replay instead of generating traffic.
    #[serde(default)]
    pub trace: Option<Spanned<String>>,
    /// Required unless `trace` names a recorded trace (which carries its catalogue).
    #[serde(default)]
    pub catalogue: Option<Spanned<CatalogueSection>>,
    #[serde(default)]
    pub phases: Vec<PhaseSection>,
    #[serde(default)]
    pub erp_events: Vec<ErpEventSection>,
    pub twins: TwinsSection,
    #[serde(default)]
    pub engine: Option<Spanned<toml::Table>>,
    #[serde(default)]
    pub thresholds: BTreeMap<String, Spanned<String>>,
}

/// `[catalogue]`: the shape of the shop's product range and the ERP item master.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueSection {
    pub skus: Spanned<u64>,
    #[serde(default)]
    pub variant_share: Option<Spanned<f64>>,
    #[serde(default)]
    pub closeout_share: Option<Spanned<f64>>,
    #[serde(default)]
    pub configurator_share: Option<Spanned<f64>>,
    #[serde(default)]
    pub sold_out_share: Option<Spanned<f64>>,
    #[serde(default)]
    pub missing_in_erp: Option<Spanned<CountOrShare>>,
    #[serde(default)]
    pub tax_rates: Option<Spanned<BTreeMap<String, f64>>>,
    #[serde(default)]
    pub initial_stock: Option<Spanned<Vec<i64>>>,
}

/// A whole number (a count) or a decimal (a share of the total).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub enum CountOrShare {
    Count(u64),
    Share(f64),
}

/// `[[phases]]`: order traffic between two scenario instants.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseSection {
    pub start: Spanned<String>,
    pub end: Spanned<String>,
    pub orders_per_hour: Spanned<f64>,
    #[serde(default)]
    pub guest_share: Option<Spanned<f64>>,
    #[serde(default)]
    pub returning_share: Option<Spanned<f64>>,
    #[serde(default)]
    pub promotion_share: Option<Spanned<f64>>,
    #[serde(default)]
    pub configurator_share: Option<Spanned<f64>>,
    #[serde(default)]
    pub basket_size: Option<Spanned<Vec<i64>>>,
    #[serde(default)]
    pub cancel_share: Option<Spanned<f64>>,
}

/// `[[erp_events]]`: stock moves booked in the ERP.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErpEventSection {
    pub kind: Spanned<String>,
    /// receipt, adjustment: the interval.
    #[serde(default)]
    pub every: Option<Spanned<String>>,
    /// burst: the instants.
    #[serde(default)]
    pub at: Option<Spanned<Vec<String>>>,
    /// receipt, adjustment: first tick (default: one interval in).
    #[serde(default)]
    pub start: Option<Spanned<String>>,
    /// receipt, adjustment: no tick at or after this (default: the duration).
    #[serde(default)]
    pub end: Option<Spanned<String>>,
    pub share: Spanned<f64>,
    /// receipt, burst: units per SKU.
    #[serde(default)]
    pub qty: Option<Spanned<Vec<i64>>>,
    /// adjustment: signed change per SKU.
    #[serde(default)]
    pub delta: Option<Spanned<Vec<i64>>>,
    /// adjustment: the reason code booked with it.
    #[serde(default)]
    pub reason: Option<String>,
    /// burst: the events of one burst are spread evenly over this span.
    #[serde(default)]
    pub spread: Option<Spanned<String>>,
    #[serde(default)]
    pub select: Option<Spanned<String>>,
}

/// `[twins]`: profile files, relative to the repository root.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwinsSection {
    pub shopware_profile: Spanned<String>,
    pub erp_profile: Spanned<String>,
}
