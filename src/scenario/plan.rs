//! The validated scenario: [`load`] turns a [`ScenarioFile`] into a [`Plan`].
//!
//! Two phases, as everywhere in synctwin: serde reads the file (unknown keys and
//! wrong types are errors), then every value is checked and converted into typed
//! form (durations, ranges, thresholds, the engine configuration, resolved profile
//! paths). Every error names the file, the line, the key and what is allowed. A
//! `Plan` that came out of [`load`] or [`parse`] is consistent: phases lie inside
//! the duration and do not overlap, shares are within 0..1, ranges are ordered.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use toml::Spanned;

use super::model::{CatalogueSection, CountOrShare, ErpEventSection, PhaseSection, ScenarioFile};
use crate::clock::{parse_duration, Speed};
use crate::engine::config::EngineConfig;
use crate::report::threshold::Threshold;
use crate::twin::erp::ErpProfile;
use crate::twin::profile::{plain_types, Validate};
use crate::twin::shopware::profile::ShopwareProfile;

/// A scenario that could not be loaded. Callers branch on the kind: a missing
/// file and an invalid one are reported differently.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The I/O error is part of the message, so `{:#}` prints it once.
    #[error("cannot read scenario '{path}': {error}")]
    Read { path: String, error: std::io::Error },
    #[error("scenario '{path}', line {line}, key '{key}': {message}")]
    Invalid {
        path: String,
        line: usize,
        key: String,
        message: String,
    },
}

/// A VAT rate both twins know: the Shopware twin seeds these taxes, the ERP
/// profiles define the codes `VAT19`, `VAT7`, `VAT0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum TaxRate {
    Standard19,
    Reduced7,
    Zero,
}

impl TaxRate {
    /// The rate in percent.
    pub fn percent(self) -> f64 {
        match self {
            TaxRate::Standard19 => 19.0,
            TaxRate::Reduced7 => 7.0,
            TaxRate::Zero => 0.0,
        }
    }
    /// The Shopware twin's tax name (see `seed::tax_id`).
    pub fn shop_tax(self) -> &'static str {
        match self {
            TaxRate::Standard19 => "standard",
            TaxRate::Reduced7 => "reduced",
            TaxRate::Zero => "free",
        }
    }
    /// The ERP tax code.
    pub fn erp_code(self) -> &'static str {
        match self {
            TaxRate::Standard19 => "VAT19",
            TaxRate::Reduced7 => "VAT7",
            TaxRate::Zero => "VAT0",
        }
    }
    fn parse(s: &str) -> Option<TaxRate> {
        let rate = s.trim().trim_end_matches('%').parse::<f64>().ok()?;
        [TaxRate::Standard19, TaxRate::Reduced7, TaxRate::Zero]
            .into_iter()
            .find(|r| r.percent() == rate)
    }
}

/// The catalogue's shape (no SKUs when a recorded trace brings the catalogue).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CataloguePlan {
    /// Sellable SKUs (simple products and variants; parents are not SKUs).
    pub skus: usize,
    pub variant_share: f64,
    pub closeout_share: f64,
    pub configurator_share: f64,
    pub sold_out_share: f64,
    /// SKUs left out of the ERP item master (F1), resolved to a count.
    pub missing_in_erp: usize,
    /// Rates with their share of SKUs; shares sum to 1.
    pub tax_rates: Vec<(TaxRate, f64)>,
    /// Initial on hand, inclusive.
    pub initial_stock: (i64, i64),
}

impl CataloguePlan {
    /// The plan of a scenario whose recorded trace brings the catalogue: nothing to build.
    pub fn from_trace() -> Self {
        CataloguePlan {
            skus: 0,
            variant_share: 0.0,
            closeout_share: 0.0,
            configurator_share: 0.0,
            sold_out_share: 0.0,
            missing_in_erp: 0,
            tax_rates: Vec::new(),
            initial_stock: (0, 0),
        }
    }
}

/// The trace a scenario replays (`trace = "…"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TracePlan {
    /// As written in the scenario.
    pub written: String,
    /// Resolved against the scenario's directory.
    pub path: PathBuf,
    /// The trace starts with a catalogue (it was recorded); the run builds both twins from it.
    pub catalogue: bool,
}

/// Order traffic between two scenario instants.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    pub start: Duration,
    pub end: Duration,
    pub orders_per_hour: f64,
    pub guest_share: f64,
    /// Share of orders by a buyer seen before (same e-mail).
    pub returning_share: f64,
    pub promotion_share: f64,
    pub configurator_share: f64,
    /// Distinct lines per order, inclusive.
    pub basket_size: (u32, u32),
    pub cancel_share: f64,
}

/// Which ERP SKUs an event draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Select {
    Any,
    /// Closeout SKUs (F6: restocking them).
    Closeouts,
    /// SKUs that started with stock 0.
    SoldOut,
}

/// What an ERP event does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ErpEventKind {
    /// Stock receipts every `every`, from `start` until before `end`.
    Receipt {
        every: Duration,
        start: Duration,
        end: Duration,
        qty: (i64, i64),
    },
    /// Stock adjustments (counts, damage) every `every`.
    Adjustment {
        every: Duration,
        start: Duration,
        end: Duration,
        delta: (i64, i64),
        reason: String,
    },
    /// A mass restock (F3): receipts for `share` of the SKUs at each instant,
    /// spread evenly over `spread`.
    Burst {
        at: Vec<Duration>,
        spread: Duration,
        qty: (i64, i64),
    },
}

/// One `[[erp_events]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErpEvent {
    pub kind: ErpEventKind,
    /// Share of the selected SKUs touched each time, in (0, 1].
    pub share: f64,
    pub select: Select,
}

/// The twin profiles, as written and resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Twins {
    pub shopware_profile: String,
    pub erp_profile: String,
    pub shopware_path: PathBuf,
    pub erp_path: PathBuf,
}

/// The engine settings and where they came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnginePlan {
    /// The config file as written, `inline`, or `default`.
    pub name: String,
    pub config: EngineConfig,
}

