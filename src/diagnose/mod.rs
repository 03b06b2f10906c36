//! Diagnosis: measurements and exceptions turned into findings a person can act
//! on. A [`Finding`] is one root cause with its business impact (orders blocked,
//! units oversold, money unreconciled), evidence, owner (ecommerce, operations,
//! finance, integration) and the change that fixes it, adapted to the settings in
//! use. Run reports carry them first (`RunReport::diagnosis`), and
//! `synctwin audit` reports its data-integrity checks with the same model.
//!
//! - [`finding`]: the model, severities and the ranking;
//! - [`run`]: the diagnosis of a run from [`RunFacts`], built from
//!   [`exceptions`] (the engine's queue grouped by root cause) and [`gaps`]
//!   (what reconciliation, rate limits and latency measured);
//! - [`metric`]: failed thresholds that no other finding explains, with the
//!   generic owner and next step of each metric;
//! - [`render`]: findings as text, Markdown and HTML for every report format.

pub mod exceptions;
pub mod finding;
pub mod gaps;
pub mod metric;
pub mod render;
pub mod run;

pub use finding::{rank, Finding, Impact, Owner, Severity};
pub use run::{diagnose, OrderLists, RunFacts};
