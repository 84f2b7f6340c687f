//! Who a request is, and what it may do. The kubeconfig's token is the cluster admin, allowed
//! everything. A pod's token, issued by the local kubelet for the pod's ServiceAccount, is
//! `system:serviceaccount:<namespace>:<name>` while that ServiceAccount exists, and RBAC decides
//! each of its requests as the real authorizer does from the Roles its namespace's RoleBindings
//! grant it (API group, resource or `resource/subresource`, verb, resource names; `*` wildcards).
//! Discovery and `/version` are open to every authenticated user, as `system:discovery` grants.
//! There are no ClusterRoles here, so a binding to one grants nothing.

use crate::kinds;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::store::Store;
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// An authenticated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum User {
    /// The kubeconfig's token.
    Admin,
    /// A pod's ServiceAccount.
    ServiceAccount {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
}

impl User {
    /// The user name Kubernetes reports, e.g. in a `Forbidden` message.
    pub fn username(&self) -> String {
        match self {
            User::Admin => "kubernetes-admin".into(),
            User::ServiceAccount { namespace, name } => {
                format!("system:serviceaccount:{namespace}:{name}")
            }
        }
    }
}

/// The tokens the server accepts: the admin's, and one per ServiceAccount a pod mounted.
pub struct Tokens {
    admin: String,
    service_accounts: Mutex<BTreeMap<String, (String, String)>>,
}

impl Tokens {
    /// The admin token `admin`, and no ServiceAccount tokens yet.
    pub fn new(admin: String) -> Self {
        Tokens {
            admin,
            service_accounts: Mutex::default(),
        }
    }

    /// The token a pod of ServiceAccount `namespace/name` mounts: the same one for every pod of
    /// the account, so a restarted pod keeps working.
    pub fn issue(&self, namespace: &str, name: &str) -> String {
        let account = (namespace.to_string(), name.to_string());
        let Ok(mut issued) = self.service_accounts.lock() else {
            return String::new();
        };
        if let Some((token, _)) = issued.iter().find(|(_, a)| **a == account) {
            return token.clone();
        }
        let token: String = (0..40)
            .map(|_| format!("{:x}", rand::random::<u8>() % 16))
            .collect();
        let token = format!("sa-{token}");
        issued.insert(token.clone(), account);
        token
    }

    /// Who presents `authorization` (the header's value), if anyone the server knows: a
    /// ServiceAccount token counts only while its account exists, as a bound token does.
    pub fn authenticate(&self, store: &Store, authorization: Option<&str>) -> Option<User> {
        let token = authorization?.strip_prefix("Bearer ")?;
        if token == self.admin {
            return Some(User::Admin);
        }
        let (namespace, name) = self.service_accounts.lock().ok()?.get(token)?.clone();
        let kind = kinds::find("", "v1", "serviceaccounts")?;
        store.get(kind, &namespace, &name).ok()?;
        Some(User::ServiceAccount { namespace, name })
    }
}

/// One resource request, as RBAC sees it.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    /// Kubernetes verb: `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`,
    /// `deletecollection`.
    pub verb: &'a str,
    /// API group, `""` for core.
    pub group: &'a str,
    /// Plural resource name.
    pub resource: &'a str,
    /// Subresource (`log`, `portforward`, `scale`, `status`), if any.
    pub subresource: Option<&'a str>,
    /// Namespace, if the request is namespaced.
    pub namespace: Option<&'a str>,
    /// Object name: the path's, or a list's or watch's `metadata.name` field selector.
    pub name: Option<&'a str>,
}

fn listed(store: &Store, plural: &str, namespace: &str) -> Vec<Json> {
    let (Some(kind), Ok(labels), Ok(fields)) = (
        kinds::KINDS.iter().find(|k| k.plural == plural),
        LabelSelector::parse(""),
        FieldSelector::parse(""),
    ) else {
        return Vec::new();
    };
    store.list(kind, Some(namespace), &labels, &fields).0
}

fn names(list: &Json, wanted: &str) -> bool {
    list.as_array()
        .is_some_and(|l| l.iter().any(|v| v == wanted || v == "*"))
}

fn rule_allows(rule: &Json, request: &Attributes) -> bool {
    let resource = match request.subresource {
        Some(sub) => format!("{}/{sub}", request.resource),
        None => request.resource.to_string(),
    };
    let resource_matches = rule["resources"].as_array().is_some_and(|resources| {
        resources.iter().filter_map(Json::as_str).any(|r| {
            r == "*"
                || r == resource
                || request
                    .subresource
                    .is_some_and(|sub| r == format!("*/{sub}"))
        })
    });
    let named = match rule["resourceNames"].as_array() {
        Some(allowed) if !allowed.is_empty() => {
            request.name.is_some_and(|n| allowed.iter().any(|a| a == n))
        }
        _ => true,
    };
    names(&rule["apiGroups"], request.group)
        && resource_matches
        && names(&rule["verbs"], request.verb)
        && named
}

