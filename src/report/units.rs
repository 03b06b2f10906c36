//! Human units for report values, shared by every text format: durations of
//! scenario time (`850 ms`, `2.3 s`, `4 m 10 s`, `1 h 5 m`), ratios as percentages,
//! counts with thousands separators. Pure functions, no locale.

/// What a metric measures, which decides its unit in thresholds and in rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Milliseconds (scenario time, except `harness.wall_time`).
    Duration,
    /// A count of things (orders, requests, units).
    Count,
    /// A ratio 0..1, shown as a percentage.
    Ratio,
    /// Per second.
    Rate,
    /// Money in the shop's currency.
    Money,
    /// A plain number (speed factor, MiB).
    Number,
}

/// A duration in ms as people read it: `850 ms`, `2.3 s`, `4 m 10 s`, `1 h 5 m`, `2 d 3 h`.
pub fn duration(ms: f64) -> String {
    if !ms.is_finite() {
        return "n/a".into();
    }
    let sign = if ms < 0.0 { "-" } else { "" };
    let ms = ms.abs();
    if ms < 1_000.0 {
        return format!("{sign}{} ms", trim(ms, 0));
    }
    let s = ms / 1_000.0;
    if s < 60.0 {
        return format!("{sign}{} s", trim(s, 1));
    }
    let total_s = s.round() as u64;
    let (d, h, m, sec) = (total_s / 86_400, total_s / 3_600 % 24, total_s / 60 % 60, total_s % 60);
    let text = if d > 0 {
        pair(d, "d", h, "h")
    } else if h > 0 {
        pair(h, "h", m, "m")
    } else {
        pair(m, "m", sec, "s")
    };
    format!("{sign}{text}")
}

fn pair(big: u64, big_unit: &str, small: u64, small_unit: &str) -> String {
    if small == 0 {
        format!("{big} {big_unit}")
    } else {
        format!("{big} {big_unit} {small} {small_unit}")
    }
}

/// A number with at most `decimals` decimals, trailing zeros dropped.
pub fn trim(v: f64, decimals: usize) -> String {
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A ratio 0..1 as a percentage: `3.46 %`.
pub fn percent(ratio: f64) -> String {
    if !ratio.is_finite() {
        return "n/a".into();
    }
    format!("{} %", trim(ratio * 100.0, 2))
}

/// A count with thousands separators: `12,345`. Fractions are kept (`2.5`).
pub fn count(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    if v.fract() != 0.0 {
        return trim(v, 2);
    }
    let digits = format!("{}", v.abs() as u64);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A value in the unit its kind calls for.
pub fn value(kind: Kind, v: f64) -> String {
    match kind {
        Kind::Duration => duration(v),
        Kind::Count => count(v),
        Kind::Ratio => percent(v),
        Kind::Rate => format!("{}/s", trim(v, 2)),
        Kind::Money => format!("{v:.2}"),
        Kind::Number => trim(v, 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(duration(0.0), "0 ms");
        assert_eq!(duration(850.0), "850 ms");
        assert_eq!(duration(2_300.0), "2.3 s");
        assert_eq!(duration(2_000.0), "2 s");
        assert_eq!(duration(250_000.0), "4 m 10 s");
        assert_eq!(duration(300_000.0), "5 m");
        assert_eq!(duration(3_900_000.0), "1 h 5 m");
        assert_eq!(duration(183_600_000.0), "2 d 3 h");
        assert_eq!(duration(-1_500.0), "-1.5 s");
        assert_eq!(duration(f64::NAN), "n/a");
    }

    #[test]
    fn counts_ratios_and_rates() {
        assert_eq!(count(1_234_567.0), "1,234,567");
        assert_eq!(count(999.0), "999");
        assert_eq!(count(-4_100.0), "-4,100");
        assert_eq!(count(2.5), "2.5");
        assert_eq!(percent(0.0346), "3.46 %");
        assert_eq!(percent(0.0), "0 %");
        assert_eq!(value(Kind::Rate, 9.8), "9.8/s");
        assert_eq!(value(Kind::Money, -5.0), "-5.00");
    }
}
