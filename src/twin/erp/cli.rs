//! `synctwin mock erp`: serve the ERP twin on loopback until Ctrl-C.
//!
//! Prints one line with the base URL, the token URL, the company's API base
//! and the OAuth client credentials. `--scenario` is not available yet
//! (scenarios are issue 5); `--seed` and `--items` or `--items-csv` shape the
//! item master.

use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use super::{Catalogue, ErpConfig, ErpProfile, ErpTwin};
use crate::cli::ErpMockArgs;
use crate::clock::ScaledClock;
use crate::observe::ObservationLog;

/// Builds the twin from the command line (no I/O besides reading files).
pub fn build(args: &ErpMockArgs) -> anyhow::Result<ErpTwin> {
    let common = &args.common;
    let profile = match &common.profile {
        Some(path) => ErpProfile::load(path)?,
        None => ErpProfile::business_central(),
    };
    let catalogue = match &args.items_csv {
        Some(path) => {
            let codes: BTreeSet<String> = profile.tax_codes.iter().map(|t| t.code.clone()).collect();
            Catalogue::Rows(super::csv::load(path, &codes)?)
        }
        None => Catalogue::Generated { items: args.items },
    };
    let cfg = ErpConfig {
        profile,
        seed: common.seed,
        catalogue,
        client_id: common.client_id.clone(),
        client_secret: common.client_secret.clone(),
    };
    let clock = Arc::new(ScaledClock::start(common.speed));
    Ok(ErpTwin::new(cfg, clock, ObservationLog::new())?)
}

pub async fn serve(args: ErpMockArgs) -> anyhow::Result<()> {
    let twin = build(&args)?;
    let addr = args.common.addr();
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("Failed to bind the ERP twin to {addr}"))?;
    let local = listener.local_addr().context("Failed to read the bound address")?;
    let (id, secret) = twin.credentials();
    println!(
        "ERP twin ({}) at http://{local}  token: POST http://{local}/oauth/token  api: http://{local}{}  client_id={id} client_secret={secret}  speed={}x",
        twin.profile().name,
        twin.api_base(),
        args.common.speed.factor()
    );
    crate::twin::http::serve_until_ctrl_c(Arc::new(twin), listener).await;
    Ok(())
}
