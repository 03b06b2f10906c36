//! synctwin: a simulation and audit harness for Shopware 6 to ERP integrations.
//!
//! It runs stateful twins of the Shopware Admin API and of an ERP on loopback,
//! drives traffic through them on one scenario clock, lets a sync engine move
//! orders, stock and shipments between them, and measures rate-limit behaviour,
//! sync latency and reconciliation gaps at the twins.
//!
//! # Layout
//!
//! - [`clock`]: scenario time, the speed factor, conversions.
//! - [`measure`]: latencies, backlog and throttling computed from observations.
//! - [`observe`]: timestamped observations and request counters from the twins.
//! - [`twin`]: the transport-independent twin core, the hyper and wiremock
//!   transports, shared limits, faults and tokens, and the twins themselves:
//!   [`twin::shopware`] and [`twin::erp`].
//! - [`engine`]: the reference sync engine's decision logic.
//! - [`reconcile`]: the twins' end states compared: orders, money, stock, guests.
//! - [`diagnose`]: findings (root cause, impact, owner, fix) from runs and audits.
//! - [`scenario`]: scenario files validated into plans, catalogues, generated JSONL traces.
//! - [`record`]: a live shop's orders and catalogue recorded as a replayable, pseudonymised trace.
//! - [`report`]: the versioned run report and its formats.
//! - [`run`]: a scenario end to end: twins, traffic, engine, drain, measurement.
//! - [`sweep`]: a scenario over a grid of settings, and the recommended setting.
//! - [`audit`]: `synctwin audit`, data-integrity checks of a shop and an ERP item master.
//! - [`cli`]: the command line (clap); `main.rs` only parses and calls [`cli::run`].

pub mod audit;
pub mod cli;
pub mod clock;
pub mod diagnose;
pub mod engine;
pub mod measure;
pub mod observe;
pub mod reconcile;
pub mod record;
pub mod report;
pub mod run;
pub mod scenario;
pub mod sweep;
pub mod twin;
