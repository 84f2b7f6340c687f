//! Plan-time findings of a deployment: the renderer's issues placed on the attribute (or
//! `flink_configuration` key) that caused them, and the checks of lifecycle settings that this
//! provider version records but does not act on yet.

use super::model::{Model, TLS_ANNOTATION};
use crate::flink::{Issue, Severity as IssueSeverity};
use crate::schema::{AttributePath, Diagnostics};

/// Where a renderer issue belongs in the configuration.
fn issue_path(issue: &Issue, model: &Model) -> Option<AttributePath> {
    let user_key = model
        .flink_configuration
        .known()
        .is_some_and(|c| c.contains_key(&issue.key));
    Some(match issue.key.as_str() {
        _ if user_key => AttributePath::root("flink_configuration").key(&issue.key),
        "blob_storage" | "high_availability" | "queryable_state" => AttributePath::root(&issue.key),
        "root_level" => AttributePath::root("logging").attr("root_level"),
        "jobmanager.memory.process.size" => AttributePath::root("resources")
            .attr("jobmanager")
            .attr("memory"),
        "taskmanager.memory.process.size" => AttributePath::root("resources")
            .attr("taskmanager")
            .attr("memory"),
        _ => return None,
    })
}

pub fn report(issues: &[Issue], model: &Model, diags: &mut Diagnostics) {
    for issue in issues {
        let path = issue_path(issue, model).or_else(|| {
            // A logger name from logging.loggers.
            model
                .logging
                .known()
                .and_then(|l| l.loggers.known())
                .filter(|l| l.contains_key(&issue.key))
                .map(|_| {
                    AttributePath::root("logging")
                        .attr("loggers")
                        .key(&issue.key)
                })
        });
        match (issue.severity, path) {
            (IssueSeverity::Error, Some(p)) => {
                diags.attribute_error(p, &issue.summary, &issue.detail)
            }
            (IssueSeverity::Error, None) => diags.error(&issue.summary, &issue.detail),
            (IssueSeverity::Warning, Some(p)) => {
                diags.attribute_warning(p, &issue.summary, &issue.detail)
            }
            (IssueSeverity::Warning, None) => diags.warning(&issue.summary, &issue.detail),
        }
    }
}

pub fn lifecycle(model: &Model, diags: &mut Diagnostics) {
    if let Some(state) = model.state.known().filter(|s| s.as_str() != "RUNNING") {
        diags.attribute_warning(
            AttributePath::root("state"),
            format!("state {state} is recorded but not yet acted on"),
            "This provider version does not yet suspend or cancel jobs (that needs the savepoint \
             lifecycle): the job keeps running. Set state = \"RUNNING\" or destroy the deployment.",
        );
    }
    if model
        .annotations
        .known()
        .is_some_and(|a| a.get(TLS_ANNOTATION).is_some_and(|v| v == "true"))
    {
        diags.attribute_error(
            AttributePath::root("annotations").key(TLS_ANNOTATION),
            "TLS is not available yet",
            "Automatic TLS needs flink_certificate_authority, which this provider version does not \
             have yet. Remove the annotation to deploy without TLS.",
        );
    }
    let kubernetes_ha = model
        .high_availability
        .known()
        .is_some_and(|h| h.ha_type == "kubernetes");
    if kubernetes_ha && model.parallelism.known().is_some_and(|p| *p > 100) {
        diags.attribute_warning(
            AttributePath::root("parallelism"),
            "Kubernetes HA with parallelism above 100",
            "Flink's Kubernetes HA service puts load on the Kubernetes API server that grows with \
             the job's size; past a parallelism of 100 prefer ZooKeeper HA.",
        );
    }
}
