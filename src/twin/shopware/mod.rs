//! The Shopware 6 Admin API twin.

pub mod cli;
pub mod criteria;
pub mod errors;
pub mod profile;
pub mod render;
pub mod search;
pub mod states;
pub mod stock;
pub mod store;
pub mod sync;
pub mod write;