/// A validated scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub duration: Duration,
    pub speed: Speed,
    /// The scenario file.
    pub source: PathBuf,
    /// A trace to replay instead of the generated `phases` and `erp_events`.
    pub trace: Option<TracePlan>,
    /// Empty ([`CataloguePlan::from_trace`]) when the trace carries the catalogue.
    pub catalogue: CataloguePlan,
    /// Ordered by start, not overlapping, inside the duration.
    pub phases: Vec<Phase>,
    pub erp_events: Vec<ErpEvent>,
    pub twins: Twins,
    pub engine: EnginePlan,
    pub thresholds: Vec<Threshold>,
}

/// Reads and validates a scenario file. Engine config files are found relative to
/// it, twin profiles relative to the repository (the first ancestor directory of
/// the scenario, or the current directory, that holds them).
pub fn load(path: &Path) -> Result<Plan, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|error| ScenarioError::Read {
        path: path.display().to_string(),
        error,
    })?;
    parse(path, &text)
}

/// Validates scenario text; `path` names it in errors and anchors relative paths.
pub fn parse(path: &Path, text: &str) -> Result<Plan, ScenarioError> {
    let cx = Cx { path, text };
    let file: ScenarioFile = toml::from_str(text).map_err(|e| cx.toml_error(&e))?;
    cx.plan(file)
}

/// Everything an error needs: the file and its text.
struct Cx<'a> {
    path: &'a Path,
    text: &'a str,
}

const MAX_SKUS: u64 = 1_000_000;
const MAX_STOCK: i64 = 1_000_000;
const MAX_BASKET: i64 = 50;
const MAX_ORDERS_PER_HOUR: f64 = 10_000_000.0;
const MAX_DURATION: Duration = Duration::from_secs(31 * 24 * 3600);

