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
}
