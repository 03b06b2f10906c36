//! The one integration test binary. Each module is one area:
//! - `audit`: `synctwin audit` against both twins, one planted problem at a time;
//! - `diagnose`: the diagnosis of a real run (findings per root cause, first in every format);
//! - `conformance`: response bodies against Shopware's published Admin API schema;
//! - `engine`: the sync engine's adapters against the twins;
//! - `helpers`: fixtures and typed HTTP helpers shared by the suites;
//! - `measurement`: known-answer tests of the latencies measured at the twins;
//! - `resilience`: the engine across both twins under faults, killed and restarted;
//! - `record`: `synctwin record` against the Shopware twin, pseudonyms, and the replay of its trace;
//! - `run`: a run end to end, and the same run at two speeds;
//! - `shopware`: the Shopware twin's contract suite, run on both transports;
//! - `storefront`: orders placed directly by the traffic driver;
//! - `strategies`: the careful and naive engine settings end to end (F2, F8, F11);
//! - `sweep`: `synctwin sweep` and `report merge` through the binary: grid, shards, merge, exit codes;
//! - `erp`: the ERP twin's contract suite, run on both transports.
#[macro_use]
mod helpers;
mod audit;
mod conformance;
mod diagnose;
mod engine;
mod erp;
mod measurement;
mod record;
mod resilience;
mod run;
mod shopware;
mod storefront;
mod strategies;
mod sweep;
