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
    /// Seed for all generated data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
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

impl CommonMockArgs {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.port)
    }
}

#[derive(Debug, Clone, Args)]
pub struct ShopwareMockArgs {
    #[command(flatten)]
    pub common: CommonMockArgs,
    /// Products to seed (parents and variants count separately).
    #[arg(long, default_value_t = 300)]
    pub products: usize,
    /// Orders to seed.
    #[arg(long, default_value_t = 40)]
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
    #[arg(long, default_value_t = 300)]
    pub items: usize,
    /// Load the item master from a CSV (number,type,description,unit price,tax code,on hand).
    #[arg(long)]
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
