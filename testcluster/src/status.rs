//! API errors as the real API server sends them: a `Status` object with reason, message, details
//! and code.

use serde_json::{json, Value as Json};

/// An API error.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// Machine reason, e.g. `NotFound`.
    pub reason: &'static str,
    /// Human message, worded like the real server's.
    pub message: String,
    /// `details` (name, group, kind, causes).
    pub details: Json,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: String, details: Json) -> Self {
        ApiError {
            code,
            reason,
            message,
            details,
        }
    }

    /// 404: `configmaps "x" not found`.
    pub fn not_found(plural: &str, group: &str, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{plural} \"{name}\" not found"),
            json!({"name": name, "group": group, "kind": plural}),
        )
    }
    /// 409 on create: `configmaps "x" already exists`.
    pub fn already_exists(plural: &str, group: &str, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{plural} \"{name}\" already exists"),
            json!({"name": name, "group": group, "kind": plural}),
        )
    }
    /// 409 on a stale update.
    pub fn stale(plural: &str, group: &str, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {plural} \"{name}\": the object has been \
                 modified; please apply your changes to the latest version and try again"
            ),
            json!({"name": name, "group": group, "kind": plural}),
        )
    }
    /// 409 on a server-side apply conflict.
    pub fn apply_conflict(
        plural: &str,
        group: &str,
        name: &str,
        conflicts: &[(String, String)],
    ) -> Self {
        let list: Vec<String> = conflicts
            .iter()
            .map(|(manager, field)| format!("conflict with \"{manager}\": {field}"))
            .collect();
        let causes: Vec<Json> = conflicts
            .iter()
            .map(|(manager, field)| {
                json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{manager}\""), "field": field})
            })
            .collect();
        Self::new(
            409,
            "Conflict",
            format!(
                "Apply failed with {} conflict{}: {}",
                list.len(),
                if list.len() == 1 { "" } else { "s" },
                list.join(", ")
            ),
            json!({"name": name, "group": group, "kind": plural, "causes": causes}),
        )
    }
    /// 422 for an invalid object.
    pub fn invalid(kind: &str, group: &str, name: &str, field: &str, why: &str) -> Self {
        Self::new(
            422,
            "Invalid",
            format!("{kind} \"{name}\" is invalid: {field}: {why}"),
            json!({"name": name, "group": group, "kind": kind,
                   "causes": [{"reason": "FieldValueInvalid", "message": why, "field": field}]}),
        )
    }
    /// 422 with a message of its own, as admission plugins answer (no field prefix added).
    pub fn invalid_message(message: String, details: Json) -> Self {
        Self::new(422, "Invalid", message, details)
    }
    /// 400 for a malformed request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message.into(), json!({}))
    }
    /// 401 without a valid token.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized".into(), json!({}))
    }
    /// 403: RBAC does not allow the request; `message` says who cannot do what, where.
    pub fn forbidden(message: String, details: Json) -> Self {
        Self::new(403, "Forbidden", message, details)
    }
    /// 405 for a verb the resource does not support.
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource".into(),
            json!({}),
        )
    }
    /// 415 for an unknown patch type.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(415, "UnsupportedMediaType", format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml; got {content_type}"), json!({}))
    }

    /// The `Status` body.
    pub fn body(&self) -> Json {
        json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        })
    }
}
