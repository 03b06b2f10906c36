//! The Shopware 6 Admin API twin: a stateful fake of the subset an ERP
//! integration uses (OAuth, search, detail reads, PATCH, sync, state machines,
//! 6.6 stock), speaking Shopware's wire format and error envelope.
//!
//! Layout: [`store`] (entity rows and associations; [`rows`], [`fk`] and
//! [`packed`] are how it keeps them small), [`criteria`], [`search`]
//! and [`render`] (the search API), [`write`] and [`sync`] (writes), [`states`]
//! (state machines), [`stock`] (6.6 stock and `available`), [`errors`] (the
//! error envelope), [`profile`] (capacity, limits, faults from
//! `mocks/shopware/*.toml`), [`twin`] (the shareable twin) and [`routes`] (the
//! request pipeline), [`pricing`] and [`checkout`] (the storefront: carts into
//! orders with Shopware's own money maths), [`seed`] (the default shop), [`cli`]
//! (`synctwin mock shopware`).

pub mod checkout;
pub mod cli;
pub mod criteria;
pub mod errors;
pub mod fk;
pub mod packed;
pub mod pricing;
pub mod profile;
pub mod render;
pub mod routes;
pub mod rows;
pub mod search;
pub mod seed;
pub mod sorted;
pub mod states;
pub mod stock;
pub mod store;
pub mod storefront;
pub mod sync;
pub mod twin;
pub mod write;

pub use profile::ShopwareProfile;
pub use storefront::PlacedOrder;
pub use twin::{Credentials, ShopwareTwin};
