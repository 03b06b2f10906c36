//! Run reports: the versioned [`model::RunReport`] and its renderings.
//!
//! - [`model`]: the report itself; [`schema`]: its committed JSON schema;
//!   [`sample`]: a fixed report for tests, benches and demos.

pub mod model;
pub mod sample;
pub mod schema;

pub use model::{RunReport, REPORT_VERSION};
pub mod advice;
pub mod baseline;
pub mod threshold;
pub mod units;
