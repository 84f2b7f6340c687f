//! `ValidateTolerations` of `pkg/apis/core/validation/validation.go`: which field of one
//! toleration is wrong and why, worded as the API server words it.

use crate::strings;

/// The operators a toleration takes (`""` means `Equal`).
pub const OPERATORS: &[&str] = &["Equal", "Exists"];

/// The taint effects a toleration takes (`""` matches them all).
pub const EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// One toleration's fields, empty strings where unset.
#[derive(Debug, Clone, Copy, Default)]
pub struct Toleration<'a> {
    /// The taint key.
    pub key: &'a str,
    /// `Equal`, `Exists` or empty.
    pub operator: &'a str,
    /// The taint value.
    pub value: &'a str,
    /// The taint effect, or empty for all.
    pub effect: &'a str,
    /// Whether `tolerationSeconds` is set.
    pub has_seconds: bool,
}

/// The field an error is reported on (the API server reports a bad value under `operator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `key`.
    Key,
    /// `operator`.
    Operator,
    /// `effect`.
    Effect,
}

/// Which value the API server quotes as invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quoted {
    /// The field's own value.
    Field,
    /// The toleration's `value` (quoted under `operator`).
    Value,
    /// The whole toleration.
    Whole,
}

/// One error of a toleration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// `field.Invalid`.
    Invalid {
        /// Where.
        field: Field,
        /// What it quotes.
        quoted: Quoted,
        /// Why.
        message: String,
    },
    /// `field.NotSupported`.
    NotSupported {
        /// Where.
        field: Field,
        /// What was given.
        value: String,
        /// What is allowed.
        supported: &'static [&'static str],
    },
}

/// Every error of `t`, in the API server's order.
pub fn validate(t: &Toleration) -> Vec<Problem> {
    let mut problems = Vec::new();
    let invalid = |field, quoted, message: String| Problem::Invalid {
        field,
        quoted,
        message,
    };
    if !t.key.is_empty() {
        for m in strings::qualified_name(t.key) {
            problems.push(invalid(Field::Key, Quoted::Field, m));
        }
    }
    if t.key.is_empty() && t.operator != "Exists" {
        problems.push(invalid(
            Field::Operator,
            Quoted::Field,
            "operator must be Exists when `key` is empty, which means \"match all values and all keys\"".into(),
        ));
    }
    if t.has_seconds && t.effect != "NoExecute" {
        problems.push(invalid(
            Field::Effect,
            Quoted::Field,
            "effect must be 'NoExecute' when `tolerationSeconds` is set".into(),
        ));
    }
    match t.operator {
        "Equal" | "" => {
            let messages = strings::label_value(t.value);
            if !messages.is_empty() {
                problems.push(invalid(Field::Operator, Quoted::Value, messages.join(";")));
            }
        }
        "Exists" if !t.value.is_empty() => problems.push(invalid(
            Field::Operator,
            Quoted::Whole,
            "value must be empty when `operator` is 'Exists'".into(),
        )),
        "Exists" => {}
        other => problems.push(Problem::NotSupported {
            field: Field::Operator,
            value: other.into(),
            supported: OPERATORS,
        }),
    }
    if !t.effect.is_empty() && !EFFECTS.contains(&t.effect) {
        problems.push(Problem::NotSupported {
            field: Field::Effect,
            value: t.effect.into(),
            supported: EFFECTS,
        });
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(key: &str, operator: &str, value: &str, effect: &str) -> Vec<Problem> {
        validate(&Toleration {
            key,
            operator,
            value,
            effect,
            has_seconds: false,
        })
    }

    #[test]
    fn operators_effects_and_values() {
        assert!(of("dedicated", "Equal", "flink", "NoSchedule").is_empty());
        assert!(of("dedicated", "", "flink", "").is_empty());
        assert!(of("", "Exists", "", "").is_empty());
        assert_eq!(
            of("k", "Maybe", "", ""),
            [Problem::NotSupported {
                field: Field::Operator,
                value: "Maybe".into(),
                supported: OPERATORS
            }]
        );
        assert_eq!(
            of("k", "Exists", "v", ""),
            [Problem::Invalid {
                field: Field::Operator,
                quoted: Quoted::Whole,
                message: "value must be empty when `operator` is 'Exists'".into()
            }]
        );
        assert!(matches!(
            of("k", "Equal", "v", "Never").as_slice(),
            [Problem::NotSupported {
                field: Field::Effect,
                ..
            }]
        ));
        assert!(matches!(
            of("", "Equal", "v", "").as_slice(),
            [Problem::Invalid {
                field: Field::Operator,
                ..
            }]
        ));
        assert!(matches!(
            of("bad key!", "Exists", "", "").as_slice(),
            [Problem::Invalid {
                field: Field::Key,
                ..
            }]
        ));
        assert!(matches!(
            of("k", "Equal", &"v".repeat(64), "").as_slice(),
            [Problem::Invalid {
                field: Field::Operator,
                quoted: Quoted::Value,
                ..
            }]
        ));
        let with_seconds = Toleration {
            key: "k",
            operator: "Exists",
            has_seconds: true,
            ..Toleration::default()
        };
        assert!(matches!(
            validate(&with_seconds).as_slice(),
            [Problem::Invalid {
                field: Field::Effect,
                ..
            }]
        ));
    }
}
