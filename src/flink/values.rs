//! Checks that a text value reads as the option's type the way Flink parses it: booleans, integers,
//! durations (`10 s`, `10s`, `1min`, `500 ms`), memory sizes (`1024m`, `1 gb`), enum constants
//! (case-insensitive), maps (`k:v,k2:v2`) and `;`-separated lists.

use super::options::OptionType;

/// Why a value does not fit its type, in words for the user (`None` when it fits). Like Flink,
/// booleans, integers and enum constants must not carry spaces; `iso_durations` also accepts
/// ISO-8601 durations (`PT10S`), which Flink reads from 2.1 on.
pub fn type_mismatch(ty: &OptionType, value: &str, iso_durations: bool) -> Option<String> {
    let v = value;
    let ok = match ty {
        OptionType::Boolean => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
        OptionType::Integer => v.parse::<i32>().is_ok(),
        OptionType::Long => v.parse::<i64>().is_ok(),
        OptionType::Double => v.trim().parse::<f64>().is_ok(),
        OptionType::Duration => {
            is_duration(v) || (iso_durations && iso_duration_nanos(v).is_some())
        }
        OptionType::MemorySize => is_memory_size(v),
        OptionType::Enum {
            constants: names, ..
        } => names.iter().any(|n| n.eq_ignore_ascii_case(v)),
        OptionType::Map => v.is_empty() || v.split(',').all(|kv| kv.contains(':')),
        OptionType::List(inner) => {
            return v.split(';').filter(|e| !e.trim().is_empty()).find_map(|e| {
                type_mismatch(inner, e.trim(), iso_durations)
                    .map(|why| format!("list element {:?}: {why}", e.trim()))
            });
        }
        OptionType::String | OptionType::Other(_) => true,
    };
    if ok {
        return None;
    }
    Some(match ty {
        OptionType::Boolean => "expected true or false".to_string(),
        OptionType::Integer => "expected a 32-bit integer such as 4".to_string(),
        OptionType::Long => "expected an integer such as 100000".to_string(),
        OptionType::Double => "expected a number such as 0.5".to_string(),
        OptionType::Duration => {
            "expected a duration such as 10 s, 500ms, 1min, 2 h or 1 d".to_string()
        }
        OptionType::MemorySize => {
            "expected a memory size such as 1024m, 512 mb, 1 gb or 4g".to_string()
        }
        OptionType::Enum {
            constants: names, ..
        } => format!("expected one of {}", names.join(", ")),
        OptionType::Map => "expected key:value pairs separated by commas, e.g. a:1,b:2".to_string(),
        _ => "unexpected value".to_string(),
    })
}

/// Duration units and their length in nanoseconds, as Flink's `TimeUtils` names them.
const DURATION_UNITS: &[(&[&str], u128)] = &[
    (&["ns", "nano", "nanos", "nanosecond", "nanoseconds"], 1),
    (
        &["us", "µs", "micro", "micros", "microsecond", "microseconds"],
        1_000,
    ),
    (
        &["", "ms", "milli", "millis", "millisecond", "milliseconds"],
        1_000_000,
    ),
    (&["s", "sec", "secs", "second", "seconds"], 1_000_000_000),
    (&["m", "min", "minute", "minutes"], 60_000_000_000),
    (&["h", "hour", "hours"], 3_600_000_000_000),
    (&["d", "day", "days"], 86_400_000_000_000),
];

/// Memory units and their size in bytes, as Flink's `MemorySize` names them.
const MEMORY_UNITS: &[(&[&str], u128)] = &[
    (&["", "b", "bytes"], 1),
    (&["k", "kb", "kibibytes"], 1 << 10),
    (&["m", "mb", "mebibytes"], 1 << 20),
    (&["g", "gb", "gibibytes"], 1 << 30),
    (&["t", "tb", "tebibytes"], 1 << 40),
];

/// Whether `v` is a duration: a number and an optional unit (milliseconds without one).
pub fn is_duration(v: &str) -> bool {
    duration_nanos(v).is_some()
}

/// Whether `v` is a memory size: a number and an optional unit (bytes without one).
pub fn is_memory_size(v: &str) -> bool {
    memory_bytes(v).is_some()
}

/// The length of a duration (number and unit) in nanoseconds.
pub fn duration_nanos(v: &str) -> Option<u128> {
    scaled(v, DURATION_UNITS)
}

