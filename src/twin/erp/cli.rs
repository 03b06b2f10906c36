//! `synctwin mock erp`: serve the ERP twin on loopback until Ctrl-C.
//!
//! Prints one line with the base URL, the token URL, the company's API base
//! and the OAuth client credentials. `--scenario` serves the item master a run
//! of that scenario starts with; otherwise `--seed` and `--items` or
//! `--items-csv` shape it.

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
    let scenario = common.load_scenario()?;
    let seed = common.seed(scenario.as_ref());
    let profile = match (&common.profile, &scenario) {
        (Some(path), _) => ErpProfile::load(path)?,
        (None, Some(s)) => ErpProfile::load(&s.plan.twins.erp_path)?,
        (None, None) => ErpProfile::business_central(),
    };
    let catalogue = match (&args.items_csv, scenario) {
        (_, Some(s)) => s.catalogue.erp,
        (Some(path), None) => {
            let codes: BTreeSet<String> = profile.tax_codes.iter().map(|t| t.code.clone()).collect();
            Catalogue::Rows(super::csv::load(path, &codes)?)
        }
        (None, None) => Catalogue::Generated { items: args.items },
    };
    let cfg = ErpConfig {
        profile,
        seed,
        catalogue,
        client_id: common.client_id.clone(),
        client_secret: common.client_secret.clone(),
    };
    let clock = Arc::new(ScaledClock::start(common.speed));
    // Nobody drains a standalone server's observations: keep the newest only.
    let log = ObservationLog::bounded(crate::twin::shopware::cli::STANDALONE_OBSERVATIONS);
    Ok(ErpTwin::new(cfg, clock, log)?)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command, MockCommand};
    use clap::Parser;

    fn args(extra: &[&str]) -> ErpMockArgs {
        let mut argv = vec!["synctwin", "mock", "erp"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Mock(MockCommand::Erp(a)) => a,
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn builds_from_flags_with_a_generated_or_csv_item_master() {
        let twin = build(&args(&[
            "--seed",
            "3",
            "--items",
            "12",
            "--client-id",
            "me",
            "--client-secret",
            "s",
        ]))
        .unwrap();
        assert_eq!(twin.credentials(), ("me", "s"));
        let snap = twin.snapshot();
        assert!(snap.items.contains_key("SW10011") && !snap.items.contains_key("SW10012"));

        let dir = std::env::temp_dir().join(format!("synctwin-erp-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let csv = dir.join("items.csv");
        std::fs::write(
            &csv,
            "number,type,description,unit price,tax code,on hand\nMUG-1,Inventory,Mug,9.99,VAT19,12\n",
        )
        .unwrap();
        let twin = build(&args(&["--items-csv", csv.to_str().unwrap()])).unwrap();
        let snap = twin.snapshot();
        assert_eq!(snap.items["MUG-1"].inventory, 12);
        assert!(snap.items.contains_key("SHIPPING"), "service items are always there");

        std::fs::write(
            &csv,
            "number,type,description,unit price,tax code,on hand\nMUG-1,Stock,Mug,9.99,VAT19,12\n",
        )
        .unwrap();
        let err = format!(
            "{:#}",
            build(&args(&["--items-csv", csv.to_str().unwrap()])).err().unwrap()
        );
        assert!(err.contains("line 2") && err.contains("Non-Inventory"), "{err}");
        let err = format!(
            "{:#}",
            build(&args(&["--profile", "/nonexistent/erp.toml"])).err().unwrap()
        );
        assert!(err.contains("/nonexistent/erp.toml"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_scenario_gives_the_item_master_profile_and_seed_of_its_runs() {
        // Unit tests run from the crate root, where the shipped scenarios are.
        let path = "scenarios/f1-unmapped-sku.toml";
        let plan = crate::scenario::plan::load(std::path::Path::new(path)).unwrap();
        let want = crate::scenario::catalogue::build(&plan);
        let twin = build(&args(&["--scenario", path])).unwrap();
        let snap = twin.snapshot();
        let Catalogue::Rows(rows) = want.erp else {
            panic!("a scenario's ERP catalogue is explicit rows")
        };
        assert!(!rows.is_empty());
        for r in &rows {
            assert!(snap.items.contains_key(&r.number), "{} missing", r.number);
        }
        let plan_profile = ErpProfile::load(&plan.twins.erp_path).unwrap();
        assert_eq!(twin.profile().name, plan_profile.name);
        // Flags that would shape another item master are refused with it.
        let err = Cli::try_parse_from(["synctwin", "mock", "erp", "--scenario", path, "--items", "5"]).unwrap_err();
        assert!(err.to_string().contains("--items"), "{err}");
        let err = format!(
            "{:#}",
            build(&args(&["--scenario", "scenarios/nope.toml"])).err().unwrap()
        );
        assert!(err.contains("scenarios/nope.toml"), "{err}");
    }
}