/// Whether `user` may make `request` (the Roles bound to it in the request's namespace).
pub fn authorize(store: &Store, user: &User, request: &Attributes) -> Result<(), ApiError> {
    let User::ServiceAccount { namespace, name } = user else {
        return Ok(());
    };
    let allowed = request.namespace.is_some_and(|ns| {
        listed(store, "rolebindings", ns).iter().any(|binding| {
            let bound = binding["subjects"].as_array().is_some_and(|subjects| {
                subjects.iter().any(|s| {
                    s["kind"] == "ServiceAccount"
                        && s["name"] == name.as_str()
                        && s["namespace"].as_str().unwrap_or(ns) == namespace
                })
            });
            let role_ref = &binding["roleRef"];
            bound
                && role_ref["kind"] == "Role"
                && listed(store, "roles", ns)
                    .iter()
                    .find(|r| r["metadata"]["name"] == role_ref["name"])
                    .and_then(|role| role["rules"].as_array().cloned())
                    .is_some_and(|rules| rules.iter().any(|r| rule_allows(r, request)))
        })
    });
    if allowed {
        return Ok(());
    }
    Err(forbidden(user, request))
}

/// 403, worded as the real authorizer's.
fn forbidden(user: &User, request: &Attributes) -> ApiError {
    let resource = match request.subresource {
        Some(sub) => format!("{}/{sub}", request.resource),
        None => request.resource.to_string(),
    };
    let subject = match request.name {
        Some(name) => format!("{} \"{name}\"", request.resource),
        None => request.resource.to_string(),
    };
    let scope = match request.namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_string(),
    };
    ApiError::forbidden(
        format!(
            "{subject} is forbidden: User \"{}\" cannot {} resource \"{resource}\" in API group \"{}\" {scope}",
            user.username(),
            request.verb,
            request.group
        ),
        json!({"name": request.name.unwrap_or_default(), "group": request.group, "kind": request.resource}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Write;

    fn put(store: &Store, plural: &str, namespace: &str, object: Json) {
        let kind = kinds::KINDS.iter().find(|k| k.plural == plural).unwrap();
        let write = Write {
            manager: "test",
            dry_run: false,
            subresource: None,
        };
        store.create(kind, namespace, object, &write).unwrap();
    }

    fn cluster() -> (Store, User) {
        let store = Store::new();
        put(
            &store,
            "namespaces",
            "",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}),
        );
        put(
            &store,
            "serviceaccounts",
            "team",
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "flink-a"}}),
        );
        put(
            &store,
            "roles",
            "team",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "ha"},
            "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "watch", "list"]},
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["tls"]},
            ]}),
        );
        put(
            &store,
            "rolebindings",
            "team",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": "ha"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "ha"},
                   "subjects": [{"kind": "ServiceAccount", "name": "flink-a", "namespace": "team"}]}),
        );
        let user = User::ServiceAccount {
            namespace: "team".into(),
            name: "flink-a".into(),
        };
        (store, user)
    }

    fn request<'a>(verb: &'a str, resource: &'a str, name: Option<&'a str>) -> Attributes<'a> {
        Attributes {
            verb,
            group: "",
            resource,
            subresource: None,
            namespace: Some("team"),
            name,
        }
    }

    #[test]
    fn a_service_account_may_do_what_its_bound_role_grants_and_nothing_else() {
        let (store, sa) = cluster();
        assert!(authorize(&store, &sa, &request("get", "configmaps", Some("x"))).is_ok());
        assert!(authorize(&store, &sa, &request("watch", "configmaps", None)).is_ok());
        let denied =
            authorize(&store, &sa, &request("update", "configmaps", Some("x"))).unwrap_err();
        assert_eq!(denied.code, 403);
        assert_eq!(
            denied.message,
            "configmaps \"x\" is forbidden: User \"system:serviceaccount:team:flink-a\" cannot \
             update resource \"configmaps\" in API group \"\" in the namespace \"team\""
        );
        assert!(authorize(&store, &sa, &request("get", "secrets", Some("tls"))).is_ok());
        assert!(authorize(&store, &sa, &request("get", "secrets", Some("other"))).is_err());
        assert!(authorize(&store, &sa, &request("list", "secrets", None)).is_err());
        let other_namespace = Attributes {
            namespace: Some("elsewhere"),
            ..request("get", "configmaps", Some("x"))
        };
        assert!(authorize(&store, &sa, &other_namespace).is_err());
        let subresource = Attributes {
            subresource: Some("status"),
            ..request("get", "configmaps", Some("x"))
        };
        assert!(authorize(&store, &sa, &subresource).is_err());
        assert!(authorize(&store, &User::Admin, &request("delete", "pods", Some("p"))).is_ok());
    }

    #[test]
    fn a_token_counts_while_its_service_account_exists() {
        let (store, sa) = cluster();
        let tokens = Tokens::new("admin-token".into());
        let token = tokens.issue("team", "flink-a");
        assert_eq!(
            token,
            tokens.issue("team", "flink-a"),
            "one token per account"
        );
        assert_eq!(
            tokens.authenticate(&store, Some(&format!("Bearer {token}"))),
            Some(sa)
        );
        assert_eq!(
            tokens.authenticate(&store, Some("Bearer admin-token")),
            Some(User::Admin)
        );
        assert_eq!(tokens.authenticate(&store, Some("Bearer nope")), None);
        let gone = tokens.issue("team", "deleted");
        assert_eq!(
            tokens.authenticate(&store, Some(&format!("Bearer {gone}"))),
            None
        );
    }
}
