//! The `flink_savepoint` schema and its typed model. No IO.

use crate::schema::{Attribute, Schema, Validator};
use crate::value::{Attr, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Savepoint formats Flink writes.
pub const FORMATS: &[&str] = &["CANONICAL", "NATIVE"];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Model {
    #[serde(default)]
    pub id: Attr<String>,
    #[serde(default)]
    pub namespace: Attr<String>,
    #[serde(default)]
    pub deployment: Attr<String>,
    #[serde(default)]
    pub format_type: Attr<String>,
    #[serde(default)]
    pub triggers: Attr<BTreeMap<String, String>>,
    #[serde(default)]
    pub dispose_on_destroy: Attr<bool>,
    #[serde(default)]
    pub timeout: Attr<String>,
    #[serde(default)]
    pub location: Attr<String>,
    #[serde(default)]
    pub time: Attr<String>,
    #[serde(default)]
    pub job_id: Attr<String>,
}

/// The schema.
pub fn schema() -> Schema {
    Schema::new(
        "A savepoint of a running `flink_deployment`'s job, taken on create (like the Flink \
         Kubernetes operator's FlinkStateSnapshot). The job keeps running. `terraform apply \
         -replace` (or a change of `triggers`) takes a new one; destroy leaves its files unless \
         `dispose_on_destroy`. A deployment starts from one with `initial_savepoint_path = \
         flink_savepoint.x.location`. Plan fails when the deployment is not RUNNING.\n\n\
         Destroy forgets the savepoint and leaves its files, unless `dispose_on_destroy`: then \
         Flink deletes them through the deployment's JobManager, whatever its job's state. When \
         no JobManager can (the deployment gone, no JobManager pod, a REST API that does not \
         answer), the destroy still succeeds and a warning names the files left.",
        vec![
            Attribute::string("id")
                .computed()
                .use_state_for_unknown()
                .description("The savepoint's location."),
            Attribute::string("namespace")
                .default_value(Value::string("default"))
                .requires_replace()
                .validate(Validator::KubernetesName)
                .description("Namespace of the deployment. Defaults to `default`."),
            Attribute::string("deployment")
                .required()
                .requires_replace()
                .validate(Validator::KubernetesName)
                .description("Name of the `flink_deployment` whose job to snapshot (`flink_deployment.x.name`)."),
            Attribute::string("format_type")
                .default_value(Value::string("CANONICAL"))
                .requires_replace()
                .validate(Validator::OneOf(FORMATS))
                .description("`CANONICAL` (portable across state backends) or `NATIVE` (the state backend's own format, faster to take and restore). Defaults to `CANONICAL`."),
            Attribute::string_map("triggers")
                .optional()
                .requires_replace()
                .description("Arbitrary values; any change takes a new savepoint (e.g. a release version)."),
            Attribute::bool("dispose_on_destroy")
                .default_value(Value::Bool(false))
                .description("Whether destroy deletes the savepoint's files (through the deployment's JobManager; when none answers, the destroy warns and the files stay). Defaults to `false`: the files stay."),
            Attribute::string("timeout")
                .default_value(Value::string("10 min"))
                .validate(Validator::Custom {
                    doc: "A duration such as `10 min`, `90 s` or `1 h`.",
                    check: crate::resources::deployment::duration_check,
                })
                .description("How long the savepoint (or its disposal) may take. Defaults to `10 min`."),
            Attribute::string("location")
                .computed()
                .use_state_for_unknown()
                .description("Where Flink wrote the savepoint."),
            Attribute::string("time")
                .computed()
                .use_state_for_unknown()
                .description("When it completed (RFC 3339)."),
            Attribute::string("job_id")
                .computed()
                .use_state_for_unknown()
                .description("The job it snapshots."),
        ],
    )
}
