//! Kubernetes resource quantities (`apimachinery/pkg/api/resource/quantity.go`) as the API server
//! parses and writes them back: every quantity it stores is re-serialised in canonical form, so
//! `1024Mi` comes back as `1Gi`, `1000m` as `1`, `0.5` as `500m` and `1500000000` as `1500M`. A
//! client that compares what it sent with what it reads must send the canonical form, or it sees
//! drift on every read.
//!
//! The form: binary-SI quantities (`Ki` .. `Ei`) of at least 1024 that are whole numbers keep a
//! binary suffix, the largest power of 1024 that divides them; everything else is decimal, with
//! the exponent a multiple of three and its SI suffix (`n`, `u`, `m`, none, `k`, `M`, `G`, `T`,
//! `P`, `E`), or `e<exponent>` when it was written with one. Precision below `1n` rounds up.

/// How a quantity was written, which its canonical form keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    BinarySi,
    DecimalSi,
    DecimalExponent,
}

/// A parsed quantity: `mantissa * 10^exponent`, exactly.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Parsed {
    mantissa: i128,
    exponent: i32,
    format: Format,
}

/// The API server's message for text that is not a quantity.
pub const INVALID: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const BINARY: [(&str, u32); 6] = [
    ("Ki", 1),
    ("Mi", 2),
    ("Gi", 3),
    ("Ti", 4),
    ("Pi", 5),
    ("Ei", 6),
];

const DECIMAL: [(&str, i32); 10] = [
    ("n", -9),
    ("u", -6),
    ("m", -3),
    ("", 0),
    ("k", 3),
    ("M", 6),
    ("G", 9),
    ("T", 12),
    ("P", 15),
    ("E", 18),
];

fn parse(text: &str) -> Option<Parsed> {
    let split = text
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || *c == '.' || (*i == 0 && (*c == '+' || *c == '-'))))
        .map_or(text.len(), |(i, _)| i);
    let (number, suffix) = text.split_at(split);
    let (negative, digits) = match number.as_bytes().first() {
        Some(b'-') => (true, &number[1..]),
        Some(b'+') => (false, &number[1..]),
        _ => (false, number),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if (whole.is_empty() && fraction.is_empty())
        || !whole
            .chars()
            .chain(fraction.chars())
            .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let all = format!("{whole}{fraction}");
    let significant = all.trim_start_matches('0');
    // More digits than an i128 holds exactly is far beyond any quantity a cluster takes.
    if significant.len() > 30 {
        return None;
    }
    let mut mantissa: i128 = if significant.is_empty() {
        0
    } else {
        significant.parse().ok()?
    };
    if negative {
        mantissa = -mantissa;
    }
    let mut exponent = -i32::try_from(fraction.len()).ok()?;
    let format = if let Some((_, power)) = BINARY.iter().find(|(s, _)| *s == suffix) {
        mantissa = mantissa.checked_mul(1024i128.checked_pow(*power)?)?;
        Format::BinarySi
    } else if let Some((_, e)) = DECIMAL.iter().find(|(s, _)| *s == suffix) {
        exponent += e;
        Format::DecimalSi
    } else if let Some(e) = suffix
        .strip_prefix('e')
        .or_else(|| suffix.strip_prefix('E'))
        .and_then(|e| e.parse::<i32>().ok())
    {
        exponent = exponent.checked_add(e)?;
        Format::DecimalExponent
    } else {
        return None;
    };
    Some(Parsed {
        mantissa,
        exponent,
        format,
    })
}

/// Whether `text` is a quantity the API server takes.
pub fn is_valid(text: &str) -> bool {
    parse(text).is_some()
}

/// `text` as the API server writes it back, or `None` when it is not a quantity.
pub fn canonical(text: &str) -> Option<String> {
    let Parsed {
        mut mantissa,
        mut exponent,
        format,
    } = parse(text)?;
    if mantissa == 0 {
        return Some("0".into());
    }
    // Below nano precision rounds up (away from zero).
    while exponent < -9 {
        let rest = mantissa % 10;
        mantissa = mantissa / 10 + rest.signum();
        exponent += 1;
    }
    if format == Format::BinarySi {
        if let Some(whole) = whole_number(mantissa, exponent).filter(|w| w.abs() >= 1024) {
            let (mut value, mut power) = (whole, 0usize);
            while power < BINARY.len() && value % 1024 == 0 {
                value /= 1024;
                power += 1;
            }
            let suffix = if power == 0 { "" } else { BINARY[power - 1].0 };
            return Some(format!("{value}{suffix}"));
        }
    }
    while mantissa % 10 == 0 {
        mantissa /= 10;
        exponent += 1;
    }
    let mut thousands = exponent.div_euclid(3) * 3;
    if format != Format::DecimalExponent {
        thousands = thousands.min(18);
    }
    let scaled = mantissa.checked_mul(10i128.checked_pow((exponent - thousands) as u32)?)?;
    let suffix = match format {
        Format::DecimalExponent if thousands == 0 => String::new(),
        Format::DecimalExponent => format!("e{thousands}"),
        _ => DECIMAL
            .iter()
            .find(|(_, e)| *e == thousands)
            .map(|(s, _)| (*s).to_string())?,
    };
    Some(format!("{scaled}{suffix}"))
}

/// `mantissa * 10^exponent` when that is a whole number.
fn whole_number(mantissa: i128, exponent: i32) -> Option<i128> {
    if exponent >= 0 {
        return mantissa.checked_mul(10i128.checked_pow(exponent as u32)?);
    }
    let divisor = 10i128.checked_pow(exponent.unsigned_abs())?;
    (mantissa % divisor == 0).then(|| mantissa / divisor)
}

/// Whether `text` is a quantity below zero (requests and limits must not be).
pub fn is_negative(text: &str) -> bool {
    parse(text).is_some_and(|p| p.mantissa < 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_back_as_the_api_server_writes_them() {
        for (given, stored) in [
            ("1024Mi", "1Gi"),
            ("1Gi", "1Gi"),
            ("1600Mi", "1600Mi"),
            ("2048Mi", "2Gi"),
            ("1.5Gi", "1536Mi"),
            ("0.5Gi", "512Mi"),
            ("512Ki", "512Ki"),
            ("1000m", "1"),
            ("1500m", "1500m"),
            ("0.5", "500m"),
            ("0.1", "100m"),
            ("2", "2"),
            ("1000", "1k"),
            ("1500000000", "1500M"),
            ("1073741824", "1073741824"),
            ("128974848", "128974848"),
            ("129e6", "129e6"),
            ("1e3", "1e3"),
            ("100M", "100M"),
            ("1G", "1G"),
            ("0", "0"),
            ("0Mi", "0"),
            ("+1Gi", "1Gi"),
            ("-1500m", "-1500m"),
            ("512", "512"),
            ("1023Ki", "1023Ki"),
            ("0.0000000001", "1n"),
        ] {
            assert_eq!(canonical(given).as_deref(), Some(stored), "{given}");
        }
    }

    #[test]
    fn what_is_not_a_quantity() {
        for bad in ["", "Mi", "1 Gi", "1gb", "one", "1.2.3", "1Mib", "--1", "1e"] {
            assert_eq!(canonical(bad), None, "{bad}");
            assert!(!is_valid(bad), "{bad}");
        }
        assert!(is_negative("-1"));
        assert!(!is_negative("1Gi"));
    }
}
