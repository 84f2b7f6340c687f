//! Golden files for rendered output (test support): compare with `tests/golden/`, rewrite only
//! with the explicit `UPDATE_GOLDEN=1`, and show a mismatch as a readable line diff.

use std::path::PathBuf;

/// Compares `actual` with the golden file `tests/golden/<area>/<rel>`, or rewrites it under
/// `UPDATE_GOLDEN=1`; a mismatch is added to `failures` with a line diff.
pub fn check(area: &str, rel: &str, actual: &str, failures: &mut Vec<String>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(area)
        .join(rel);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        failures.push(format!(
            "{rel} differs (- golden, + rendered):\n{}",
            diff(&expected, actual)
        ));
    }
}

/// A line diff (longest common subsequence), changed lines only.
pub fn diff(a: &str, b: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        } else {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_is_readable() {
        assert_eq!(diff("a\nb\nc\n", "a\nx\nc\n"), "+ x\n- b\n");
    }
}
