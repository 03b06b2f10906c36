//! `synctwin run`: one scenario end to end (issue 5, in progress):
//! [`driver`] replays traffic against the twins; [`orchestrate`] runs twins,
//! driver and engine on one clock, drains, measures and reconciles what
//! `end_state` reads out of the twins;
//! [`prepare`] turns a validated plan into a run setup and a trace, and
//! evaluates the plan's thresholds on the report.

pub mod busy;
pub mod driver;
mod end_state;
pub mod engine_thread;
pub mod orchestrate;
pub mod prepare;
