//! Checks that a text value reads as the option's type the way Flink parses it: booleans, integers,
//! durations (`10 s`, `10s`, `1min`, `500 ms`), memory sizes (`1024m`, `1 gb`), enum constants
//! (case-insensitive), maps (`k:v,k2:v2`) and `;`-separated lists.

use super::options::OptionType;

/// Why a value does not fit its type, in words for the user (`None` when it fits).
pub fn type_mismatch(ty: &OptionType, value: &str) -> Option<String> {
    let v = value.trim();
    let ok = match ty {
        OptionType::Boolean => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
        OptionType::Integer => v.parse::<i32>().is_ok(),
        OptionType::Long => v.parse::<i64>().is_ok(),
        OptionType::Double => v.parse::<f64>().is_ok(),
        OptionType::Duration => is_duration(v),
        OptionType::MemorySize => is_memory_size(v),
        OptionType::Enum(names) => names.iter().any(|n| n.eq_ignore_ascii_case(v)),
        OptionType::Map => v.is_empty() || v.split(',').all(|kv| kv.contains(':')),
        OptionType::List(inner) => {
            return v.split(';').filter(|e| !e.trim().is_empty()).find_map(|e| {
                type_mismatch(inner, e).map(|why| format!("list element {:?}: {why}", e.trim()))
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
        OptionType::Enum(names) => format!("expected one of {}", names.join(", ")),
        OptionType::Map => "expected key:value pairs separated by commas, e.g. a:1,b:2".to_string(),
        _ => "unexpected value".to_string(),
    })
}

const DURATION_UNITS: &[&str] = &[
    "",
    "d",
    "day",
    "days",
    "h",
    "hour",
    "hours",
    "min",
    "m",
    "minute",
    "minutes",
    "s",
    "sec",
    "secs",
    "second",
    "seconds",
    "ms",
    "milli",
    "millis",
    "millisecond",
    "milliseconds",
    "us",
    "µs",
    "micro",
    "micros",
    "microsecond",
    "microseconds",
    "ns",
    "nano",
    "nanos",
    "nanosecond",
    "nanoseconds",
];

const MEMORY_UNITS: &[&str] = &[
    "",
    "b",
    "bytes",
    "k",
    "kb",
    "kibibytes",
    "m",
    "mb",
    "mebibytes",
    "g",
    "gb",
    "gibibytes",
    "t",
    "tb",
    "tebibytes",
];

/// A number and an optional unit, as Flink's `TimeUtils.parseDuration` reads them.
pub fn is_duration(v: &str) -> bool {
    number_and_unit(v).is_some_and(|(_, unit)| DURATION_UNITS.contains(&unit.as_str()))
}

/// A number and an optional unit, as Flink's `MemorySize.parse` reads them.
pub fn is_memory_size(v: &str) -> bool {
    number_and_unit(v).is_some_and(|(_, unit)| MEMORY_UNITS.contains(&unit.as_str()))
}

fn number_and_unit(v: &str) -> Option<(u64, String)> {
    let v = v.trim();
    let digits: String = v.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return None;
    }
    let n = digits.parse::<u64>().ok()?;
    let unit = v[digits.len()..].trim().to_lowercase();
    Some((n, unit))
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
    }

    #[test]
    fn scalars_enums_lists() {
        assert!(type_mismatch(&OptionType::Boolean, "TRUE").is_none());
        assert!(type_mismatch(&OptionType::Boolean, "yes").is_some());
        assert!(type_mismatch(&OptionType::Integer, "4").is_none());
        assert!(type_mismatch(&OptionType::Integer, "4000000000").is_some());
        assert!(type_mismatch(&OptionType::Long, "4000000000").is_none());
        assert!(type_mismatch(&OptionType::Double, "0.5").is_none());
        let e = OptionType::Enum(vec!["EXACTLY_ONCE".into(), "AT_LEAST_ONCE".into()]);
        assert!(type_mismatch(&e, "exactly_once").is_none());
        assert_eq!(
            type_mismatch(&e, "twice").as_deref(),
            Some("expected one of EXACTLY_ONCE, AT_LEAST_ONCE")
        );
        let l = OptionType::List(Box::new(OptionType::Duration));
        assert!(type_mismatch(&l, "1s;2 min").is_none());
        assert!(type_mismatch(&l, "1s;soon").unwrap().contains("\"soon\""));
        assert!(type_mismatch(&OptionType::Map, "a:1,b:2").is_none());
        assert!(type_mismatch(&OptionType::Map, "a=1").is_some());
    }
}