impl Cx<'_> {
    /// The scenario's directory (`.` for a bare file name).
    fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    fn err(&self, span: Range<usize>, message: impl Into<String>) -> ScenarioError {
        let (line, key) = locate(self.text, span.start);
        ScenarioError::Invalid {
            path: self.path.display().to_string(),
            line,
            key,
            message: message.into(),
        }
    }

    fn toml_error(&self, e: &toml::de::Error) -> ScenarioError {
        let mut message = plain_types(e.message().trim());
        if message.contains("untagged enum CountOrShare") {
            message = "expected a whole number (a count) or a decimal between 0 and 1 (a share)".into();
        }
        let span = e.span().unwrap_or(0..0);
        self.err(span, message)
    }

    fn share(&self, v: &Option<Spanned<f64>>, default: f64) -> Result<f64, ScenarioError> {
        match v {
            None => Ok(default),
            Some(s) => {
                let x = *s.get_ref();
                if x.is_finite() && (0.0..=1.0).contains(&x) {
                    Ok(x)
                } else {
                    Err(self.err(
                        s.span(),
                        format!("a share must be between 0 and 1 (0.25 = 25 %), got {x}"),
                    ))
                }
            }
        }
    }

    fn duration(&self, s: &Spanned<String>) -> Result<Duration, ScenarioError> {
        parse_duration(s.get_ref()).map_err(|m| self.err(s.span(), m))
    }

    /// A scenario instant: at most the duration.
    fn instant(&self, s: &Spanned<String>, duration: Duration) -> Result<Duration, ScenarioError> {
        let d = self.duration(s)?;
        if d > duration {
            return Err(self.err(
                s.span(),
                format!(
                    "'{}' is after the end of the scenario (duration {})",
                    s.get_ref(),
                    fmt_duration(duration)
                ),
            ));
        }
        Ok(d)
    }

    fn range(
        &self,
        v: &Option<Spanned<Vec<i64>>>,
        default: (i64, i64),
        lo: i64,
        hi: i64,
        what: &str,
    ) -> Result<(i64, i64), ScenarioError> {
        let Some(s) = v else { return Ok(default) };
        match s.get_ref().as_slice() {
            [a, b] if lo <= *a && a <= b && *b <= hi => Ok((*a, *b)),
            _ => Err(self.err(
                s.span(),
                format!(
                    "{what} must be [min, max] with {lo} <= min <= max <= {hi}, got {:?}",
                    s.get_ref()
                ),
            )),
        }
    }

    fn plan(&self, f: ScenarioFile) -> Result<Plan, ScenarioError> {
        let name = f.name.get_ref().trim().to_string();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(self.err(
                f.name.span(),
                format!("the name must be letters, digits, '-' or '_' (it names the report directory), got '{name}'"),
            ));
        }
        let duration = self.duration(&f.duration)?;
        if duration.is_zero() || duration > MAX_DURATION {
            return Err(self.err(
                f.duration.span(),
                "the duration must be more than 0 and at most 31 days",
            ));
        }
        let speed = Speed::new(*f.speed.get_ref()).map_err(|m| self.err(f.speed.span(), m))?;
        let trace = f.trace.as_ref().map(|t| self.trace(t)).transpose()?;
        let catalogue = match (&f.catalogue, &trace) {
            (Some(c), Some(t)) if t.catalogue => {
                return Err(self.err(
                    c.span(),
                    format!(
                        "the trace '{}' was recorded and brings its own catalogue: remove [catalogue]",
                        t.written
                    ),
                ))
            }
            (Some(c), _) => self.catalogue(c.get_ref())?,
            (None, Some(t)) if t.catalogue => CataloguePlan::from_trace(),
            (None, Some(t)) => {
                let span = f.trace.as_ref().map_or(f.name.span(), Spanned::span);
                return Err(self.err(
                    span,
                    format!(
                        "the trace '{}' carries no catalogue (it was generated): add [catalogue] with the shape it was generated for",
                        t.written
                    ),
                ));
            }
            (None, None) => {
                return Err(ScenarioError::Invalid {
                    path: self.path.display().to_string(),
                    line: 1,
                    key: "catalogue".into(),
                    message: "missing [catalogue]: the shape of the shop's products (see scenarios/default.toml), or a recorded `trace` that brings one".into(),
                })
            }
        };
        if let (Some(t), Some(span)) = (
            &trace,
            f.phases
                .first()
                .map(|p| p.start.span())
                .or_else(|| f.erp_events.first().map(|e| e.kind.span())),
        ) {
            return Err(self.err(
                span,
                format!(
                    "this scenario replays the trace '{}', which is its traffic: remove [[phases]] and [[erp_events]]",
                    t.written
                ),
            ));
        }
        let mut phases: Vec<Phase> = Vec::new();
        for p in &f.phases {
            let phase = self.phase(p, duration, &catalogue)?;
            if let Some(prev) = phases.last() {
                if phase.start < prev.end {
                    return Err(self.err(
                        p.start.span(),
                        format!(
                            "phases must be in time order and not overlap: this one starts at {} before the previous one ends at {}",
                            fmt_duration(phase.start),
                            fmt_duration(prev.end)
                        ),
                    ));
                }
            }
            phases.push(phase);
        }
        let erp_events = f
            .erp_events
            .iter()
            .map(|e| self.erp_event(e, duration, &catalogue))
            .collect::<Result<Vec<_>, _>>()?;
        if trace.is_none() && phases.is_empty() && erp_events.is_empty() {
            return Err(self.err(
                f.name.span(),
                "the scenario has no traffic: add [[phases]] (orders) or [[erp_events]] (stock moves)",
            ));
        }
        let (shopware_path, _) = self.profile(&f.twins.shopware_profile, ShopwareProfile::load)?;
        let (erp_path, erp) = self.profile(&f.twins.erp_profile, ErpProfile::load)?;
        for (rate, _) in &catalogue.tax_rates {
            if !erp.tax_codes.iter().any(|t| t.code == rate.erp_code()) {
                return Err(self.err(
                    f.twins.erp_profile.span(),
                    format!(
                        "the catalogue sells at {} %, but this ERP profile defines no tax code '{}'",
                        rate.percent(),
                        rate.erp_code()
                    ),
                ));
            }
        }
        let twins = Twins {
            shopware_path,
            erp_path,
            shopware_profile: f.twins.shopware_profile.into_inner(),
            erp_profile: f.twins.erp_profile.into_inner(),
        };
        let engine = self.engine(f.engine)?;
        let thresholds = f
            .thresholds
            .iter()
            .map(|(metric, cond)| {
                Threshold::parse(metric, cond.get_ref()).map_err(|e| self.err(cond.span(), e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Plan {
            name,
            description: f.description,
            seed: f.seed,
            duration,
            speed,
            source: self.path.to_path_buf(),
            trace,
            catalogue,
            phases,
            erp_events,
            twins,
            engine,
            thresholds,
        })
    }

    fn catalogue(&self, c: &CatalogueSection) -> Result<CataloguePlan, ScenarioError> {
        let skus = *c.skus.get_ref();
        if skus == 0 || skus > MAX_SKUS {
            return Err(self.err(
                c.skus.span(),
                format!("skus must be between 1 and {MAX_SKUS}, got {skus}"),
            ));
        }
        let skus = skus as usize;
        let variant_share = self.share(&c.variant_share, 0.0)?;
        let configurator_share = self.share(&c.configurator_share, 0.0)?;
        if variant_share + configurator_share > 1.0 {
            let span = c.configurator_share.as_ref().map_or(c.skus.span(), Spanned::span);
            return Err(self.err(
                span,
                format!(
                    "configurator products are simple products: variant_share + configurator_share must be at most 1, got {}",
                    variant_share + configurator_share
                ),
            ));
        }
        let missing_in_erp = match &c.missing_in_erp {
            None => 0,
            Some(s) => match *s.get_ref() {
                CountOrShare::Count(n) if n as usize <= skus => n as usize,
                CountOrShare::Share(x) if x.is_finite() && (0.0..=1.0).contains(&x) => {
                    (x * skus as f64).round() as usize
                }
                CountOrShare::Count(n) => {
                    return Err(self.err(s.span(), format!("missing_in_erp ({n}) is more than the {skus} SKUs")))
                }
                CountOrShare::Share(x) => {
                    return Err(self.err(
                        s.span(),
                        format!("missing_in_erp must be a whole number of SKUs or a share between 0 and 1, got {x}"),
                    ))
                }
            },
        };
        let tax_rates = match &c.tax_rates {
            None => vec![(TaxRate::Standard19, 1.0)],
            Some(s) => {
                let mut out: BTreeMap<TaxRate, f64> = BTreeMap::new();
                for (k, v) in s.get_ref() {
                    let rate = TaxRate::parse(k).ok_or_else(|| {
                        self.err(
                            s.span(),
                            format!("tax rate '{k}' is not one the twins know; allowed: \"19\", \"7\", \"0\""),
                        )
                    })?;
                    if !(v.is_finite() && (0.0..=1.0).contains(v)) {
                        return Err(self.err(
                            s.span(),
                            format!("the share of rate {k} must be between 0 and 1, got {v}"),
                        ));
                    }
                    out.insert(rate, *v);
                }
                let sum: f64 = out.values().sum();
                if (sum - 1.0).abs() > 1e-6 {
                    return Err(self.err(
                        s.span(),
                        format!("the shares of the tax rates must add up to 1, got {sum}"),
                    ));
                }
                out.into_iter().filter(|(_, v)| *v > 0.0).collect()
            }
        };
        Ok(CataloguePlan {
            skus,
            variant_share,
            closeout_share: self.share(&c.closeout_share, 0.0)?,
            configurator_share,
            sold_out_share: self.share(&c.sold_out_share, 0.0)?,
            missing_in_erp,
            tax_rates,
            initial_stock: self.range(&c.initial_stock, (10, 100), 0, MAX_STOCK, "initial_stock")?,
        })
    }

    fn phase(&self, p: &PhaseSection, duration: Duration, cat: &CataloguePlan) -> Result<Phase, ScenarioError> {
        let start = self.instant(&p.start, duration)?;
        let end = self.instant(&p.end, duration)?;
        if end <= start {
            return Err(self.err(
                p.end.span(),
                format!(
                    "end ({}) must be after start ({})",
                    fmt_duration(end),
                    fmt_duration(start)
                ),
            ));
        }
        let rate = *p.orders_per_hour.get_ref();
        if !(rate.is_finite() && (0.0..=MAX_ORDERS_PER_HOUR).contains(&rate)) {
            return Err(self.err(
                p.orders_per_hour.span(),
                format!("orders_per_hour must be between 0 and {MAX_ORDERS_PER_HOUR}, got {rate}"),
            ));
        }
        let configurator_share = self.share(&p.configurator_share, 0.0)?;
        if configurator_share > 0.0 && cat.configurator_share == 0.0 {
            let span = p.configurator_share.as_ref().map_or(p.start.span(), Spanned::span);
            return Err(self.err(
                span,
                "configurator orders need configurator products: set [catalogue] configurator_share above 0",
            ));
        }
        let (lo, hi) = self.range(&p.basket_size, (1, 3), 1, MAX_BASKET, "basket_size")?;
        Ok(Phase {
            start,
            end,
            orders_per_hour: rate,
            guest_share: self.share(&p.guest_share, 0.0)?,
            returning_share: self.share(&p.returning_share, 0.3)?,
            promotion_share: self.share(&p.promotion_share, 0.0)?,
            configurator_share,
            basket_size: (lo as u32, hi as u32),
            cancel_share: self.share(&p.cancel_share, 0.0)?,
        })
    }

    fn erp_event(
        &self,
        e: &ErpEventSection,
        duration: Duration,
        cat: &CataloguePlan,
    ) -> Result<ErpEvent, ScenarioError> {
        let kind = e.kind.get_ref().as_str();
        let share = *e.share.get_ref();
        if !(share.is_finite() && share > 0.0 && share <= 1.0) {
            return Err(self.err(
                e.share.span(),
                format!("share must be above 0 and at most 1 (the share of SKUs touched each time), got {share}"),
            ));
        }
        let select = match e.select.as_ref().map(|s| (s.get_ref().as_str(), s.span())) {
            None | Some(("any", _)) => Select::Any,
            Some(("closeouts", span)) if cat.closeout_share == 0.0 => {
                return Err(self.err(span, "select = \"closeouts\" needs [catalogue] closeout_share above 0"))
            }
            Some(("closeouts", _)) => Select::Closeouts,
            Some(("sold_out", span)) if cat.sold_out_share == 0.0 => {
                return Err(self.err(span, "select = \"sold_out\" needs [catalogue] sold_out_share above 0"))
            }
            Some(("sold_out", _)) => Select::SoldOut,
            Some((other, span)) => {
                return Err(self.err(
                    span,
                    format!("select must be \"any\", \"closeouts\" or \"sold_out\", got \"{other}\""),
                ))
            }
        };
        // Keys that belong to other kinds are mistakes, not silently ignored.
        let only = |present: bool, span: Option<Range<usize>>, key: &str, kinds: &str| {
            if present {
                Err(self.err(
                    span.unwrap_or(e.kind.span()),
                    format!("'{key}' applies to kind {kinds} only, not \"{kind}\""),
                ))
            } else {
                Ok(())
            }
        };
        let need = |v: Option<Range<usize>>, key: &str| -> Result<(), ScenarioError> {
            if v.is_none() {
                return Err(self.err(e.kind.span(), format!("kind \"{kind}\" needs '{key}'")));
            }
            Ok(())
        };
        let every = |v: &Option<Spanned<String>>| -> Result<Duration, ScenarioError> {
            let Some(s) = v else {
                return Err(self.err(e.kind.span(), format!("kind \"{kind}\" needs 'every' (e.g. \"10m\")")));
            };
            let d = self.duration(s)?;
            if d.is_zero() {
                return Err(self.err(s.span(), "every must be more than 0"));
            }
            Ok(d)
        };
        let window = |every: Duration| -> Result<(Duration, Duration), ScenarioError> {
            let start = match &e.start {
                Some(s) => self.instant(s, duration)?,
                None => every.min(duration),
            };
            let end = match &e.end {
                Some(s) => self.instant(s, duration)?,
                None => duration,
            };
            if end <= start {
                let span = e.end.as_ref().or(e.start.as_ref()).map_or(e.kind.span(), Spanned::span);
                return Err(self.err(span, "end must be after start"));
            }
            Ok((start, end))
        };
        let kind = match kind {
            "receipt" | "adjustment" => {
                only(e.at.is_some(), e.at.as_ref().map(Spanned::span), "at", "\"burst\"")?;
                only(
                    e.spread.is_some(),
                    e.spread.as_ref().map(Spanned::span),
                    "spread",
                    "\"burst\"",
                )?;
                let every = every(&e.every)?;
                let (start, end) = window(every)?;
                if kind == "receipt" {
                    only(
                        e.delta.is_some(),
                        e.delta.as_ref().map(Spanned::span),
                        "delta",
                        "\"adjustment\"",
                    )?;
                    only(e.reason.is_some(), None, "reason", "\"adjustment\"")?;
                    need(e.qty.as_ref().map(Spanned::span), "qty")?;
                    ErpEventKind::Receipt {
                        every,
                        start,
                        end,
                        qty: self.range(&e.qty, (1, 1), 1, MAX_STOCK, "qty")?,
                    }
                } else {
                    only(
                        e.qty.is_some(),
                        e.qty.as_ref().map(Spanned::span),
                        "qty",
                        "\"receipt\" and \"burst\"",
                    )?;
                    need(e.delta.as_ref().map(Spanned::span), "delta")?;
                    let delta = self.range(&e.delta, (0, 0), -MAX_STOCK, MAX_STOCK, "delta")?;
                    if delta == (0, 0) {
                        let span = e.delta.as_ref().map_or(e.kind.span(), Spanned::span);
                        return Err(self.err(span, "delta [0, 0] changes nothing; give a range such as [-3, 2]"));
                    }
                    ErpEventKind::Adjustment {
                        every,
                        start,
                        end,
                        delta,
                        reason: e.reason.clone().unwrap_or_else(|| "cycle count".into()),
                    }
                }
            }
            "burst" => {
                for (present, span, key) in [
                    (e.every.is_some(), e.every.as_ref().map(Spanned::span), "every"),
                    (e.start.is_some(), e.start.as_ref().map(Spanned::span), "start"),
                    (e.end.is_some(), e.end.as_ref().map(Spanned::span), "end"),
                ] {
                    only(present, span, key, "\"receipt\" and \"adjustment\"")?;
                }
                only(
                    e.delta.is_some(),
                    e.delta.as_ref().map(Spanned::span),
                    "delta",
                    "\"adjustment\"",
                )?;
                only(e.reason.is_some(), None, "reason", "\"adjustment\"")?;
                let Some(at) = &e.at else {
                    return Err(self.err(
                        e.kind.span(),
                        "kind \"burst\" needs 'at', a list of instants such as [\"30m\"]",
                    ));
                };
                let mut times = Vec::new();
                for s in at.get_ref() {
                    let d = parse_duration(s).map_err(|m| self.err(at.span(), m))?;
                    if d > duration {
                        return Err(self.err(at.span(), format!("'{s}' is after the end of the scenario")));
                    }
                    if times.last().is_some_and(|prev| d <= *prev) {
                        return Err(self.err(at.span(), "the instants in 'at' must be in increasing order"));
                    }
                    times.push(d);
                }
                if times.is_empty() {
                    return Err(self.err(at.span(), "'at' must list at least one instant"));
                }
                let spread = match &e.spread {
                    Some(s) => self.duration(s)?,
                    None => Duration::ZERO,
                };
                need(e.qty.as_ref().map(Spanned::span), "qty")?;
                ErpEventKind::Burst {
                    at: times,
                    spread,
                    qty: self.range(&e.qty, (1, 1), 1, MAX_STOCK, "qty")?,
                }
            }
            other => {
                return Err(self.err(
                    e.kind.span(),
                    format!("kind must be \"receipt\", \"adjustment\" or \"burst\", got \"{other}\""),
                ))
            }
        };
        Ok(ErpEvent { kind, share, select })
    }

    /// Resolves `trace = "…"` against the scenario's directory and looks at its
    /// first event: a recorded trace starts with its catalogue.
    fn trace(&self, t: &Spanned<String>) -> Result<TracePlan, ScenarioError> {
        let path = self.dir().join(t.get_ref());
        if !path.is_file() {
            return Err(self.err(
                t.span(),
                format!(
                    "trace '{}' not found (the path is relative to the scenario file: {})",
                    t.get_ref(),
                    path.display()
                ),
            ));
        }
        let catalogue = super::recorded::has_catalogue(&path).map_err(|e| self.err(t.span(), e.to_string()))?;
        Ok(TracePlan {
            written: t.get_ref().clone(),
            path,
            catalogue,
        })
    }

    /// Finds a profile relative to the repository and checks that it loads.
    fn profile<T>(
        &self,
        rel: &Spanned<String>,
        load: impl Fn(&Path) -> Result<T, crate::twin::profile::ProfileError>,
    ) -> Result<(PathBuf, T), ScenarioError> {
        let wanted = Path::new(rel.get_ref());
        let dir = self.dir();
        let dir = dir.canonicalize().unwrap_or(dir);
        let candidates = dir
            .ancestors()
            .map(|a| a.join(wanted))
            .chain(std::iter::once(wanted.to_path_buf()));
        let Some(found) = candidates.into_iter().find(|p| p.is_file()) else {
            return Err(self.err(
                rel.span(),
                format!(
                    "profile '{}' not found (paths are relative to the repository, e.g. \"mocks/erp/business-central.toml\")",
                    rel.get_ref()
                ),
            ));
        };
        let profile = load(&found).map_err(|e| self.err(rel.span(), with_source(&e)))?;
        Ok((found, profile))
    }

    fn engine(&self, section: Option<Spanned<toml::Table>>) -> Result<EnginePlan, ScenarioError> {
        let Some(section) = section else {
            return Ok(EnginePlan {
                name: "default".into(),
                config: EngineConfig::default(),
            });
        };
        let span = section.span();
        let table = section.into_inner();
        if let Some(config) = table.get("config") {
            if table.len() > 1 {
                return Err(self.err(
                    span,
                    "[engine] takes either config = \"file.toml\" or the settings inline, not both",
                ));
            }
            let Some(rel) = config.as_str() else {
                return Err(self.err(span, "engine.config must be a path to an engine TOML file"));
            };
            let config =
                EngineConfig::load(&self.dir().join(rel)).map_err(|e| self.err(span.clone(), with_source(&e)))?;
            return Ok(EnginePlan {
                name: rel.to_string(),
                config,
            });
        }
        let config: EngineConfig = serde::Deserialize::deserialize(toml::Value::Table(table))
            .map_err(|e: toml::de::Error| self.err(span.clone(), plain_types(e.message().trim())))?;
        config.validate().map_err(|m| self.err(span, m))?;
        Ok(EnginePlan {
            name: "inline".into(),
            config,
        })
    }
}

/// An error's message followed by its cause's, if any (`cannot read …: No such file`).
fn with_source(e: &dyn std::error::Error) -> String {
    match e.source() {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// `1h30m`-style text for messages.
fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs();
    let ms = d.subsec_millis();
    if ms != 0 {
        return format!("{}ms", d.as_millis());
    }
    match (s / 3600, (s / 60) % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, 0) => format!("{m}m"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, sec) => format!("{h}h{m:02}m{sec:02}s"),
    }
}

/// The line number (from 1) and dotted key path (`phases[1].end`) at a byte offset.
fn locate(text: &str, offset: usize) -> (usize, String) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line_no = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let mut table = String::new();
    let mut arrays: BTreeMap<String, usize> = BTreeMap::new();
    for l in text[..line_end].lines() {
        let t = l.trim();
        if let Some(rest) = t.strip_prefix("[[") {
            let name = rest.split("]]").next().unwrap_or_default().trim().to_string();
            let n = arrays.entry(name.clone()).or_insert(0);
            table = format!("{name}[{n}]");
            *n += 1;
        } else if let Some(rest) = t.strip_prefix('[') {
            table = rest.split(']').next().unwrap_or_default().trim().to_string();
        }
    }
    let line = &text[line_start..line_end];
    let key = line
        .split_once('=')
        .filter(|_| !line.trim_start().starts_with(['[', '#']))
        .map(|(k, _)| k.trim().trim_matches('"').to_string());
    let path = match key {
        Some(k) if table.is_empty() => k,
        Some(k) => format!("{table}.{k}"),
        None if table.is_empty() => "(top level)".into(),
        None => table,
    };
    (line_no, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::threshold::Op;

    /// A valid scenario placed in `scenarios/` so profile and engine paths resolve.
    const VALID: &str = r#"
name = "unit"
description = "unit test"
seed = 7
duration = "2h"
speed = 60

[catalogue]
skus = 120
variant_share = 0.3
closeout_share = 0.1
configurator_share = 0.1
sold_out_share = 0.05
missing_in_erp = 0.05
tax_rates = { "19" = 0.8, "7" = 0.2 }
initial_stock = [5, 50]

[[phases]]
start = "0m"
end = "1h"
orders_per_hour = 100
guest_share = 0.3
promotion_share = 0.2
configurator_share = 0.1
basket_size = [1, 4]
cancel_share = 0.05

[[phases]]
start = "1h"
end = "2h"
orders_per_hour = 400

[[erp_events]]
kind = "receipt"
every = "10m"
share = 0.1
qty = [5, 20]

[[erp_events]]
kind = "adjustment"
every = "30m"
share = 0.02
delta = [-3, 3]
reason = "damaged"

[[erp_events]]
kind = "burst"
at = ["30m", "90m"]
spread = "1m"
share = 1.0
qty = [10, 50]
select = "closeouts"

[twins]
shopware_profile = "mocks/shopware/self-hosted-6.6.toml"
erp_profile = "mocks/erp/business-central.toml"

[engine]
config = "engine/careful.toml"

[thresholds]
"latency.order_export.p95" = "< 5m"
"reconciliation.missing_orders" = "== 0"
"rate_limits.ratio_429" = "< 5%"
"#;

    fn scenario_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/unit.toml")
    }

    fn try_parse(text: &str) -> Result<Plan, ScenarioError> {
        parse(&scenario_path(), text)
    }

    /// The error for `VALID` with `from` replaced by `to`: (line, key, message).
    fn error_with(from: &str, to: &str) -> (usize, String, String) {
        assert!(VALID.contains(from), "{from}");
        match try_parse(&VALID.replacen(from, to, 1)) {
            Err(ScenarioError::Invalid {
                line,
                key,
                message,
                path,
            }) => {
                assert!(path.ends_with("scenarios/unit.toml"), "{path}");
                (line, key, message)
            }
            other => panic!("expected an error for {to:?}, got {other:?}"),
        }
    }

    fn line_of(needle: &str) -> usize {
        VALID.lines().position(|l| l.contains(needle)).unwrap() + 1
    }

    #[test]
    fn a_valid_file_becomes_a_plan() {
        let p = try_parse(VALID).unwrap();
        assert_eq!((p.name.as_str(), p.seed), ("unit", 7));
        assert_eq!(p.duration, Duration::from_secs(7200));
        assert_eq!(p.speed.factor(), 60.0);
        assert_eq!(p.catalogue.skus, 120);
        assert_eq!(p.catalogue.missing_in_erp, 6);
        assert_eq!(
            p.catalogue.tax_rates,
            vec![(TaxRate::Standard19, 0.8), (TaxRate::Reduced7, 0.2)]
        );
        assert_eq!(p.catalogue.initial_stock, (5, 50));
        assert_eq!(p.phases.len(), 2);
        assert_eq!(p.phases[0].basket_size, (1, 4));
        assert_eq!(p.phases[1].basket_size, (1, 3), "default");
        assert_eq!(p.phases[1].returning_share, 0.3, "default");
        assert_eq!(p.phases[1].start, Duration::from_secs(3600));
        assert!(matches!(
            p.erp_events[0].kind,
            ErpEventKind::Receipt { every, start, qty: (5, 20), .. } if every == Duration::from_secs(600) && start == every
        ));
        assert!(matches!(&p.erp_events[1].kind, ErpEventKind::Adjustment { reason, .. } if reason == "damaged"));
        assert!(matches!(&p.erp_events[2].kind, ErpEventKind::Burst { at, .. } if at.len() == 2));
        assert_eq!(p.erp_events[2].select, Select::Closeouts);
        assert!(p.twins.erp_path.is_file() && p.twins.shopware_path.is_file());
        assert_eq!(p.engine.name, "engine/careful.toml");
        assert!(p.engine.config.export.lookup_before_create);
        assert_eq!(p.thresholds.len(), 3);
        let t = p
            .thresholds
            .iter()
            .find(|t| t.metric == "latency.order_export.p95")
            .unwrap();
        assert_eq!(
            (t.condition.op, t.condition.limit),
            (Op::Lt, 300_000.0),
            "limits are stored in ms"
        );
        assert_eq!(t.text, "< 5m");
    }

    #[test]
    fn unknown_keys_name_line_key_and_alternatives() {
        let (line, key, msg) = error_with("cancel_share = 0.05", "cancel_shares = 0.05");
        assert_eq!(line, line_of("cancel_share"));
        assert_eq!(key, "phases[0].cancel_shares");
        assert!(msg.contains("cancel_share") && msg.contains("expected"), "{msg}");
        let (_, key, _) = error_with("[twins]", "[twinz]");
        assert_eq!(key, "twinz");
    }

    #[test]
    fn missing_sections_are_named() {
        let text = VALID.replacen("[twins]", "[ignored]", 1);
        let text = text
            .replace("shopware_profile", "# shopware_profile")
            .replace("erp_profile", "# erp_profile");
        let text = text.replace("[ignored]", "");
        match try_parse(&text) {
            Err(ScenarioError::Invalid { message, .. }) => {
                assert!(message.contains("missing field `twins`"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_types_are_explained() {
        let (line, key, msg) = error_with("skus = 120", "skus = \"many\"");
        assert_eq!((line, key.as_str()), (line_of("skus = 120"), "catalogue.skus"));
        assert!(msg.contains("whole number"), "{msg}");
        let (_, key, msg) = error_with("missing_in_erp = 0.05", "missing_in_erp = \"some\"");
        assert_eq!(key, "catalogue.missing_in_erp");
        assert!(msg.contains("a count") && msg.contains("a share"), "{msg}");
    }

    #[test]
    fn shares_outside_zero_to_one_are_refused() {
        let (line, key, msg) = error_with("guest_share = 0.3", "guest_share = 1.5");
        assert_eq!((line, key.as_str()), (line_of("guest_share"), "phases[0].guest_share"));
        assert!(msg.contains("between 0 and 1") && msg.contains("1.5"), "{msg}");
        let (_, key, _) = error_with("closeout_share = 0.1", "closeout_share = -0.1");
        assert_eq!(key, "catalogue.closeout_share");
        let (_, key, msg) = error_with("share = 0.1\nqty", "share = 0\nqty");
        assert_eq!(key, "erp_events[0].share");
        assert!(msg.contains("above 0"), "{msg}");
        let (_, key, msg) = error_with("\"7\" = 0.2", "\"7\" = 0.3");
        assert_eq!(key, "catalogue.tax_rates");
        assert!(msg.contains("add up to 1"), "{msg}");
        let (_, _, msg) = error_with("\"7\" = 0.2", "\"16\" = 0.2");
        assert!(msg.contains("\"19\", \"7\", \"0\""), "{msg}");
    }

    #[test]
    fn impossible_times_are_refused() {
        let (line, key, msg) = error_with("end = \"1h\"", "end = \"0m\"");
        assert_eq!((line, key.as_str()), (line_of("end = \"1h\""), "phases[0].end"));
        assert!(msg.contains("must be after start"), "{msg}");
        let (_, key, msg) = error_with("duration = \"2h\"", "duration = \"0s\"");
        assert_eq!(key, "duration");
        assert!(msg.contains("more than 0"), "{msg}");
        let (_, key, msg) = error_with("end = \"2h\"", "end = \"3h\"");
        assert_eq!(key, "phases[1].end");
        assert!(msg.contains("after the end of the scenario"), "{msg}");
        let (_, key, msg) = error_with("start = \"1h\"", "start = \"30m\"");
        assert_eq!(key, "phases[1].start");
        assert!(msg.contains("not overlap"), "{msg}");
        let (_, key, msg) = error_with("duration = \"2h\"", "duration = \"two hours\"");
        assert_eq!(key, "duration");
        assert!(!msg.is_empty());
        let (_, key, msg) = error_with("at = [\"30m\", \"90m\"]", "at = [\"90m\", \"30m\"]");
        assert_eq!(key, "erp_events[2].at");
        assert!(msg.contains("increasing"), "{msg}");
    }

    #[test]
    fn impossible_numbers_are_refused() {
        let (line, key, msg) = error_with("orders_per_hour = 100", "orders_per_hour = -5");
        assert_eq!(
            (line, key.as_str()),
            (line_of("orders_per_hour = 100"), "phases[0].orders_per_hour")
        );
        assert!(msg.contains("between 0"), "{msg}");
        let (_, key, msg) = error_with("basket_size = [1, 4]", "basket_size = [4, 1]");
        assert_eq!(key, "phases[0].basket_size");
        assert!(msg.contains("min <= max"), "{msg}");
        let (_, key, _) = error_with("skus = 120", "skus = 0");
        assert_eq!(key, "catalogue.skus");
        let (_, _, msg) = error_with("missing_in_erp = 0.05", "missing_in_erp = 500");
        assert!(msg.contains("more than the 120 SKUs"), "{msg}");
        let (_, key, msg) = error_with("speed = 60", "speed = 0");
        assert_eq!(key, "speed");
        assert!(msg.contains("greater than 0"), "{msg}");
        let (_, _, msg) = error_with("delta = [-3, 3]", "delta = [0, 0]");
        assert!(msg.contains("changes nothing"), "{msg}");
    }

    #[test]
    fn erp_event_kinds_take_their_own_keys() {
        let (_, key, msg) = error_with("kind = \"receipt\"", "kind = \"restock\"");
        assert_eq!(key, "erp_events[0].kind");
        assert!(msg.contains("\"receipt\", \"adjustment\" or \"burst\""), "{msg}");
        let (_, key, msg) = error_with("qty = [5, 20]", "delta = [5, 20]");
        assert_eq!(key, "erp_events[0].delta");
        assert!(msg.contains("adjustment"), "{msg}");
        let (_, _, msg) = error_with("every = \"10m\"", "spread = \"10m\"");
        assert!(msg.contains("'spread' applies to kind \"burst\""), "{msg}");
        let (_, key, msg) = error_with("select = \"closeouts\"", "select = \"hot\"");
        assert_eq!(key, "erp_events[2].select");
        assert!(msg.contains("\"any\", \"closeouts\" or \"sold_out\""), "{msg}");
    }

    #[test]
    fn thresholds_are_checked() {
        let (line, key, msg) = error_with(
            "\"latency.order_export.p95\" = \"< 5m\"",
            "\"latency.order_export.p95\" = \"5m\"",
        );
        assert_eq!(line, line_of("latency.order_export.p95"));
        assert_eq!(key, "thresholds.latency.order_export.p95");
        assert!(msg.contains("5m"), "{msg}");
        let (_, _, msg) = error_with("\"reconciliation.missing_orders\"", "\"reconciliation.lost_orders\"");
        assert!(
            msg.contains("unknown threshold metric") && msg.contains("reconciliation.missing_orders"),
            "{msg}"
        );
    }

    #[test]
    fn profiles_and_engine_files_must_exist_and_load() {
        let (_, key, msg) = error_with("mocks/erp/business-central.toml", "mocks/erp/sap.toml");
        assert_eq!(key, "twins.erp_profile");
        assert!(msg.contains("not found") && msg.contains("mocks/erp/sap.toml"), "{msg}");
        let (_, key, msg) = error_with("engine/careful.toml", "engine/reckless.toml");
        assert_eq!(key, "engine");
        assert!(msg.contains("reckless.toml") && msg.contains("No such file"), "{msg}");
        let (_, _, msg) = error_with(
            "config = \"engine/careful.toml\"",
            "config = \"engine/careful.toml\"\nrequest_timeout = \"5s\"",
        );
        assert!(msg.contains("not both"), "{msg}");
    }

    #[test]
    fn inline_engine_settings_are_validated() {
        let p = try_parse(&VALID.replacen(
            "config = \"engine/careful.toml\"",
            "request_timeout = \"5s\"\n[engine.rate_limits]\nerp_per_second = 10.0",
            1,
        ))
        .unwrap();
        assert_eq!(p.engine.name, "inline");
        assert_eq!(p.engine.config.request_timeout, Duration::from_secs(5));
        assert_eq!(p.engine.config.rate_limits.erp_per_second, Some(10.0));
        let (_, key, msg) = error_with("config = \"engine/careful.toml\"", "request_timeuot = \"5s\"");
        assert_eq!(key, "engine");
        assert!(msg.contains("request_timeuot"), "{msg}");
    }

    /// The commented example in `model.rs` is a valid scenario.
    #[test]
    fn the_documented_example_is_valid() {
        let example: String = include_str!("model.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("//!"))
            .skip_while(|l| l.trim() != "```toml")
            .skip(1)
            .take_while(|l| l.trim() != "```")
            .map(|l| format!("{}\n", l.strip_prefix(' ').unwrap_or(l)))
            .collect();
        assert!(example.contains("[thresholds]"), "{example}");
        let p = try_parse(&example).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.name, "default");
        assert_eq!(p.catalogue.missing_in_erp, 6);
        assert_eq!(p.erp_events.len(), 1);
    }

    #[test]
    fn missing_file_is_a_read_error() {
        let e = load(Path::new("/nonexistent/s.toml")).unwrap_err();
        assert!(matches!(e, ScenarioError::Read { .. }));
        assert!(e.to_string().contains("/nonexistent/s.toml"));
    }

    /// A scenario in a fresh directory next to a trace of `events`: (scenario path, its text).
    fn with_trace(tag: &str, events: &[crate::scenario::TraceEvent], extra: &str) -> (PathBuf, String) {
        let dir = std::env::temp_dir().join(format!("synctwin-plan-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut w = crate::scenario::trace::TraceWriter::new(std::fs::File::create(dir.join("t.jsonl")).unwrap());
        for e in events {
            w.write(e).unwrap();
        }
        w.finish().unwrap();
        let text = format!(
            "name = \"rec\"\nseed = 1\nduration = \"1h\"\nspeed = 60\ntrace = \"t.jsonl\"\n{extra}\n[twins]\nshopware_profile = \"mocks/shopware/self-hosted-6.6.toml\"\nerp_profile = \"mocks/erp/business-central.toml\"\n"
        );
        (dir.join("s.toml"), text)
    }

    fn recorded_product() -> crate::scenario::TraceEvent {
        crate::scenario::TraceEvent::Product {
            at_ms: 0,
            product: Box::new(crate::scenario::recorded::ProductSnapshot {
                product_number: "A-1".into(),
                parent_number: None,
                name: Some("A".into()),
                tax_rate: Some(19.0),
                price: None,
                stock: 3,
                is_closeout: None,
                customizable: false,
                min_purchase: None,
                max_purchase: None,
            }),
        }
    }

    #[test]
    fn a_scenario_can_replay_a_trace_and_a_recorded_one_brings_its_catalogue() {
        let receipt = crate::scenario::TraceEvent::ErpReceipt {
            at_ms: 5,
            sku: "A-1".into(),
            qty: 1,
        };
        // Recorded: no [catalogue], no traffic sections.
        let (path, text) = with_trace("recorded", &[recorded_product(), receipt.clone()], "");
        let p = parse(&path, &text).unwrap_or_else(|e| panic!("{e}"));
        let t = p.trace.as_ref().unwrap();
        assert!(t.catalogue && t.path.ends_with("t.jsonl") && t.path.is_file());
        assert_eq!(p.catalogue, CataloguePlan::from_trace());
        let e = parse(&path, &format!("{text}[catalogue]\nskus = 3\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("'catalogue'") && e.contains("remove [catalogue]"), "{e}");
        let phases = "[[phases]]\nstart = \"0m\"\nend = \"1h\"\norders_per_hour = 5\n";
        let e = parse(&path, &format!("{text}{phases}")).unwrap_err().to_string();
        assert!(e.contains("phases[0].start") && e.contains("remove [[phases]]"), "{e}");
        let e = parse(&path, &text.replace("t.jsonl", "nope.jsonl"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("key 'trace'") && e.contains("not found"), "{e}");

        // Generated: the scenario must say which catalogue it was generated for.
        let (path, text) = with_trace("generated", &[receipt], "");
        let e = parse(&path, &text).unwrap_err().to_string();
        assert!(e.contains("key 'trace'") && e.contains("add [catalogue]"), "{e}");
        let p = parse(&path, &format!("{text}[catalogue]\nskus = 3\n")).unwrap_or_else(|e| panic!("{e}"));
        assert!(!p.trace.unwrap().catalogue);
        assert_eq!(p.catalogue.skus, 3);

        // Neither a trace nor a catalogue.
        let no_cat: String = VALID
            .split("\n[")
            .filter(|section| !section.starts_with("catalogue]"))
            .collect::<Vec<_>>()
            .join("\n[");
        let e = try_parse(&no_cat).unwrap_err().to_string();
        assert!(
            e.contains("key 'catalogue'") && e.contains("missing [catalogue]"),
            "{e}"
        );
        for tag in ["recorded", "generated"] {
            let _ = std::fs::remove_dir_all(
                std::env::temp_dir().join(format!("synctwin-plan-{tag}-{}", std::process::id())),
            );
        }
    }

    #[test]
    fn locate_names_nested_keys() {
        let text = "a = 1\n[[p]]\nx = 1\n[[p]]\ny = 2\n[t]\n\"k.l\" = 3\n";
        assert_eq!(locate(text, text.find("y =").unwrap()), (5, "p[1].y".into()));
        assert_eq!(locate(text, text.find("\"k.l\"").unwrap()), (7, "t.k.l".into()));
        assert_eq!(locate(text, 0), (1, "a".into()));
        assert_eq!(locate("# a = b\nx = 1\n", 0), (1, "(top level)".into()));
        assert_eq!(fmt_duration(Duration::from_secs(5400)), "1h30m00s");
    }
}
