//! From a validated [`Plan`] to what [`super::orchestrate::execute`] takes, and
//! back to an evaluated report: profiles loaded, both catalogues built, the trace
//! written and read back as [`Traffic`], the timeline interval and drain limit
//! derived from the plan, thresholds evaluated on the result. Shared by
//! `synctwin run` (one run) and `synctwin sweep` (one run per grid point), so a
//! sweep point is exactly the run `synctwin run` would do with those settings.

use std::io::{BufReader, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use super::driver::Traffic;
use super::orchestrate::{EngineMode, RunSetup};
use crate::report::RunReport;
use crate::scenario::{BuiltCatalogue, Plan};
use crate::twin::erp::ErpProfile;
use crate::twin::shopware::ShopwareProfile;

/// The reference engine with the plan's engine settings.
pub fn reference_engine(plan: &Plan) -> EngineMode {
    EngineMode::Reference {
        config: Box::new(plan.engine.config.clone()),
        name: plan.engine.name.clone(),
    }
}

/// The run setup of a plan; consumes the catalogue (its store becomes the
/// Shopware twin's). The timeline has about 60 points (at least a minute each);
/// the drain waits up to four order intervals, at least 30 scenario minutes.
pub fn setup(plan: &Plan, engine: EngineMode, catalogue: BuiltCatalogue) -> anyhow::Result<RunSetup> {
    let shop_profile = ShopwareProfile::load(&plan.twins.shopware_path)?;
    let erp_profile = ErpProfile::load(&plan.twins.erp_path)?;
    Ok(RunSetup {
        name: plan.name.clone(),
        seed: plan.seed,
        duration: plan.duration,
        speed: plan.speed,
        shop_profile,
        erp_profile,
        shop_store: catalogue.shop,
        erp_catalogue: catalogue.erp,
        engine,
        interval: (plan.duration / 60).max(Duration::from_secs(60)),
        drain_limit: (plan.engine.config.intervals.orders * 4).max(Duration::from_secs(1800)),
    })
}

/// Generates the plan's traffic into a JSONL trace file.
pub fn write_trace(plan: &Plan, catalogue: &BuiltCatalogue, path: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::create(path).with_context(|| format!("cannot write the trace {}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    crate::scenario::generate::generate(plan, catalogue, &mut w)
        .with_context(|| format!("cannot write the trace {}", path.display()))?;
    w.flush()
        .with_context(|| format!("cannot write the trace {}", path.display()))?;
    Ok(())
}

/// A trace file read lazily as traffic (events a run does not replay are
/// skipped); a bad line is an error naming the file.
pub fn read_trace(path: &Path) -> anyhow::Result<impl Iterator<Item = anyhow::Result<Traffic>>> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot read the trace {}", path.display()))?;
    let name = path.display().to_string();
    Ok(
        crate::scenario::trace::read(BufReader::new(file)).filter_map(move |r| match r {
            Ok(ev) => Traffic::from_event(ev).map(Ok),
            Err(e) => Some(Err(anyhow::anyhow!("{name}: {e}"))),
        }),
    )
}

/// Checks the plan's thresholds against the report and fills its verdict.
pub fn evaluate(plan: &Plan, report: &mut RunReport) -> anyhow::Result<()> {
    let thresholds = plan
        .thresholds
        .iter()
        .map(|t| (t.metric.clone(), t.text.clone()))
        .collect();
    crate::report::threshold::evaluate(report, &thresholds)?;
    Ok(())
}
