//! The reference sync engine (issue 4). Its decision logic is pure and
//! unit-tested; HTTP adapters are thin. Built so far:
//! - [`backoff`]: which failures are retried, full-jitter backoff, `Retry-After`;
//! - [`driver`]: each flow in a lane of its own, run when its interval is due;
//! - [`export`]: order export through the outbox, exactly once;
//! - [`pacing`]: client-side request pacing;
//! - [`ports`]: the traits the flows need (shop, ERP, pausing);
//! - [`inventory`]: ERP stock into Shopware in batches or per SKU;
//! - [`mapping`]: Shopware orders to ERP-neutral drafts, or categorised issues;
//! - [`fulfilment`]: ERP shipments back as tracking codes and transitions;
//! - [`http`]: thin clients for Shopware (and, later, the ERP);
//! - [`config`]: the engine's TOML configuration;
//! - [`batching`]: batches of the sync API and isolating bad records;
//! - [`state`]: watermark, outbox and exception queue in SQLite;
//! - [`stock_policy`]: the stock figure pushed to Shopware (safe and naive);
//! - [`watermark`]: the order-export cursor with a tiebreak.

pub mod backoff;
pub mod batching;
pub mod config;
pub mod driver;
pub mod export;
pub mod fulfilment;
pub mod http;
pub mod inventory;
pub mod mapping;
pub mod pacing;
pub mod ports;
pub mod state;
pub mod stock_policy;
pub mod watermark;
