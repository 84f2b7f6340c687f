//! The Role Flink's Kubernetes HA needs in a deployment's namespace, least privilege: what the
//! JobManager was seen to request against the Kubernetes API test server (see `kubernetes`), cross-
//! checked with Flink's `Fabric8FlinkKubeClient` and the Flink documentation's note that Kubernetes
//! HA needs to create, edit and delete ConfigMaps. The provider renders its per-deployment Role from
//! [`HA_ROLE_RULES`]; `src/resources/deployment/rbac.rs` explains each verb.

/// The rules of the per-deployment Role, as the provider renders them: the one list, kept in
/// `src/resources/deployment/rbac.rs` with the reason for each verb. Seen from a real 2.3.0
/// JobManager: `get`, `list`, `watch` (fabric8 informer on the cluster ConfigMap), `create`,
/// `patch` (fabric8's `ConfigMapLock` writes the leader annotation with a JSON merge patch),
/// `update` (Flink's `checkAndUpdateConfigMap` replaces with resourceVersion). From Flink's code,
/// not seen in this check: `delete` and `deletecollection` (job and cluster HA cleanup).
pub use flink_provider::resources::KUBERNETES_HA_RULES as HA_ROLE_RULES;

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

/// Whether [`HA_ROLE_RULES`] allow `request`.
pub fn allowed(request: &Request) -> bool {
    HA_ROLE_RULES.iter().any(|(group, resource, verbs)| {
        *group == request.group
            && *resource == request.resource
            && verbs.contains(&request.verb.as_str())
    })
}

/// Every request must stay in `namespace` (a Role grants nothing cluster-wide) and be allowed by
/// [`HA_ROLE_RULES`].
pub fn assert_allowed(what: &str, requests: &[Request], namespace: &str) {
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
    let denied: Vec<&str> = requests
        .iter()
        .filter(|r| r.namespace.as_deref() != Some(namespace) || !allowed(r))
        .map(|r| r.line.as_str())
        .collect();
    assert!(
        denied.is_empty(),
        "{what}: requests the per-deployment Role would deny:\n{}",
        denied.join("\n")
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
