//! Flink configuration values from Kubernetes Secrets (`flink_configuration_from_secrets`, pure):
//! each Flink key becomes an environment variable of the Flink containers from a `secretKeyRef`
//! and a dynamic property `-D<key>=$(VAR)`, which Kubernetes expands when it starts the
//! container, as the TLS passwords reach Flink. The provider only ever holds the Secret's name
//! and key, so the value is in no ConfigMap, plan, state or log. Also: what
//! `effective_flink_configuration` shows for those keys, and the check across attributes that a
//! key is not in `flink_configuration` too.

use super::model::Model;
use super::resolve::Resolved;
use crate::flink::options::Catalogue;
use crate::flink::FlinkVersion;
use crate::schema::{AttributePath, Diagnostics};
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, BTreeSet};

/// The attribute's name, for diagnostics.
pub const ATTRIBUTE: &str = "flink_configuration_from_secrets";
/// Prefix of the environment variables, apart from the user's `pod.env` names.
const ENV_PREFIX: &str = "FLINK_CONF_FROM_SECRET_";

/// Key `key` of the Secret `secret` in the deployment's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSource {
    pub secret: String,
    pub key: String,
}

/// What `effective_flink_configuration` shows for a key from `source`.
pub fn shown_as(source: &SecretSource) -> String {
    format!("(from Secret {}, key {})", source.secret, source.key)
}

/// One environment variable per Flink key, named after the key (uppercase, `_` for anything
/// Kubernetes' `$(VAR)` expansion would not take), with a hash suffix where two keys map to
/// the same name.
fn variables(d: &Resolved) -> Vec<(String, &String, &SecretSource)> {
    let mut taken = BTreeSet::new();
    d.configuration_from_secrets
        .iter()
        .map(|(flink_key, source)| {
            let plain: String = flink_key
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            let mut name = format!("{ENV_PREFIX}{plain}");
            if !taken.insert(name.clone()) {
                name = format!("{name}_{}", super::pod_template::content_hash(flink_key));
                taken.insert(name.clone());
            }
            (name, flink_key, source)
        })
        .collect()
}

/// The containers' environment entries, each a `secretKeyRef`.
pub fn env(d: &Resolved) -> Vec<Json> {
    variables(d)
        .into_iter()
        .map(|(var, _, source)| {
            json!({"name": var, "valueFrom": {"secretKeyRef": {"name": source.secret, "key": source.key}}})
        })
        .collect()
}

/// The dynamic properties that hand the variables to Flink.
pub fn dynamic_properties(d: &Resolved) -> Vec<String> {
    variables(d)
        .into_iter()
        .map(|(var, flink_key, _)| format!("-D{flink_key}=$({var})"))
        .collect()
}

/// The keys Flink's renderer checks as from Secrets: those not also in `flink_configuration`
/// (under the same name or another of the same option), which [`conflicts`] reports instead.
pub fn rendered_keys(d: &Resolved) -> BTreeSet<String> {
    let catalogue = Catalogue::of(d.version);
    d.configuration_from_secrets
        .keys()
        .filter(|k| conflicting_key(catalogue, &d.flink_configuration, k).is_none())
        .cloned()
        .collect()
}

/// The key of `plain` that sets the same option as `key`, if any.
fn conflicting_key<'a>(
    catalogue: &Catalogue,
    plain: &'a BTreeMap<String, String>,
    key: &str,
) -> Option<&'a String> {
    let preferred = catalogue.preferred(key);
    plain
        .keys()
        .find(|k| *k == key || catalogue.preferred(k) == preferred)
}

