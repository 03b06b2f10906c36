//! The Shopware 6 Admin API twin.

pub mod cli;
pub mod pricing;
pub mod states;
pub mod stock;
pub mod store;
