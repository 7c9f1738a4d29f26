//! The one duration format of the config file: a whole number and a unit, e.g. `250ms`,
//! `5s`, `2m`, `1h`. Bare numbers are refused so a value can never be read in the wrong unit.

use std::time::Duration;

/// Parses `250ms`, `5s`, `2m` or `1h` (surrounding spaces allowed).
pub fn parse_duration(text: &str) -> Result<Duration, &'static str> {
    const FORMAT: &str = "must be a whole number with a unit: ms, s, m or h (e.g. 250ms, 5s)";
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or(FORMAT)?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| FORMAT)?;
    let per_unit_ms: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(FORMAT),
    };
    n.checked_mul(per_unit_ms)
        .map(Duration::from_millis)
        .ok_or("is too large")
}

/// The canonical spelling of `d`: the largest unit that divides it exactly.
pub fn format_duration(d: Duration) -> String {
    let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    match ms {
        0 => "0ms".to_owned(),
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        ms if ms % 1_000 == 0 => format!("{}s", ms / 1_000),
        ms => format!("{ms}ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_unit() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration(" 5s "), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
    }

    #[test]
    fn refuses_bare_numbers_fractions_and_unknown_units() {
        for bad in [
            "5",
            "1.5s",
            "5 s",
            "5sec",
            "-1s",
            "s",
            "",
            "99999999999999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_with_the_largest_exact_unit() {
        for text in ["250ms", "5s", "2m", "1h", "90s"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
    }
}
