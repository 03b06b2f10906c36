//! `synctwin generate SCENARIO -o trace.jsonl`: write a scenario's traffic as a trace.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use crate::scenario::{self, catalogue, generate};

/// Arguments of `synctwin generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The scenario file (e.g. scenarios/default.toml).
    pub scenario: PathBuf,
    /// Where to write the JSONL trace; `-` for standard output.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Loads the scenario, builds its catalogue and streams the trace; a summary goes to stderr.
pub fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let mut plan = scenario::load(&args.scenario)?;
    if let Some(t) = &plan.trace {
        anyhow::bail!(
            "the scenario {} replays the trace {} and generates no traffic: run it with `synctwin run`",
            args.scenario.display(),
            t.path.display()
        );
    }
    if let Some(seed) = args.seed {
        plan.seed = seed;
    }
    let started = Instant::now();
    let cat = catalogue::build(&plan);
    let to_stdout = args.output.as_os_str() == "-";
    let summary = if to_stdout {
        let stdout = io::stdout();
        let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
        let s = generate::generate(&plan, &cat, &mut out)?;
        out.flush()?;
        s
    } else {
        let file = File::create(&args.output)
            .with_context(|| format!("Failed to create trace file '{}'", args.output.display()))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        generate::generate(&plan, &cat, &mut out)
            .and_then(|s| out.flush().map(|()| s))
            .with_context(|| format!("Failed to write trace file '{}'", args.output.display()))?
    };
    eprintln!(
        "{}: {} events ({} orders, {} with SKUs missing in the ERP, {} cancellations, {} ERP receipts, {} adjustments) over {} SKUs ({} missing in the ERP), seed {}, in {:.2} s",
        plan.name,
        summary.events,
        summary.orders,
        summary.orders_missing_in_erp,
        summary.cancels,
        summary.erp_receipts,
        summary.erp_adjustments,
        cat.sellable.len(),
        cat.missing_in_erp.len(),
        plan.seed,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scenarios() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
    }

    #[test]
    fn writes_the_same_file_twice_and_names_bad_scenarios() {
        let dir = std::env::temp_dir().join(format!("synctwin-generate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = |name: &str| {
            let output = dir.join(name);
            let args = GenerateArgs {
                scenario: scenarios().join("f5-guest-checkout.toml"),
                output: output.clone(),
                seed: None,
            };
            assert_eq!(run(args).unwrap(), ExitCode::SUCCESS);
            std::fs::read(output).unwrap()
        };
        let (a, b) = (out("a.jsonl"), out("b.jsonl"));
        assert!(!a.is_empty());
        assert_eq!(a, b);

        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "name = \"x\"\nseeds = 1\n").unwrap();
        let args = GenerateArgs {
            scenario: bad,
            output: dir.join("c.jsonl"),
            seed: None,
        };
        let e = format!("{:#}", run(args).unwrap_err());
        assert!(
            e.contains("bad.toml") && e.contains("line 2") && e.contains("seeds"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
