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
pub fn credentials(common: &CommonMockArgs, seed: u64) -> anyhow::Result<(Credentials, bool)> {
    match (&common.client_id, &common.client_secret) {
        (Some(id), Some(secret)) => Ok((Credentials::new(id.clone(), secret.clone()), true)),
        (None, None) => Ok((Credentials::generated(seed), false)),
        _ => anyhow::bail!(
            "give both --client-id and --client-secret (or SYNCTWIN_CLIENT_ID and SYNCTWIN_CLIENT_SECRET), or neither to generate them from --seed"
        ),
    }
}

/// Builds the standalone twin the command serves.
pub fn build(args: &ShopwareMockArgs) -> anyhow::Result<(Arc<ShopwareTwin>, bool, super::seed::SeedSummary)> {
    let scenario = args.common.load_scenario()?;
    let seed = args.common.seed(scenario.as_ref());
    let profile = match (&args.common.profile, &scenario) {
        (Some(path), _) => ShopwareProfile::load(path)?,
        (None, Some(s)) => ShopwareProfile::load(&s.plan.twins.shopware_path)?,
        (None, None) => ShopwareProfile::default_profile(),
    };
    let (mut creds, user_secret) = credentials(&args.common, seed)?;
    if let Some(p) = &args.admin_password {
        creds.admin_password = p.clone();
    }
    let (store, summary) = match scenario {
        Some(s) => {
            let store = s.catalogue.shop;
            let summary = super::seed::SeedSummary {
                products: store.len("product"),
                orders: store.len("order"),
                ..Default::default()
            };
            (store, summary)
        }
        None => {
            let mut store = Store::new();
            let summary = seed_shop(
                &mut store,
                &SeedConfig {
                    products: args.products,
                    orders: args.orders,
                    seed,
                },
            );
            (store, summary)
        }
    };
    let clock: SharedClock = Arc::new(ScaledClock::start(args.common.speed));
    let twin = ShopwareTwin::new(
        profile,
        store,
        creds,
        seed,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command, MockCommand};
    use clap::Parser;

    fn args(extra: &[&str]) -> ShopwareMockArgs {
        let mut argv = vec!["synctwin", "mock", "shopware"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Mock(MockCommand::Shopware(a)) => a,
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn a_scenario_gives_the_catalogue_profile_and_seed_of_its_runs() {
        let path = "scenarios/f1-unmapped-sku.toml";
        let plan = crate::scenario::plan::load(std::path::Path::new(path)).unwrap();
        let want = crate::scenario::catalogue::build(&plan);
        let (twin, _, summary) = build(&args(&["--scenario", path])).unwrap();
        assert_eq!(summary.products, want.shop.len("product"));
        let numbers = |s: &Store| -> Vec<String> {
            s.rows("product")
                .filter_map(|r| {
                    r.get("productNumber")
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_string)
                })
                .collect()
        };
        assert_eq!(numbers(&twin.read()), numbers(&want.shop));
        assert_eq!(
            twin.profile().name,
            ShopwareProfile::load(&plan.twins.shopware_path).unwrap().name
        );
        // The scenario's seed generates the credentials, unless --seed says otherwise.
        assert_eq!(
            twin.credentials().client_id,
            Credentials::generated(plan.seed).client_id
        );
        let (twin, _, _) = build(&args(&["--scenario", path, "--seed", "7"])).unwrap();
        assert_eq!(twin.credentials().client_id, Credentials::generated(7).client_id);
        let err =
            Cli::try_parse_from(["synctwin", "mock", "shopware", "--scenario", path, "--products", "5"]).unwrap_err();
        assert!(err.to_string().contains("--products"), "{err}");
    }
}
