//! API errors as the real API server sends them: a `Status` object with reason, message, details
//! and code.

use serde_json::{json, Value as Json};

/// One invalid field, as `field.Error`: where, the cause type (`FieldValueInvalid`,
/// `FieldValueTooLong`, `FieldValueRequired`, `FieldValueNotSupported`, ...), and the body
/// (`ErrorBody()`: `Invalid value: "x": must be ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// `metadata.labels[app]`, `spec.containers[0].name`, ...
    pub field: String,
    /// The `StatusCause` type.
    pub cause: &'static str,
    /// What is wrong, with the value where the real message shows it.
    pub body: String,
}

impl FieldError {
    /// `field.Invalid`: `Invalid value: <value>: <detail>`, the value as Go's `%#v` prints it.
    pub fn invalid(field: impl Into<String>, value: &Json, detail: &str) -> Self {
        let shown = match value {
            Json::String(s) => serde_json::to_string(s).unwrap_or_default(),
            Json::Null => "null".to_string(),
            other => other.to_string(),
        };
        FieldError {
            field: field.into(),
            cause: "FieldValueInvalid",
            body: format!("Invalid value: {shown}: {detail}"),
        }
    }

    /// `field.Required`: `Required value`, with a detail when there is one.
    pub fn required(field: impl Into<String>, detail: &str) -> Self {
        let body = if detail.is_empty() {
            "Required value".to_string()
        } else {
            format!("Required value: {detail}")
        };
        FieldError {
            field: field.into(),
            cause: "FieldValueRequired",
            body,
        }
    }

    /// `field.TooLong` (1.32 wording): `Too long: must have at most N bytes`.
    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        FieldError {
            field: field.into(),
            cause: "FieldValueTooLong",
            body: format!("Too long: must have at most {max} bytes"),
        }
    }

    /// `field.NotSupported`: `Unsupported value: "x": supported values: "a", "b"`.
    pub fn not_supported(field: impl Into<String>, value: &str, supported: &[&str]) -> Self {
        let quoted: Vec<String> = supported
            .iter()
            .map(|v| serde_json::to_string(v).unwrap_or_default())
            .collect();
        FieldError {
            field: field.into(),
            cause: "FieldValueNotSupported",
            body: format!(
                "Unsupported value: {}: supported values: {}",
                serde_json::to_string(value).unwrap_or_default(),
                quoted.join(", ")
            ),
        }
    }

    /// `field.Duplicate`: `Duplicate value: "x"`.
    pub fn duplicate(field: impl Into<String>, value: &str) -> Self {
        FieldError {
            field: field.into(),
            cause: "FieldValueDuplicate",
            body: format!(
                "Duplicate value: {}",
                serde_json::to_string(value).unwrap_or_default()
            ),
        }
    }
}

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
    /// 422 for an invalid object, one field: `why` is the error's body.
    pub fn invalid(kind: &str, group: &str, name: &str, field: &str, why: &str) -> Self {
        let error = FieldError {
            field: field.to_string(),
            cause: "FieldValueInvalid",
            body: why.to_string(),
        };
        Self::invalid_fields(kind, group, name, &[error])
    }
    /// 422 for an object with invalid fields, as `apierrors.NewInvalid` words it:
    /// `Kind "name" is invalid: field: body` for one error, `[field: body, field: body]` for
    /// several (duplicates dropped, as `ToAggregate` does), one cause per error.
    pub fn invalid_fields(kind: &str, group: &str, name: &str, errors: &[FieldError]) -> Self {
        let qualified = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let mut texts: Vec<String> = Vec::new();
        for e in errors {
            let text = format!("{}: {}", e.field, e.body);
            if !texts.contains(&text) {
                texts.push(text);
            }
        }
        let message = match texts.as_slice() {
            [] => format!("{qualified} \"{name}\" is invalid"),
            [one] => format!("{qualified} \"{name}\" is invalid: {one}"),
            many => format!("{qualified} \"{name}\" is invalid: [{}]", many.join(", ")),
        };
        let causes: Vec<Json> = errors
            .iter()
            .map(|e| json!({"reason": e.cause, "message": e.body, "field": e.field}))
            .collect();
        Self::new(
            422,
            "Invalid",
            message,
            json!({"name": name, "group": group, "kind": kind, "causes": causes}),
        )
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

    /// 415 for a request body in a media type, or of a kind, the server does not read.
    pub fn unsupported_body(message: String) -> Self {
        Self::new(415, "UnsupportedMediaType", message, json!({}))
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
