//! Scenario keys set by dotted path (`--set engine.inventory.batch_size=250`),
//! applied to the parsed TOML before validation, so a bad value is refused by the
//! same checks and with the same messages as in a scenario file.
//!
//! The file is edited with `toml_edit`, which keeps its layout: a replaced value
//! stays on its line, so an error still names the scenario's line and key.
//!
//! Paths: `seed`, `catalogue.skus`, `phases[0].orders_per_hour` (or `phases.0...`),
//! `thresholds."rate_limits.ratio_429"` (quote a segment that has dots). Keys under
//! `engine.` (other than `engine.config`) are engine settings: the scenario's
//! effective engine configuration (the referenced file such as
//! `engine/careful.toml`, the inline settings, or the defaults) is written inline
//! in full and the key is set in it, so `engine.inventory.batch_size` overrides the
//! referenced file's `inventory.batch_size` and leaves the rest of it as it was.
//! `engine.config` itself can be swept too (`engine/careful.toml,engine/naive.toml`).

use std::path::Path;
use std::str::FromStr;

use toml_edit::{DocumentMut, Item, Table, TableLike, Value};

use crate::scenario::plan::{parse, Plan, ScenarioError};

/// Why a point's scenario could not be built.
#[derive(Debug, thiserror::Error)]
pub enum OverrideError {
    /// The key's path cannot be followed in the scenario.
    #[error("--set {key}: {message}")]
    Path { key: String, message: String },
    /// The scenario with the keys set is not valid.
    #[error("with {settings}: {error}")]
    Invalid { settings: String, error: ScenarioError },
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// Splits `a.b[0]."c.d"` into segments.
fn segments(key: &str) -> Result<Vec<Seg>, String> {
    let mut out = Vec::new();
    let mut chars = key.chars().peekable();
    let mut cur = String::new();
    let mut quoted = false;
    let mut after_bracket = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if cur.is_empty() && !quoted => {
                quoted = true;
                for q in chars.by_ref() {
                    if q == '"' {
                        quoted = false;
                        break;
                    }
                    cur.push(q);
                }
                if quoted {
                    return Err("a quote in the key is not closed".into());
                }
                out.push(Seg::Key(std::mem::take(&mut cur)));
                after_bracket = true;
            }
            '.' => {
                if !cur.is_empty() {
                    out.push(Seg::Key(std::mem::take(&mut cur)));
                } else if !after_bracket {
                    return Err("the key has an empty part (two dots in a row, or a leading dot)".into());
                }
                after_bracket = false;
            }
            '[' => {
                if !cur.is_empty() {
                    out.push(Seg::Key(std::mem::take(&mut cur)));
                }
                let mut digits = String::new();
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    digits.push(d);
                }
                let i = digits
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| format!("'[{digits}]' is not an index such as [0]"))?;
                out.push(Seg::Index(i));
                after_bracket = true;
            }
            c => {
                if after_bracket && cur.is_empty() && !out.is_empty() {
                    return Err("expected '.' after ']' or a quoted part".into());
                }
                cur.push(c);
            }
        }
    }
    if !cur.is_empty() {
        out.push(Seg::Key(cur));
    } else if !after_bracket {
        return Err("the key ends with a dot".into());
    }
    if out.is_empty() {
        return Err("the key is empty".into());
    }
    // `phases.0.end` is `phases[0].end`.
    Ok(out
        .into_iter()
        .map(|s| match s {
            Seg::Key(k) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) => {
                Seg::Index(k.parse().unwrap_or(usize::MAX))
            }
            s => s,
        })
        .collect())
}

/// A value as TOML (`50`, `0.5`, `true`, `[5, 60]`, `"x"`), else as a string (`5m`).
pub fn toml_value(text: &str) -> Value {
    Value::from_str(text.trim()).unwrap_or_else(|_| Value::from(text.trim()))
}

