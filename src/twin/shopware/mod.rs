//! The Shopware 6 Admin API twin.

pub mod cli;
