//! The Shopware 6 Admin API twin.

pub mod checkout;
pub mod cli;
pub mod pricing;
pub mod seed;
pub mod states;
pub mod stock;
pub mod store;
