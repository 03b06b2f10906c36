//! The one integration test binary. Each module is one area:
//! - `conformance`: response bodies against Shopware's published Admin API schema;
//! - `engine`: the sync engine's adapters against the twins;
//! - `helpers`: fixtures and typed HTTP helpers shared by the suites;
//! - `resilience`: the engine across both twins under faults, killed and restarted;
//! - `run`: a run end to end, and the same run at two speeds;
//! - `shopware`: the Shopware twin's contract suite, run on both transports;
//! - `storefront`: orders placed directly by the traffic driver;
//! - `sweep`: `synctwin sweep` and `report merge` through the binary: grid, shards, merge, exit codes;
//! - `erp`: the ERP twin's contract suite, run on both transports.
#[macro_use]
mod helpers;
mod conformance;
mod engine;
mod erp;
mod resilience;
mod run;
mod shopware;
mod storefront;
mod sweep;
