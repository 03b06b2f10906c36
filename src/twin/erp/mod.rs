//! The ERP twin (Business Central API v2.0 shape). Being built in issue 3.

pub mod cli;
