//! Run reports: the versioned [`model::RunReport`] and its renderings.

pub mod model;

pub use model::{RunReport, REPORT_VERSION};
