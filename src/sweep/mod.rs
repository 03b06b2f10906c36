//! `synctwin sweep`: one scenario run once per point of a grid of settings, and a
//! recommendation (DESIGN.md: "ecommerce / ops team before peak trading").
//!
//! # Layout
//!
//! - [`grid`]: `--set KEY=v1,v2` axes, their product numbered row-major, `--shard I/N`;
//! - [`overrides`]: a point's settings applied to the scenario's TOML before validation;
//! - [`evaluate`]: one run judged (reconciliation gaps, 429 ratio, time to consistency);
//! - [`recommend`]: runs summarised per point, the fastest passing point and its neighbours;
//! - [`model`]: the versioned [`SweepReport`]; [`schema`]: its committed JSON schema;
//! - [`merge`]: point reports and shard sweep reports combined into one sweep report;
//! - [`table`], [`html`]: the terminal table and the self-contained HTML page.
//!
//! Running the points is the CLI's job (`src/cli/sweep.rs`): each point is exactly
//! the run `synctwin run` would do with those settings ([`crate::run::prepare`]).

pub mod evaluate;
pub mod grid;
pub mod html;
pub mod merge;
pub mod model;
pub mod overrides;
pub mod recommend;
pub mod schema;
pub mod table;

pub use model::{SweepReport, SWEEP_VERSION};
