//! The grid of a sweep: one [`Axis`] per `--set KEY=v1,v2,...`, their cartesian
//! product in a fixed order, and [`Shard`]s that split it.
//!
//! Points are numbered from 0 in row-major order: the first `--set` varies slowest,
//! the last fastest, like nested loops written in the order of the flags. A point's
//! number depends only on the axes, so every machine of a CI matrix numbers the grid
//! the same way and shards can be merged back by number.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A sweep that cannot be set up: the message names the flag and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GridError {
    #[error("--set {arg}: {message}")]
    Set { arg: String, message: String },
    #[error("--shard {arg}: {message}")]
    Shard { arg: String, message: String },
}

/// One swept key and its values, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Axis {
    /// Dotted scenario key, e.g. `engine.inventory.batch_size` or `phases[0].orders_per_hour`.
    pub key: String,
    /// Values in the order given; each is TOML (`50`, `0.5`, `true`, `[5, 60]`) or else a string (`5m`).
    pub values: Vec<String>,
}

/// At most this many points in one grid (a typo such as `1,2,...,100000` should not start a week of runs).
pub const MAX_POINTS: u64 = 10_000;

impl Axis {
    /// Parses `KEY=v1,v2,...`. Commas inside brackets, braces or quotes do not
    /// split (`catalogue.initial_stock=[5, 60],[10, 100]`).
    pub fn parse(arg: &str) -> Result<Axis, GridError> {
        let err = |message: String| GridError::Set {
            arg: arg.to_string(),
            message,
        };
        let Some((key, values)) = arg.split_once('=') else {
            return Err(err(
                "expected KEY=v1,v2,... such as engine.inventory.batch_size=50,100,250".into(),
            ));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(err(
                "the key is empty; name a scenario key such as engine.inventory.batch_size".into(),
            ));
        }
        let values = split_values(values).map_err(err)?;
        if values.iter().any(String::is_empty) {
            return Err(err("a value is empty (two commas in a row, or a trailing comma)".into()));
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(dup) = values.iter().find(|v| !seen.insert(v.as_str())) {
            return Err(err(format!("the value {dup} is given twice")));
        }
        Ok(Axis {
            key: key.to_string(),
            values,
        })
    }
}

/// Splits on top-level commas; values are trimmed.
fn split_values(text: &str) -> Result<Vec<String>, String> {
    let (mut out, mut cur, mut depth, mut quote) = (Vec::new(), String::new(), 0i32, None::<char>);
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        if depth < 0 {
            return Err("a closing bracket has no opening one".into());
        }
        cur.push(c);
    }
    if quote.is_some() || depth != 0 {
        return Err("a quote or bracket is not closed".into());
    }
    out.push(cur.trim().to_string());
    Ok(out)
}

/// The cartesian product of the axes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    pub axes: Vec<Axis>,
}

impl Grid {
    /// A grid of distinct keys, not larger than [`MAX_POINTS`].
    pub fn new(axes: Vec<Axis>) -> Result<Grid, GridError> {
        let mut keys = std::collections::BTreeSet::new();
        for a in &axes {
            if !keys.insert(a.key.as_str()) {
                return Err(GridError::Set {
                    arg: a.key.clone(),
                    message: "the key is swept twice; give all its values in one --set".into(),
                });
            }
        }
        let grid = Grid { axes };
        if grid.len() > MAX_POINTS {
            return Err(GridError::Set {
                arg: grid.axes.iter().map(|a| a.key.as_str()).collect::<Vec<_>>().join(", "),
                message: format!("the grid has {} points, at most {MAX_POINTS} are allowed", grid.len()),
            });
        }
        Ok(grid)
    }

    /// Number of points (1 for a grid without axes: the scenario as written).
    pub fn len(&self) -> u64 {
        self.axes
            .iter()
            .map(|a| a.values.len() as u64)
            .fold(1u64, u64::saturating_mul)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value index on each axis of point `index`.
    pub fn coordinates(&self, index: u64) -> Vec<usize> {
        let mut rest = index;
        let mut coords = vec![0; self.axes.len()];
        for (i, a) in self.axes.iter().enumerate().rev() {
            let n = a.values.len() as u64;
            coords[i] = (rest % n) as usize;
            rest /= n;
        }
        coords
    }

    /// The point at these value indices.
    pub fn index_of(&self, coords: &[usize]) -> u64 {
        self.axes
            .iter()
            .zip(coords)
            .fold(0u64, |acc, (a, c)| acc * a.values.len() as u64 + *c as u64)
    }

    /// The settings of point `index`, in axis order.
    pub fn settings(&self, index: u64) -> Vec<(String, String)> {
        self.axes
            .iter()
            .zip(self.coordinates(index))
            .map(|(a, c)| (a.key.clone(), a.values[c].clone()))
            .collect()
    }

    /// The point with these settings, if every key is an axis and every value one of its values.
    pub fn find(&self, settings: &BTreeMap<String, String>) -> Option<u64> {
        if settings.len() != self.axes.len() {
            return None;
        }
        let coords = self
            .axes
            .iter()
            .map(|a| {
                let v = settings.get(&a.key)?;
                a.values.iter().position(|x| x == v)
            })
            .collect::<Option<Vec<usize>>>()?;
        Some(self.index_of(&coords))
    }

    /// Points that differ from `index` by one step on one axis, with that axis.
    pub fn neighbours(&self, index: u64) -> Vec<(u64, usize)> {
        let coords = self.coordinates(index);
        let mut out = Vec::new();
        for (axis, a) in self.axes.iter().enumerate() {
            for step in [-1i64, 1] {
                let c = coords[axis] as i64 + step;
                if c >= 0 && (c as usize) < a.values.len() {
                    let mut n = coords.clone();
                    n[axis] = c as usize;
                    out.push((self.index_of(&n), axis));
                }
            }
        }
        out
    }
}

/// `--shard I/N`: the I-th of N slices of a grid, I counted from 1. Shard I runs
/// the points whose number (from 0) leaves remainder I-1 when divided by N: points
/// I-1, I-1+N, I-1+2N, ... Every point is in exactly one shard. A Kubernetes
/// indexed job (0-based `JOB_COMPLETION_INDEX`) passes `$((JOB_COMPLETION_INDEX + 1))/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Shard {
    /// 1..=count.
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    pub fn contains(self, point: u64) -> bool {
        point % self.count == self.index - 1
    }
}

