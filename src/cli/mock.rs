//! `synctwin mock shopware|erp`: serve one twin on loopback until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::MockCommand;
use crate::clock::Speed;

/// Options every twin takes.
#[derive(Debug, Clone, Args)]
pub struct CommonMockArgs {
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Address to bind. Loopback by default; binding elsewhere exposes the twin.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Twin profile (TOML) with capacity, rate limits and faults; default: the shipped default profile.
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// Seed for all generated data [default: the scenario's, else 42].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Serve the twin a run of this scenario starts with: its catalogue (or its
    /// recorded trace's), its twin profile and its seed, so an integration can be
    /// tried by hand on the data a run uses. --profile and --seed override.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Integration client id (default: generated from the seed).
    #[arg(long, env = "SYNCTWIN_CLIENT_ID")]
    pub client_id: Option<String>,
    /// Integration client secret (default: generated from the seed). Prefer the env variable.
    #[arg(long, env = "SYNCTWIN_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// Scenario speed factor (scenario seconds per wall second), e.g. 60.
    #[arg(long, default_value = "1")]
    pub speed: Speed,
}

/// A scenario loaded for a mock: its plan and both catalogues.
pub struct MockScenario {
    pub plan: crate::scenario::plan::Plan,
    pub catalogue: crate::scenario::catalogue::BuiltCatalogue,
}

impl CommonMockArgs {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.port)
    }

    /// The seed: `--seed`, else the scenario's, else 42.
    pub fn seed(&self, scenario: Option<&MockScenario>) -> u64 {
        self.seed.or(scenario.map(|s| s.plan.seed)).unwrap_or(42)
    }

    /// Loads `--scenario` (validated like `synctwin run` does), if given.
    pub fn load_scenario(&self) -> anyhow::Result<Option<MockScenario>> {
        let Some(path) = &self.scenario else { return Ok(None) };
        let plan = crate::scenario::plan::load(path)?;
        let erp_profile = crate::twin::erp::ErpProfile::load(&plan.twins.erp_path)?;
        let replay = plan.trace.as_ref().map(|t| t.path.clone());
        let catalogue = super::run::scenario_catalogue(&plan, path, replay.as_deref(), &erp_profile)?;
        Ok(Some(MockScenario { plan, catalogue }))
    }
}

#[derive(Debug, Clone, Args)]
pub struct ShopwareMockArgs {
    #[command(flatten)]
    pub common: CommonMockArgs,
    /// Products to seed (parents and variants count separately).
    #[arg(long, default_value_t = 300, conflicts_with = "scenario")]
    pub products: usize,
    /// Orders to seed.
    #[arg(long, default_value_t = 40, conflicts_with = "scenario")]
    pub orders: usize,
    /// Password of the admin user `admin` (password grant, `client_id=administration`);
    /// default: derived from the client secret and printed.
    #[arg(long, env = "SYNCTWIN_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ErpMockArgs {
    #[command(flatten)]
    pub common: CommonMockArgs,
    /// Items to seed.
    #[arg(long, default_value_t = 300, conflicts_with = "scenario")]
    pub items: usize,
    /// Load the item master from a CSV (number,type,description,unit price,tax code,on hand).
    #[arg(long, conflicts_with = "scenario")]
    pub items_csv: Option<PathBuf>,
}

pub fn run(cmd: MockCommand) -> anyhow::Result<std::process::ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("Failed to start the async runtime")?;
    rt.block_on(async move {
        match cmd {
            MockCommand::Shopware(args) => crate::twin::shopware::cli::serve(args).await,
            MockCommand::Erp(args) => crate::twin::erp::cli::serve(args).await,
        }
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}
