//! The one integration test binary. Each module is one area:
//! - `helpers`: fixtures and typed HTTP helpers shared by the suites;
//! - `shopware`: the Shopware twin's contract suite, run on both transports;
//! - `erp`: the ERP twin's contract suite, run on both transports.
mod erp;
mod helpers;
mod shopware;