fn describe(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if k.contains('.') => s.push_str(&format!(".\"{k}\"")),
            Seg::Key(k) => s.push_str(&format!(".{k}")),
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s.trim_start_matches('.').to_string()
}

/// Sets `path` in a table, creating missing tables on the way.
fn set_in(table: &mut dyn TableLike, path: &[Seg], done: &[Seg], value: Value) -> Result<(), String> {
    let Some((Seg::Key(k), rest)) = path.split_first() else {
        return Err(format!("'{}' is a table, not a list: no index here", describe(done)));
    };
    let here: Vec<Seg> = done.iter().cloned().chain([Seg::Key(k.clone())]).collect();
    if rest.is_empty() {
        match table.get_mut(k) {
            Some(Item::Value(old)) => {
                let decor = old.decor().clone();
                *old = value;
                *old.decor_mut() = decor;
            }
            Some(_) => {
                return Err(format!(
                    "'{}' is a table or a list of tables; set one of its keys instead",
                    describe(&here)
                ))
            }
            None => {
                table.insert(k, Item::Value(value));
            }
        }
        return Ok(());
    }
    if table.get(k).is_none() {
        table.insert(k, Item::Table(Table::new()));
    }
    let child = table.get_mut(k).expect("inserted above");
    if let Some(Seg::Index(i)) = rest.first() {
        let here_i: Vec<Seg> = here.iter().cloned().chain([Seg::Index(*i)]).collect();
        let after = &rest[1..];
        return match child {
            Item::ArrayOfTables(list) => {
                let n = list.len();
                let t = list
                    .get_mut(*i)
                    .ok_or_else(|| format!("'{}' has {n} entries (counted from 0)", describe(&here)))?;
                if after.is_empty() {
                    return Err(format!(
                        "'{}' is a table; set one of its keys instead",
                        describe(&here_i)
                    ));
                }
                set_in(t, after, &here_i, value)
            }
            Item::Value(Value::Array(list)) => {
                let n = list.len();
                let v = list
                    .get_mut(*i)
                    .ok_or_else(|| format!("'{}' has {n} entries (counted from 0)", describe(&here)))?;
                match (after.is_empty(), v) {
                    (true, v) => {
                        let decor = v.decor().clone();
                        *v = value;
                        *v.decor_mut() = decor;
                        Ok(())
                    }
                    (false, Value::InlineTable(t)) => set_in(t, after, &here_i, value),
                    (false, _) => Err(format!("'{}' is not a table", describe(&here_i))),
                }
            }
            _ => Err(format!("'{}' is not a list: no index here", describe(&here))),
        };
    }
    let Some(t) = child.as_table_like_mut() else {
        return Err(format!(
            "'{}' is a value, not a table: it has no key '{}'",
            describe(&here),
            describe(rest)
        ));
    };
    set_in(t, rest, &here, value)
}

/// Sets one key in a document.
fn set(doc: &mut DocumentMut, key: &str, value: &str) -> Result<(), OverrideError> {
    let err = |message: String| OverrideError::Path {
        key: key.to_string(),
        message,
    };
    let path = segments(key).map_err(err)?;
    set_in(doc.as_table_mut(), &path, &[], toml_value(value)).map_err(err)
}

/// True for a key that sets an engine setting (not the choice of engine file).
fn is_engine_setting(key: &str) -> bool {
    key.strip_prefix("engine.")
        .is_some_and(|rest| !(rest == "config" || rest == "\"config\""))
}