impl std::str::FromStr for Shard {
    type Err = GridError;
    fn from_str(arg: &str) -> Result<Shard, GridError> {
        let err = |message: &str| GridError::Shard {
            arg: arg.to_string(),
            message: message.to_string(),
        };
        let (i, n) = arg
            .split_once('/')
            .ok_or_else(|| err("expected I/N such as 1/4 (shard I of N, I counted from 1)"))?;
        let (i, n) = match (i.trim().parse::<u64>(), n.trim().parse::<u64>()) {
            (Ok(i), Ok(n)) => (i, n),
            _ => return Err(err("I and N must be whole numbers, such as 1/4")),
        };
        if n == 0 || i == 0 || i > n {
            return Err(err(
                "I must be between 1 and N (shards are counted from 1), and N at least 1",
            ));
        }
        Ok(Shard { index: i, count: n })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(args: &[&str]) -> Grid {
        Grid::new(args.iter().map(|a| Axis::parse(a).unwrap()).collect()).unwrap()
    }

    #[test]
    fn values_split_on_top_level_commas_only() {
        let a = Axis::parse("engine.inventory.batch_size=50, 100,250").unwrap();
        assert_eq!(a.key, "engine.inventory.batch_size");
        assert_eq!(a.values, ["50", "100", "250"]);
        let a = Axis::parse("catalogue.initial_stock=[5, 60],[10,100]").unwrap();
        assert_eq!(a.values, ["[5, 60]", "[10,100]"]);
        let a = Axis::parse(r#"engine.inventory.policy={ policy = "on_hand" },"a,b""#).unwrap();
        assert_eq!(a.values, [r#"{ policy = "on_hand" }"#, r#""a,b""#]);
    }

    #[test]
    fn bad_sets_name_the_flag() {
        for (arg, want) in [
            ("batch_size", "KEY=v1,v2"),
            ("=1,2", "key is empty"),
            ("a=1,,2", "empty"),
            ("a=1,", "empty"),
            ("a=[1,2", "not closed"),
            ("a=1]", "closing bracket"),
            ("a=1,2,1", "given twice"),
        ] {
            let e = Axis::parse(arg).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("--set {arg}:")) && e.contains(want),
                "{arg}: {e}"
            );
        }
        let e = Grid::new(vec![Axis::parse("a=1").unwrap(), Axis::parse("a=2").unwrap()]).unwrap_err();
        assert!(e.to_string().contains("swept twice"), "{e}");
        let big = format!("a={}", (0..101).map(|i| i.to_string()).collect::<Vec<_>>().join(","));
        let e = Grid::new(vec![
            Axis::parse(&big).unwrap(),
            Axis::parse(&big.replace("a=", "b=")).unwrap(),
        ]);
        assert!(e.unwrap_err().to_string().contains("10201 points"));
    }

    #[test]
    fn points_are_numbered_row_major_in_flag_order() {
        let g = grid(&["a=1,2,3", "b=x,y"]);
        assert_eq!(g.len(), 6);
        let all: Vec<String> = (0..g.len())
            .map(|i| {
                g.settings(i)
                    .iter()
                    .map(|(_, v)| v.as_str())
                    .collect::<Vec<_>>()
                    .join("")
            })
            .collect();
        assert_eq!(all, ["1x", "1y", "2x", "2y", "3x", "3y"]);
        for i in 0..g.len() {
            assert_eq!(g.index_of(&g.coordinates(i)), i);
            let settings: BTreeMap<String, String> = g.settings(i).into_iter().collect();
            assert_eq!(g.find(&settings), Some(i));
        }
        let unknown: BTreeMap<String, String> = [("a".into(), "9".into()), ("b".into(), "x".into())].into();
        assert_eq!(g.find(&unknown), None);
        assert_eq!(grid(&[]).len(), 1, "no axes: the scenario as written");
    }

    #[test]
    fn neighbours_differ_by_one_step_on_one_axis() {
        let g = grid(&["a=1,2,3", "b=x,y"]);
        // Point 2 is (a=2, b=x): a=1 and a=3 with b=x, and a=2 with b=y.
        let mut n = g.neighbours(2);
        n.sort();
        assert_eq!(n, vec![(0, 0), (3, 1), (4, 0)]);
        assert_eq!(g.neighbours(0).len(), 2, "a corner has fewer");
    }

    #[test]
    fn shards_partition_the_grid_exactly() {
        for n in 1..=7u64 {
            let shards: Vec<Shard> = (1..=n).map(|i| format!("{i}/{n}").parse().unwrap()).collect();
            for point in 0..20 {
                assert_eq!(shards.iter().filter(|s| s.contains(point)).count(), 1);
            }
        }
        let s: Shard = "2/3".parse().unwrap();
        assert_eq!((0..9).filter(|p| s.contains(*p)).collect::<Vec<_>>(), [1, 4, 7]);
        for bad in ["0/3", "4/3", "1/0", "a/b", "3"] {
            let e = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(e.starts_with(&format!("--shard {bad}:")), "{e}");
        }
        assert_eq!(s.to_string(), "2/3");
    }
}
