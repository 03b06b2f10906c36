//! `synctwin mock shopware`.

use crate::cli::ShopwareMockArgs;

pub async fn serve(_args: ShopwareMockArgs) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
