//! Scenarios: the traffic, catalogue, twins, engine and thresholds of one run.
//!
//! A scenario is a TOML file in `scenarios/` ([`model`] has a commented example).
//! [`plan::load`] validates it into a [`Plan`] that cannot be invalid;
//! [`catalogue::build`] makes both twins' catalogues from it; [`generate::generate`]
//! writes its traffic as a JSONL [`trace`] that a run replays on the scenario clock.
//!
//! # Layout
//!
//! - [`model`]: the file as written (serde, unknown keys refused);
//! - [`plan`]: validation into a [`Plan`], [`ScenarioError`] naming file, line and key;
//! - [`catalogue`]: the shop's products and the ERP item master for a plan;
//! - [`trace`]: the JSONL trace format, a streaming writer and reader;
//! - [`generate`]: seeded traffic (Poisson arrivals, baskets, customers, ERP events);
//! - [`recorded`]: the catalogue header of a recorded trace, built into both twins.
//!
//! Thresholds are parsed and checked by [`crate::report::threshold`], the same
//! code that evaluates them after a run.

pub mod catalogue;
pub mod generate;
pub mod model;
pub mod plan;
pub mod recorded;
pub mod trace;

pub use crate::report::threshold::{Threshold, METRICS};
pub use catalogue::{build, BuiltCatalogue};
pub use generate::{generate, GenerateSummary};
pub use plan::{load, Plan, ScenarioError};
pub use trace::{TraceError, TraceEvent};

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every shipped scenario loads and validates, with thresholds; each named one exists.
    #[test]
    fn every_shipped_scenario_is_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let plan = super::load(&path).unwrap_or_else(|e| panic!("{e}"));
                assert!(!plan.thresholds.is_empty(), "{}: no thresholds", path.display());
                names.push(plan.name);
            }
        }
        names.sort();
        for wanted in [
            "default",
            "f1-unmapped-sku",
            "f2-promotions",
            "f3-inventory-burst",
            "f4-stock-resurrection",
            "f5-guest-checkout",
            "f6-closeout-restock",
            "f7-configurator",
            "peak-day",
        ] {
            assert!(names.iter().any(|n| n == wanted), "{wanted} missing: {names:?}");
        }
    }

    /// No engine can export an order the ERP rejects for an unknown SKU (F1): a
    /// `missing_orders` threshold must allow at least those orders. Checked on the
    /// small scenarios (the big ones take long in a debug build).
    #[test]
    fn missing_order_thresholds_allow_the_unmapped_orders() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let plan = super::load(&path).unwrap();
            if plan.catalogue.skus > 5_000 {
                continue;
            }
            let Some(t) = plan
                .thresholds
                .iter()
                .find(|t| t.metric == "reconciliation.missing_orders")
            else {
                continue;
            };
            let cat = super::build(&plan);
            let sum = super::generate(&plan, &cat, &mut std::io::sink()).unwrap();
            assert!(
                t.condition.holds(sum.orders_missing_in_erp as f64),
                "{}: {} orders carry unmapped SKUs, threshold {}",
                plan.name,
                sum.orders_missing_in_erp,
                t.text
            );
        }
    }
}