fn settings_text(settings: &[(String, String)]) -> String {
    settings
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The scenario at `path` (text `text`) with `settings` applied, validated.
/// Without settings it is exactly [`parse`]. The plan keeps the engine's name as
/// the scenario gives it (e.g. `engine/careful.toml`); the settings are the
/// caller's to record.
pub fn plan_with(path: &Path, text: &str, settings: &[(String, String)]) -> Result<Plan, OverrideError> {
    let invalid = |error: ScenarioError| OverrideError::Invalid {
        settings: settings_text(settings),
        error,
    };
    if settings.is_empty() {
        return parse(path, text).map_err(invalid);
    }
    // A file toml_edit cannot read is one the scenario parser explains better.
    let mut doc = match DocumentMut::from_str(text) {
        Ok(d) => d,
        Err(_) => return parse(path, text).map_err(invalid),
    };
    let (engine, other): (Vec<_>, Vec<_>) = settings.iter().partition(|(k, _)| is_engine_setting(k));
    for (k, v) in &other {
        set(&mut doc, k, v)?;
    }
    if engine.is_empty() {
        return parse(path, &doc.to_string()).map_err(invalid);
    }
    // The effective engine settings, written inline in full, then the keys set in them.
    let base = parse(path, &doc.to_string()).map_err(invalid)?;
    let engine_text = toml::to_string(&base.engine.config).map_err(|e| OverrideError::Path {
        key: engine[0].0.clone(),
        message: format!("cannot write the engine settings as TOML: {e}"),
    })?;
    let engine_doc = DocumentMut::from_str(&engine_text).map_err(|e| OverrideError::Path {
        key: engine[0].0.clone(),
        message: format!("cannot read back the engine settings: {e}"),
    })?;
    let inline = engine_doc.as_table().clone().into_inline_table();
    doc.as_table_mut().remove("engine");
    doc.as_table_mut()
        .insert("engine", Item::Value(Value::InlineTable(inline)));
    for (k, v) in &engine {
        set(&mut doc, k, v)?;
    }
    let mut plan = parse(path, &doc.to_string()).map_err(invalid)?;
    plan.engine.name = base.engine.name;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::engine::config::EngineConfig;

    fn scenario(name: &str) -> (PathBuf, String) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        (path, text)
    }

    fn set(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn key_paths_take_dots_indices_and_quotes() {
        assert_eq!(
            segments("phases[1].end").unwrap(),
            [Seg::Key("phases".into()), Seg::Index(1), Seg::Key("end".into())]
        );
        assert_eq!(segments("phases.1.end").unwrap(), segments("phases[1].end").unwrap());
        assert_eq!(
            segments("thresholds.\"rate_limits.ratio_429\"").unwrap(),
            [Seg::Key("thresholds".into()), Seg::Key("rate_limits.ratio_429".into())]
        );
        for bad in ["a..b", ".a", "a.", "a[x]", "\"a", "a[0]b"] {
            assert!(segments(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_are_toml_or_else_text() {
        assert_eq!(toml_value("50").as_integer(), Some(50));
        assert_eq!(toml_value("0.5").as_float(), Some(0.5));
        assert_eq!(toml_value("true").as_bool(), Some(true));
        assert_eq!(toml_value("5m").as_str(), Some("5m"));
        assert_eq!(toml_value("\"5m\"").as_str(), Some("5m"));
        assert_eq!(toml_value("[5, 60]").as_array().map(|a| a.len()), Some(2));
    }

    #[test]
    fn the_engine_settings_round_trip_through_toml() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/engine");
        for config in [
            EngineConfig::default(),
            EngineConfig::load(&dir.join("careful.toml")).unwrap(),
            EngineConfig::load(&dir.join("naive.toml")).unwrap(),
        ] {
            let text = toml::to_string(&config).unwrap();
            assert_eq!(EngineConfig::parse("e.toml", &text).unwrap(), config, "{text}");
        }
    }

    #[test]
    fn an_engine_key_overrides_the_referenced_file_and_keeps_the_rest() {
        let (path, text) = scenario("default.toml");
        let base = plan_with(&path, &text, &[]).unwrap();
        assert_eq!(base.engine.config.inventory.batch_size, 250, "careful.toml");
        let plan = plan_with(
            &path,
            &text,
            &set(&[
                ("engine.inventory.batch_size", "50"),
                ("engine.intervals.inventory", "2m"),
            ]),
        )
        .unwrap();
        assert_eq!(plan.engine.config.inventory.batch_size, 50);
        assert_eq!(
            plan.engine.config.intervals.inventory,
            std::time::Duration::from_secs(120)
        );
        assert_eq!(plan.engine.name, "engine/careful.toml");
        let mut expected = base.engine.config.clone();
        expected.inventory.batch_size = 50;
        expected.intervals.inventory = std::time::Duration::from_secs(120);
        assert_eq!(plan.engine.config, expected, "nothing else changed");
        assert_eq!(plan.name, base.name);
    }

    #[test]
    fn scenario_keys_and_the_engine_file_can_be_set() {
        let (path, text) = scenario("default.toml");
        let plan = plan_with(
            &path,
            &text,
            &set(&[
                ("seed", "7"),
                ("phases[1].orders_per_hour", "900"),
                ("catalogue.initial_stock", "[1, 2]"),
                ("thresholds.\"rate_limits.ratio_429\"", "< 2%"),
                ("engine.config", "engine/naive.toml"),
                ("engine.inventory.concurrency", "3"),
            ]),
        )
        .unwrap();
        assert_eq!(plan.seed, 7);
        assert_eq!(plan.phases[1].orders_per_hour, 900.0);
        assert_eq!(plan.catalogue.initial_stock, (1, 2));
        assert!(plan.thresholds.iter().any(|t| t.metric == "rate_limits.ratio_429"));
        assert_eq!(plan.engine.name, "engine/naive.toml");
        assert_eq!(plan.engine.config.inventory.batch_size, 1, "naive.toml's");
        assert_eq!(plan.engine.config.inventory.concurrency, 3);
    }

    #[test]
    fn a_scenario_without_engine_section_takes_engine_keys_over_the_defaults() {
        let (path, text) = scenario("default.toml");
        let text = text.replace("[engine]\nconfig = \"engine/careful.toml\"\n", "");
        assert!(!text.contains("[engine]"));
        let plan = plan_with(&path, &text, &set(&[("engine.inventory.batch_size", "500")])).unwrap();
        let mut expected = EngineConfig::default();
        expected.inventory.batch_size = 500;
        assert_eq!(plan.engine.config, expected);
    }

    fn error(key: &str, value: &str) -> String {
        let (path, text) = scenario("default.toml");
        plan_with(&path, &text, &set(&[(key, value)])).unwrap_err().to_string()
    }

    #[test]
    fn bad_keys_and_values_are_named() {
        let e = error("engine.inventory.batch_sise", "50");
        assert!(
            e.contains("engine.inventory.batch_sise=50") && e.contains("batch_sise"),
            "{e}"
        );
        let e = error("engine.inventory.batch_size", "0");
        assert!(
            e.contains("inventory.batch_size must be between 1 and 10000, got 0"),
            "{e}"
        );
        let e = error("catalogue.skuz", "5");
        assert!(e.contains("key 'catalogue.skuz'") && e.contains("skus"), "{e}");
        let e = error("catalogue.skus", "0");
        assert!(e.contains("key 'catalogue.skus'") && e.contains("between 1 and"), "{e}");
        let line = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/default.toml"))
            .unwrap()
            .lines()
            .position(|l| l.starts_with("skus"))
            .unwrap()
            + 1;
        assert!(e.contains(&format!("line {line},")), "the line is the file's: {e}");
        let e = error("phases[7].end", "1h");
        assert!(e.starts_with("--set phases[7].end:") && e.contains("2 entries"), "{e}");
        let e = error("seed.x", "1");
        assert!(e.contains("'seed' is a value"), "{e}");
        let e = error("catalogue", "1");
        assert!(e.contains("set one of its keys"), "{e}");
        let e = error("speed", "fast");
        assert!(e.contains("key 'speed'"), "{e}");
    }
}