/// A key both in `flink_configuration` and in `flink_configuration_from_secrets` is an error on
/// the latter, naming both.
pub fn conflicts(model: &Model, diags: &mut Diagnostics) {
    let (Some(plain), Some(from_secrets)) = (
        model.flink_configuration.known(),
        model.flink_configuration_from_secrets.known(),
    ) else {
        return;
    };
    let version = model
        .flink_version
        .known()
        .and_then(|v| FlinkVersion::parse(v).ok())
        .or_else(|| FlinkVersion::ALL.last().copied());
    let Some(version) = version else {
        return;
    };
    let catalogue = Catalogue::of(version);
    for key in from_secrets.keys() {
        if let Some(other) = conflicting_key(catalogue, plain, key) {
            let same = if other == key {
                format!("`{key}` is")
            } else {
                format!("`{key}` (as `{other}`) is")
            };
            diags.attribute_error(
                AttributePath::root(ATTRIBUTE).key(key),
                "Flink key set twice",
                format!(
                    "{same} set both in flink_configuration and in {ATTRIBUTE}. Keep it in one \
                     place: in {ATTRIBUTE} when its value is secret, else in flink_configuration."
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::golden_tests;
    use super::*;

    fn resolved(from_secrets: Json) -> Resolved {
        let model = golden_tests::model(json!({
            "name": "orders", "namespace": "ns", "flink_version": "2.3",
            "artifact": {"jar_uri": "file:///opt/flink/usrlib/job.jar"},
            "flink_configuration_from_secrets": from_secrets,
        }));
        let mut model = model;
        super::super::computed::fill_defaults(&mut model);
        super::super::resolve::resolve(&model).expect("resolves")
    }

    #[test]
    fn each_key_is_a_variable_from_its_secret_and_a_dynamic_property() {
        let d = resolved(json!({
            "fs.azure.account.key.acme.blob.core.windows.net": {"secret": "azure", "key": "account-key"},
            "metrics.reporter.dd.apikey": {"secret": "datadog", "key": "api.key"},
        }));
        assert_eq!(
            env(&d),
            [
                json!({"name": "FLINK_CONF_FROM_SECRET_FS_AZURE_ACCOUNT_KEY_ACME_BLOB_CORE_WINDOWS_NET",
                       "valueFrom": {"secretKeyRef": {"name": "azure", "key": "account-key"}}}),
                json!({"name": "FLINK_CONF_FROM_SECRET_METRICS_REPORTER_DD_APIKEY",
                       "valueFrom": {"secretKeyRef": {"name": "datadog", "key": "api.key"}}}),
            ]
        );
        assert_eq!(
            dynamic_properties(&d),
            [
                "-Dfs.azure.account.key.acme.blob.core.windows.net=$(FLINK_CONF_FROM_SECRET_FS_AZURE_ACCOUNT_KEY_ACME_BLOB_CORE_WINDOWS_NET)",
                "-Dmetrics.reporter.dd.apikey=$(FLINK_CONF_FROM_SECRET_METRICS_REPORTER_DD_APIKEY)",
            ]
        );
    }

    #[test]
    fn keys_that_map_to_one_name_get_distinct_variables() {
        let d = resolved(json!({
            "fs.a-b": {"secret": "s", "key": "one"},
            "fs.a.b": {"secret": "s", "key": "two"},
        }));
        let names: Vec<String> = env(&d)
            .iter()
            .map(|e| e["name"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(names.len(), 2);
        assert_ne!(names[0], names[1]);
        let args = dynamic_properties(&d);
        assert!(args[1].starts_with("-Dfs.a.b=$(FLINK_CONF_FROM_SECRET_FS_A_B_"));
        assert!(args[1].ends_with(&format!("$({})", names[1])));
    }

    #[test]
    fn another_secret_or_key_is_an_upgrade_and_the_same_one_is_nothing() {
        use super::super::lifecycle::{transition, Before};
        use super::super::states::Reason;
        let with = |secret: &str, key: &str| {
            let mut model = golden_tests::model(json!({
                "name": "orders", "namespace": "ns", "flink_version": "2.3",
                "artifact": {"jar_uri": "file:///opt/flink/usrlib/job.jar"},
                "flink_configuration_from_secrets": {
                    "fs.x.password": {"secret": secret, "key": key},
                },
            }));
            super::super::computed::fill(&mut model, None, None);
            model
        };
        let prior = with("kafka", "password");
        assert_eq!(
            transition(&prior, &with("kafka", "password")).step,
            Before::Nothing
        );
        for planned in [with("kafka", "password-2"), with("kafka-2", "password")] {
            assert_eq!(
                transition(&prior, &planned).step,
                Before::Savepoint(Reason::Upgrade)
            );
        }
    }

    #[test]
    fn a_key_in_both_maps_is_an_error_on_the_secret_entry() {
        let model = golden_tests::model(json!({
            "name": "orders", "namespace": "ns", "flink_version": "2.3",
            "artifact": {"jar_uri": "file:///opt/flink/usrlib/job.jar"},
            "flink_configuration": {"fs.x.password": "plain", "state.checkpoints.dir": "file:///c"},
            "flink_configuration_from_secrets": {
                "fs.x.password": {"secret": "s", "key": "k"},
                "execution.checkpointing.dir": {"secret": "s", "key": "dir"},
                "fs.y.password": {"secret": "s", "key": "y"},
            },
        }));
        let mut diags = Diagnostics::default();
        conflicts(&model, &mut diags);
        let found: Vec<(String, String)> = diags
            .0
            .iter()
            .map(|d| {
                (
                    d.path.as_ref().map(|p| p.to_string()).unwrap_or_default(),
                    d.detail.clone(),
                )
            })
            .collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(
            found[0].0,
            "flink_configuration_from_secrets[\"execution.checkpointing.dir\"]"
        );
        assert!(found[0].1.contains("(as `state.checkpoints.dir`)"));
        assert_eq!(
            found[1].0,
            "flink_configuration_from_secrets[\"fs.x.password\"]"
        );
        assert!(found[1]
            .1
            .contains("both in flink_configuration and in flink_configuration_from_secrets"));
        let d = super::super::resolve::resolve(&{
            let mut m = model.clone();
            super::super::computed::fill_defaults(&mut m);
            m
        })
        .expect("resolves");
        assert_eq!(
            rendered_keys(&d).into_iter().collect::<Vec<_>>(),
            ["fs.y.password"]
        );
    }
}
