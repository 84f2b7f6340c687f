//! What real Flink asks of the Kubernetes API under Kubernetes HA, read from the test server's
//! request log (see `kubernetes`): the log lines as RBAC sees them (group, resource, verb,
//! namespace), summed up per verb. Whether each request was allowed is the test server's to decide,
//! as a real API server's authorizer does, against the provider's Roles
//! (`src/resources/deployment/rbac.rs` explains each verb). Seen from real 2.3.0 processes: the
//! JobManager `get`, `list` and `watch` (a fabric8 informer on the cluster ConfigMap, by name),
//! `create`, `patch` (fabric8's `ConfigMapLock` writes the leader annotation) and `update`
//! (Flink's `checkAndUpdateConfigMap`); the TaskManager `list` and `watch` of the same ConfigMap.

/// One API request a real client made, from the test server's request log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The log line.
    pub line: String,
    /// `""` for the core group.
    pub group: String,
    /// Plural resource name, with `/subresource` when there is one.
    pub resource: String,
    /// Kubernetes verb (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`,
    /// `deletecollection`).
    pub verb: String,
    /// The namespace in the path, if any.
    pub namespace: Option<String>,
}

impl Request {
    /// Parses a `METHOD /path?query [(content-type)] -> status` line of the test server's request
    /// log; `None` for non-resource paths (discovery, `/version`), which RBAC allows every
    /// authenticated user anyway.
    pub fn parse(line: &str) -> Option<Request> {
        let (method, rest) = line.split_once(' ')?;
        let uri = rest.split_whitespace().next()?;
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (group, rest): (&str, &[&str]) = match segments.as_slice() {
            ["api", "v1", rest @ ..] => ("", rest),
            ["apis", group, _version, rest @ ..] => (group, rest),
            _ => return None,
        };
        let (namespace, rest) = match rest {
            ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some(ns.to_string()), rest),
            _ => (None, rest),
        };
        let (resource, named) = match rest {
            [] => return None,
            [plural] => (plural.to_string(), false),
            [plural, _name] => (plural.to_string(), true),
            [plural, _name, sub, ..] => (format!("{plural}/{sub}"), true),
        };
        let watching = query
            .split('&')
            .any(|p| p == "watch=true" || p == "watch=1");
        let verb = match (method, named) {
            ("GET", false) if watching => "watch",
            ("GET", false) => "list",
            ("GET", true) if watching => "watch",
            ("GET", true) => "get",
            ("POST", _) => "create",
            ("PUT", _) => "update",
            ("PATCH", _) => "patch",
            ("DELETE", false) => "deletecollection",
            ("DELETE", true) => "delete",
            _ => method,
        };
        Some(Request {
            line: line.to_string(),
            group: group.to_string(),
            resource,
            verb: verb.to_string(),
            namespace,
        })
    }
}

/// Every request must stay in `namespace` (a Role grants nothing cluster-wide); prints what was
/// asked, per (group, resource, verb).
pub fn assert_in_namespace(what: &str, requests: &[Request], namespace: &str) {
    assert!(!requests.is_empty(), "{what}: no API requests seen");
    eprintln!("{what}: requests per (group, resource, verb):");
    let mut seen = std::collections::BTreeMap::<(String, String, String), usize>::new();
    for r in requests {
        *seen
            .entry((r.group.clone(), r.resource.clone(), r.verb.clone()))
            .or_default() += 1;
    }
    for ((g, res, verb), n) in &seen {
        eprintln!("  {g:?} {res} {verb}: {n}");
    }
    let elsewhere: Vec<&str> = requests
        .iter()
        .filter(|r| r.namespace.as_deref() != Some(namespace))
        .map(|r| r.line.as_str())
        .collect();
    assert!(
        elsewhere.is_empty(),
        "{what}: requests outside the deployment's namespace:\n{}",
        elsewhere.join("\n")
    );
}

#[test]
fn request_lines_map_to_rbac_verbs() {
    let parse = |l: &str| Request::parse(l).map(|r| (r.group, r.resource, r.verb, r.namespace));
    let ns = Some("ns".to_string());
    assert_eq!(
        parse("GET /api/v1/namespaces/ns/configmaps/a -> 200"),
        Some(("".into(), "configmaps".into(), "get".into(), ns.clone()))
    );
    assert_eq!(
        parse("GET /api/v1/namespaces/ns/configmaps?labelSelector=app%3Dx&watch=true -> 200"),
        Some(("".into(), "configmaps".into(), "watch".into(), ns.clone()))
    );
    assert_eq!(
        parse("PUT /api/v1/namespaces/ns/configmaps/a -> 409"),
        Some(("".into(), "configmaps".into(), "update".into(), ns.clone()))
    );
    assert_eq!(
        parse("DELETE /apis/coordination.k8s.io/v1/namespaces/ns/leases -> 200"),
        Some((
            "coordination.k8s.io".into(),
            "leases".into(),
            "deletecollection".into(),
            ns
        ))
    );
    assert_eq!(
        parse("PATCH /api/v1/namespaces/ns/configmaps/a (application/json-patch+json) -> 200"),
        Some((
            "".into(),
            "configmaps".into(),
            "patch".into(),
            Some("ns".into())
        ))
    );
    assert_eq!(parse("GET /version -> 200"), None);
    assert_eq!(parse("GET /apis/apps/v1 -> 200"), None);
}
