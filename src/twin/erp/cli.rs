//! `synctwin mock erp`.

use crate::cli::ErpMockArgs;

pub async fn serve(_args: ErpMockArgs) -> anyhow::Result<()> {
    anyhow::bail!("the ERP twin is not built yet (issue 3)")
}
