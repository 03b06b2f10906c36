//! Diagnosis of a run: what the run's report, the engine's exception queue and
//! the twins' end states say, as ranked findings. [`RunFacts`] is everything the
//! diagnosis reads (pure data, no I/O); [`diagnose`] builds the findings from
//! the exceptions ([`super::exceptions`]) and from the measured gaps
//! ([`super::gaps`]).

use std::collections::BTreeMap;

use super::finding::{rank, Finding};
use crate::engine::config::EngineConfig;
use crate::engine::state::ExceptionEntry;
use crate::reconcile::{ErpOrder, ShopOrder};
use crate::report::model::RunReport;

/// Both sides' orders at the end of the run.
#[derive(Debug, Clone, Copy)]
pub struct OrderLists<'a> {
    pub shop: &'a [ShopOrder],
    pub erp: &'a [ErpOrder],
}

/// What a diagnosis reads.
#[derive(Debug, Clone, Copy)]
pub struct RunFacts<'a> {
    /// The report with measurement and reconciliation filled in.
    pub report: &'a RunReport,
    /// The reference engine's settings; `None` for an external integration.
    pub engine: Option<&'a EngineConfig>,
    /// Open exceptions of the engine's queue (empty for an external integration).
    pub exceptions: &'a [ExceptionEntry],
    /// Both sides' orders, when known (a report read from a file has only counts).
    pub orders: Option<OrderLists<'a>>,
    /// The ERP's item numbers at the end, and whether each is blocked.
    pub erp_items: Option<&'a BTreeMap<String, bool>>,
    /// Products Shopware shows sold out at the end although its indexer would
    /// show them available (SKU, stock): closeouts restocked without indexing.
    pub stale_closeouts: Option<&'a [(String, i64)]>,
}

impl<'a> RunFacts<'a> {
    /// Facts from a report alone (counts, no order lists, no exceptions).
    pub fn from_report(report: &'a RunReport) -> Self {
        RunFacts {
            report,
            engine: None,
            exceptions: &[],
            orders: None,
            erp_items: None,
            stale_closeouts: None,
        }
    }

    /// The name the report gives the engine configuration (for fix texts).
    pub fn engine_name(&self) -> &str {
        if self.report.scenario.engine.is_empty() {
            "the engine config"
        } else {
            &self.report.scenario.engine
        }
    }

    /// Shopware orders by number.
    pub fn shop_orders(&self) -> BTreeMap<&'a str, &'a ShopOrder> {
        self.orders
            .map(|o| o.shop.iter().map(|s| (s.number.as_str(), s)).collect())
            .unwrap_or_default()
    }
}

/// The run's findings, ranked (failed thresholds are added when the verdict is
/// evaluated, see [`super::metric::explain_thresholds`]).
pub fn diagnose(facts: &RunFacts) -> Vec<Finding> {
    let (mut findings, parked) = super::exceptions::findings(facts);
    findings.extend(super::gaps::findings(facts, &parked));
    rank(&mut findings);
    findings
}
