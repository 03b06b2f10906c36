//! `synctwin run`: one scenario end to end (issue 5, in progress):
//! [`driver`] replays traffic against the twins; [`orchestrate`] runs twins,
//! driver and engine on one clock, drains, measures and reconciles.

pub mod busy;
pub mod driver;
pub mod engine_thread;
pub mod orchestrate;
