//! `synctwin mock shopware`: seed a shop, serve it on the hyper transport,
//! print one line with the base URL and credentials, serve until Ctrl-C.

use std::sync::Arc;

use anyhow::Context;

use super::seed::{seed_shop, SeedConfig};
use super::store::Store;
use super::{Credentials, ShopwareProfile, ShopwareTwin};
use crate::cli::{CommonMockArgs, ShopwareMockArgs};
use crate::clock::{ScaledClock, SharedClock};
use crate::observe::ObservationLog;

/// Observations a standalone twin keeps (nobody drains them): enough to inspect
/// a session, bounded so memory stays flat on long runs.
pub const STANDALONE_OBSERVATIONS: usize = 50_000;

/// Credentials from the flags or env, or generated from the seed. The second
/// value says whether the secret came from the user (then it is never echoed).
pub fn credentials(common: &CommonMockArgs) -> anyhow::Result<(Credentials, bool)> {
    match (&common.client_id, &common.client_secret) {
        (Some(id), Some(secret)) => Ok((Credentials::new(id.clone(), secret.clone()), true)),
        (None, None) => Ok((Credentials::generated(common.seed), false)),
        _ => anyhow::bail!(
            "give both --client-id and --client-secret (or SYNCTWIN_CLIENT_ID and SYNCTWIN_CLIENT_SECRET), or neither to generate them from --seed"
        ),
    }
}

/// Builds the standalone twin the command serves.
pub fn build(args: &ShopwareMockArgs) -> anyhow::Result<(Arc<ShopwareTwin>, bool, super::seed::SeedSummary)> {
    let profile = match &args.common.profile {
        Some(path) => ShopwareProfile::load(path)?,
        None => ShopwareProfile::default_profile(),
    };
    let (mut creds, user_secret) = credentials(&args.common)?;
    if let Some(p) = &args.admin_password {
        creds.admin_password = p.clone();
    }
    let mut store = Store::new();
    let summary = seed_shop(
        &mut store,
        &SeedConfig {
            products: args.products,
            orders: args.orders,
            seed: args.common.seed,
        },
    );
    let clock: SharedClock = Arc::new(ScaledClock::start(args.common.speed));
    let twin = ShopwareTwin::new(
        profile,
        store,
        creds,
        args.common.seed,
        clock,
        ObservationLog::bounded(STANDALONE_OBSERVATIONS),
    );
    Ok((twin, user_secret, summary))
}

pub async fn serve(args: ShopwareMockArgs) -> anyhow::Result<()> {
    let (twin, user_secret, summary) = build(&args)?;
    let addr = args.common.addr();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}: is the port in use, or the address not on this machine?"))?;
    let local = listener.local_addr().context("cannot read the bound address")?;
    if !local.ip().is_loopback() {
        eprintln!("warning: the Shopware twin listens on {local}, reachable from other machines");
    }
    let c = twin.credentials();
    let secret = if user_secret {
        "(as given)".to_string()
    } else {
        c.client_secret.clone()
    };
    println!(
        "shopware twin: http://{local}/api  client_id={} client_secret={secret}  admin_user={} admin_password={}  profile={} products={} orders={} speed={}x  (Ctrl-C stops)",
        c.client_id,
        c.admin_user,
        if args.admin_password.is_some() { "(as given)".to_string() } else { c.admin_password.clone() },
        twin.profile().name,
        summary.products,
        summary.orders,
        twin.clock().speed().factor(),
    );
    crate::twin::http::serve_until_ctrl_c(twin, listener).await;
    Ok(())
}