/// The length of a non-negative ISO-8601 duration (`PT10S`, `P1DT2H`, `PT0.5S`) in nanoseconds.
pub fn iso_duration_nanos(v: &str) -> Option<u128> {
    let u = v.trim().to_ascii_uppercase();
    let rest = u.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (rest, None),
    };
    let mut total: u128 = 0;
    if !date.is_empty() {
        total += date.strip_suffix('D')?.parse::<u128>().ok()? * 86_400_000_000_000;
    }
    let mut t = time.unwrap_or("");
    for (unit, nanos) in [('H', 3_600_000_000_000u128), ('M', 60_000_000_000)] {
        if let Some((n, after)) = t.split_once(unit) {
            total += n.parse::<u128>().ok()? * nanos;
            t = after;
        }
    }
    if let Some(sec) = t.strip_suffix('S') {
        let (whole, frac) = sec.split_once(['.', ',']).unwrap_or((sec, ""));
        if frac.len() > 9 || !frac.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        total += whole.parse::<u128>().ok()? * 1_000_000_000;
        total += format!("{frac:0<9}").parse::<u128>().ok()?;
    } else if !t.is_empty() {
        return None;
    }
    (date.len() + time.map_or(0, str::len) > 0).then_some(total)
}

/// A memory size in bytes.
pub fn memory_bytes(v: &str) -> Option<u128> {
    scaled(v, MEMORY_UNITS)
}

fn scaled(v: &str, units: &[(&[&str], u128)]) -> Option<u128> {
    let v = v.trim();
    let digits = v.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let n = v[..digits].parse::<u128>().ok()?;
    let unit = v[digits..].trim().to_lowercase();
    let factor = units
        .iter()
        .find(|(names, _)| names.contains(&unit.as_str()))?
        .1;
    n.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for ok in [
            "10 s",
            "10s",
            "1min",
            "500 ms",
            "2h",
            "1 d",
            "30",
            "7 seconds",
        ] {
            assert!(is_duration(ok), "{ok}");
        }
        for bad in ["ten s", "10 parsecs", "", "s", "-1s", "1.5s"] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    #[test]
    fn memory_sizes() {
        for ok in ["1024m", "1 gb", "512 MB", "4g", "1073741824", "64 kb"] {
            assert!(is_memory_size(ok), "{ok}");
        }
        for bad in ["1 gigabyte", "lots", "1.5g", ""] {
            assert!(!is_memory_size(bad), "{bad}");
        }
        assert_eq!(memory_bytes("1 gb"), memory_bytes("1024m"));
        assert_eq!(duration_nanos("1min"), duration_nanos("60 s"));
        assert_eq!(duration_nanos("10"), Some(10_000_000));
        assert_eq!(iso_duration_nanos("PT10S"), duration_nanos("10 s"));
        assert_eq!(iso_duration_nanos("pt1m"), duration_nanos("1 min"));
        assert_eq!(iso_duration_nanos("P1DT2H0.5S"), Some(93_600_500_000_000));
        for bad in ["P", "PT", "10S", "PT1.5", "PTxS", "P1H"] {
            assert_eq!(iso_duration_nanos(bad), None, "{bad}");
        }
        assert!(type_mismatch(&OptionType::Duration, "PT10S", false).is_some());
        assert!(type_mismatch(&OptionType::Duration, "PT10S", true).is_none());
    }

    #[test]
    fn scalars_enums_lists() {
        assert!(type_mismatch(&OptionType::Boolean, "TRUE", false).is_none());
        assert!(type_mismatch(&OptionType::Boolean, " true", false).is_some());
        assert!(type_mismatch(&OptionType::Integer, "4 ", false).is_some());
        assert!(type_mismatch(&OptionType::Integer, "+4", false).is_none());
        assert!(type_mismatch(&OptionType::Double, " 0.5", false).is_none());
        assert!(type_mismatch(&OptionType::Boolean, "yes", false).is_some());
        assert!(type_mismatch(&OptionType::Integer, "4", false).is_none());
        assert!(type_mismatch(&OptionType::Integer, "4000000000", false).is_some());
        assert!(type_mismatch(&OptionType::Long, "4000000000", false).is_none());
        assert!(type_mismatch(&OptionType::Double, "0.5", false).is_none());
        let e = OptionType::Enum {
            class: "M".into(),
            constants: vec!["EXACTLY_ONCE".into(), "AT_LEAST_ONCE".into()],
        };
        assert!(type_mismatch(&e, "exactly_once", false).is_none());
        assert_eq!(
            type_mismatch(&e, "twice", false).as_deref(),
            Some("expected one of EXACTLY_ONCE, AT_LEAST_ONCE")
        );
        let l = OptionType::List(Box::new(OptionType::Duration));
        assert!(type_mismatch(&l, "1s;2 min", false).is_none());
        assert!(type_mismatch(&l, "1s;soon", false)
            .unwrap()
            .contains("\"soon\""));
        assert!(type_mismatch(&OptionType::Map, "a:1,b:2", false).is_none());
        assert!(type_mismatch(&OptionType::Map, "a=1", false).is_some());
    }
}
