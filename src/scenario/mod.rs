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
//! - [`threshold`]: k6-style conditions and the metric names they may use;
//! - [`catalogue`]: the shop's products and the ERP item master for a plan;
//! - [`trace`]: the JSONL trace format, a streaming writer and reader;
//! - [`generate`]: seeded traffic (Poisson arrivals, baskets, customers, ERP events).

pub mod catalogue;
pub mod generate;
pub mod model;
pub mod plan;
pub mod threshold;
pub mod trace;

pub use catalogue::{build, BuiltCatalogue};
pub use generate::{generate, GenerateSummary};
pub use plan::{load, Plan, ScenarioError};
pub use threshold::{Threshold, METRICS};
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
}
