//! The deployment's Ingress `flink-<name>` to its REST Service (pure): the web UI and REST API
//! for clients outside the cluster. It either ends TLS itself with `tls_secret`, or, when the
//! deployment's TLS is on, passes TLS through to the JobManager (ingress-nginx's annotations), so
//! the REST API still requires the authority's client certificate. Also the checks of its values
//! as the API server's Ingress validation has them
//! (k8s.io/kubernetes/pkg/apis/networking/validation: `validateIngressRules`,
//! `validateHTTPIngressPath`) and the checks across attributes.

use super::layout::{Names, REST_PORT};
use super::model::Model;
use super::pod_template::labels;
use super::resolve::Resolved;
use crate::kubernetes::{DesiredObject, Kind};
use crate::schema::{AttributePath, Diagnostics};
use crate::value::{Attr, Value};
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeMap;

/// ingress-nginx: send the TLS connection to the backend undecrypted (routed by SNI).
pub const SSL_PASSTHROUGH: &str = "nginx.ingress.kubernetes.io/ssl-passthrough";
/// ingress-nginx: the backend speaks https.
pub const BACKEND_PROTOCOL: &str = "nginx.ingress.kubernetes.io/backend-protocol";

/// The Ingress settings with defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedIngress {
    pub class_name: Option<String>,
    pub host: Option<String>,
    pub path: String,
    pub tls_secret: Option<String>,
    /// TLS passed through to the JobManager; defaults to the deployment's TLS being on.
    pub passthrough: bool,
    pub controller_namespace: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

/// The settings of `model.ingress`: `Some(None)` without an ingress, `None` while unknown.
pub fn resolve(model: &Model, tls_on: bool) -> Option<Option<ResolvedIngress>> {
    let settings = match &model.ingress {
        Attr::Null => return Some(None),
        Attr::Unknown => return None,
        Attr::Known(settings) => settings,
    };
    let optional = |attr: &Attr<String>| match attr {
        Attr::Unknown => None,
        other => Some(other.known().cloned()),
    };
    Some(Some(ResolvedIngress {
        class_name: optional(&settings.class_name)?,
        host: optional(&settings.host)?,
        path: optional(&settings.path)?.unwrap_or_else(|| "/".into()),
        tls_secret: optional(&settings.tls_secret)?,
        passthrough: match settings.tls_passthrough {
            Attr::Known(on) => on,
            Attr::Null => tls_on,
            Attr::Unknown => return None,
        },
        controller_namespace: optional(&settings.controller_namespace)?,
        annotations: match &settings.annotations {
            Attr::Known(map) => map.clone(),
            Attr::Null => BTreeMap::new(),
            Attr::Unknown => return None,
        },
    }))
}

/// The annotations the Ingress carries: the user's, and with passthrough ingress-nginx's.
fn annotations(ingress: &ResolvedIngress) -> BTreeMap<String, String> {
    let mut annotations = ingress.annotations.clone();
    if ingress.passthrough {
        annotations.insert(SSL_PASSTHROUGH.into(), "true".into());
        annotations.insert(BACKEND_PROTOCOL.into(), "HTTPS".into());
    }
    annotations
}

/// The Ingress `flink-<name>`, when `ingress` is set.
pub fn ingress(d: &Resolved) -> Option<DesiredObject> {
    let ingress = d.ingress.as_ref()?;
    let names = Names::of(&d.name);
    let path = json!({
        "path": ingress.path,
        "pathType": "Prefix",
        "backend": {"service": {"name": names.rest, "port": {"number": REST_PORT}}},
    });
    let mut rule = Map::new();
    if let Some(host) = &ingress.host {
        rule.insert("host".into(), host.clone().into());
    }
    rule.insert("http".into(), json!({"paths": [path]}));
    let mut spec = Map::new();
    if let Some(class) = &ingress.class_name {
        spec.insert("ingressClassName".into(), class.clone().into());
    }
    if let Some(secret) = &ingress.tls_secret {
        let mut tls = json!({"secretName": secret});
        if let Some(host) = &ingress.host {
            tls["hosts"] = json!([host]);
        }
        spec.insert("tls".into(), json!([tls]));
    }
    spec.insert("rules".into(), json!([Json::Object(rule)]));
    let mut metadata = json!({"labels": labels(d, None)});
    let annotations = annotations(ingress);
    // The API server drops an empty map, which would read back as drift.
    if !annotations.is_empty() {
        metadata["annotations"] = json!(annotations);
    }
    Some(DesiredObject::new(
        Kind::Ingress,
        &d.namespace,
        &names.ingress,
        json!({"metadata": metadata, "spec": spec}),
    ))
}

/// The URL of the web UI through the ingress: https when the ingress ends or passes TLS.
pub fn web_ui_url(ingress: &ResolvedIngress) -> Option<String> {
    let host = ingress.host.as_ref()?;
    if host.starts_with("*.") {
        return None;
    }
    let scheme = if ingress.passthrough || ingress.tls_secret.is_some() {
        "https"
    } else {
        "http"
    };
    let path = if ingress.path.ends_with('/') {
        ingress.path.clone()
    } else {
        format!("{}/", ingress.path)
    };
    Some(format!("{scheme}://{host}{path}"))
}

/// An Ingress rule's host: a DNS-1123 subdomain, or one with a `*.` prefix; no IP address.
pub fn host_check(value: &Value) -> Result<(), (String, String)> {
    let Some(text) = value.as_str() else {
        return Ok(());
    };
    let invalid = |why: String| Err(("Invalid ingress host".to_string(), why));
    if text.parse::<std::net::IpAddr>().is_ok() {
        return invalid(format!(
            "{text:?} is an IP address: an Ingress host must be a DNS name (e.g. \
             \"flink.example.com\"); leave host out to serve every host."
        ));
    }
    let name = text.strip_prefix("*.").unwrap_or(text);
    if !kube_rules::dns1123_subdomain(name).is_empty() {
        return invalid(format!(
            "{text:?} is not a DNS name the API server takes: lowercase letters, digits, `-` and \
             `.` (e.g. \"flink.example.com\"), optionally with a `*.` prefix that matches one \
             label; no port, scheme or path."
        ));
    }
    Ok(())
}

/// A Prefix path as the API server takes it: absolute, without `//`, `/./`, `/../` or an
/// encoded slash, not ending in `/.` or `/..`.
pub fn path_check(value: &Value) -> Result<(), (String, String)> {
    let Some(text) = value.as_str() else {
        return Ok(());
    };
    let invalid = |why: String| Err(("Invalid ingress path".to_string(), why));
    if !text.starts_with('/') {
        return invalid(format!("{text:?} must start with `/`, e.g. \"/flink\"."));
    }
    for sequence in ["//", "/./", "/../", "%2f", "%2F"] {
        if text.contains(sequence) {
            return invalid(format!("{text:?} must not contain {sequence:?}."));
        }
    }
    for suffix in ["/..", "/."] {
        if text.ends_with(suffix) {
            return invalid(format!("{text:?} must not end with {suffix:?}."));
        }
    }
    Ok(())
}

/// The checks across attributes: passthrough needs TLS on, a host and the whole host (path `/`),
/// and has no certificate of its own; an ingress that ends TLS in front of a TLS deployment is
/// warned about; a NetworkPolicy that would keep the controller out is warned about.
pub fn checks(model: &Model, diags: &mut Diagnostics) {
    let Some(tls_on) = super::resolve::tls_enabled(model) else {
        return;
    };
    let Some(Some(ingress)) = resolve(model, tls_on) else {
        return;
    };
    let at = |name: &str| AttributePath::root("ingress").attr(name);
    if ingress.passthrough && !tls_on {
        diags.attribute_error(
            at("tls_passthrough"),
            "TLS passthrough without TLS",
            "The JobManager serves plain http unless the deployment's TLS is on, so there is no \
             TLS to pass through. Turn on tls, or remove tls_passthrough (and give tls_secret to \
             end TLS at the ingress).",
        );
        return;
    }
    if ingress.passthrough {
        if ingress.host.is_none() {
            diags.attribute_error(
                at("host"),
                "TLS passthrough needs a host",
                "A passed-through connection is routed by the host name the client sends in the \
                 TLS handshake (SNI), before any HTTP is read: set host.",
            );
        }
        if ingress.path != "/" {
            diags.attribute_error(
                at("path"),
                "TLS passthrough serves the whole host",
                "A passed-through connection is never decrypted, so the ingress cannot route it \
                 by path: remove path (it defaults to \"/\").",
            );
        }
        if ingress.tls_secret.is_some() {
            diags.attribute_error(
                at("tls_secret"),
                "TLS passthrough uses the JobManager's certificate",
                "With TLS passed through, clients see the JobManager's certificate, signed by \
                 the deployment's authority: remove tls_secret, or set tls_passthrough = false \
                 to end TLS at the ingress.",
            );
        }
        for (key, wanted) in [(SSL_PASSTHROUGH, "true"), (BACKEND_PROTOCOL, "HTTPS")] {
            if ingress
                .annotations
                .get(key)
                .is_some_and(|value| value != wanted)
            {
                diags.attribute_error(
                    at("annotations").key(key),
                    "Annotation set by the provider",
                    format!(
                        "With TLS passed through the provider sets {key} = \"{wanted}\": remove \
                         it from annotations."
                    ),
                );
            }
        }
    } else if tls_on {
        diags.attribute_warning(
            at("tls_passthrough"),
            "The ingress ends TLS in front of a TLS deployment",
            "The JobManager serves only https and requires the authority's client certificate, \
             which the ingress does not present unless it is set up to (ingress-nginx: \
             backend-protocol HTTPS and proxy-ssl-secret with the client certificate). If it is, \
             every client that reaches the ingress calls the REST API without a client \
             certificate: the REST API's mutual authentication ends at the ingress. Remove \
             tls_passthrough = false to pass TLS through instead.",
        );
    }
    // Peers listed by hand may well cover the controller: then the provider cannot tell.
    let default_peers = match &model.network_policy {
        Attr::Null => true,
        Attr::Known(policy) => {
            !matches!(policy.enabled, Attr::Known(false))
                && policy.rest_from_namespaces.is_null()
                && policy.rest_from_cidrs.is_null()
        }
        Attr::Unknown => false,
    };
    if default_peers && ingress.controller_namespace.is_none() {
        diags.attribute_warning(
            at("controller_namespace"),
            "The NetworkPolicy may keep the ingress controller out",
            "The deployment's NetworkPolicy admits the REST port only from the deployment's \
             own namespace (network_policy lists no other), and an ingress controller runs in \
             a namespace of its own. Set controller_namespace to it (e.g. \"ingress-nginx\").",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::{computed, golden_tests};
    use super::*;
    use crate::schema::Severity;
    use serde_json::json;

    fn model(ingress: Json, tls: bool) -> Model {
        let mut inputs = json!({
            "name": "orders", "namespace": "team-a", "flink_version": "2.3",
            "artifact": {"jar_uri": "file:///opt/flink/usrlib/orders.jar"},
            "ingress": ingress,
        });
        if tls {
            inputs["annotations"] = json!({super::super::model::TLS_ANNOTATION: "true"});
        }
        golden_tests::model(inputs)
    }

    fn rendered_ingress(model: &mut Model) -> Json {
        let rendered = computed::fill(model, None, None).expect("all known");
        rendered
            .objects
            .iter()
            .find(|o| o.kind == Kind::Ingress)
            .map(|o| o.manifest.clone())
            .expect("an Ingress")
    }

    fn findings(model: &Model) -> Vec<(Severity, String)> {
        let mut diags = Diagnostics::default();
        checks(model, &mut diags);
        diags
            .0
            .iter()
            .map(|d| (d.severity, format!("{:?}", d.path)))
            .collect()
    }

    #[test]
    fn a_minimal_ingress_routes_every_host_at_the_root_to_the_rest_service() {
        let mut m = model(json!({"controller_namespace": "ingress-nginx"}), false);
        let ingress = rendered_ingress(&mut m);
        assert_eq!(ingress["metadata"]["name"], "flink-orders");
        assert!(ingress["metadata"].get("annotations").is_none());
        assert!(ingress["spec"].get("tls").is_none());
        assert!(ingress["spec"].get("ingressClassName").is_none());
        let rule = &ingress["spec"]["rules"][0];
        assert!(rule.get("host").is_none());
        assert_eq!(
            rule["http"]["paths"][0],
            json!({"path": "/", "pathType": "Prefix",
                   "backend": {"service": {"name": "flink-orders-rest", "port": {"number": 8081}}}})
        );
        assert_eq!(m.web_ui_url, Attr::Null, "no host, no URL");
        assert!(findings(&m).is_empty());
    }

    #[test]
    fn without_an_ingress_block_there_is_no_ingress() {
        let mut m = model(Json::Null, false);
        let rendered = computed::fill(&mut m, None, None).unwrap();
        assert!(rendered.objects.iter().all(|o| o.kind != Kind::Ingress));
        assert_eq!(m.web_ui_url, Attr::Null);
    }

    #[test]
    fn with_tls_on_the_ingress_passes_tls_through_by_default() {
        let settings = json!({"host": "orders.example.com", "controller_namespace": "ingress-nginx",
               "annotations": {"nginx.ingress.kubernetes.io/whitelist-source-range": "10.0.0.0/8"}});
        let m = model(settings.clone(), true);
        // TLS resolves only with an authority; the Ingress needs only to know TLS is on.
        let mut d = computed::resolved(&model(settings, false)).unwrap();
        d.ingress = resolve(&m, true).flatten();
        let ingress = super::ingress(&d).unwrap().manifest;
        assert_eq!(
            ingress["metadata"]["annotations"],
            json!({SSL_PASSTHROUGH: "true", BACKEND_PROTOCOL: "HTTPS",
                   "nginx.ingress.kubernetes.io/whitelist-source-range": "10.0.0.0/8"})
        );
        assert!(ingress["spec"].get("tls").is_none());
        assert_eq!(
            web_ui_url(d.ingress.as_ref().unwrap()).as_deref(),
            Some("https://orders.example.com/")
        );
        assert!(findings(&m).is_empty(), "{:?}", findings(&m));
    }

    #[test]
    fn passthrough_needs_tls_a_host_the_root_path_and_no_certificate_of_its_own() {
        let errors = |m: &Model| -> Vec<String> {
            let mut diags = Diagnostics::default();
            checks(m, &mut diags);
            diags
                .0
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| format!("{:?}", d.path.as_ref().unwrap()))
                .collect()
        };
        let without_tls = model(
            json!({"host": "a.example.com", "tls_passthrough": true, "controller_namespace": "x"}),
            false,
        );
        assert_eq!(errors(&without_tls).len(), 1);
        assert!(errors(&without_tls)[0].contains("tls_passthrough"));
        let bad = model(
            json!({"path": "/flink", "tls_secret": "cert", "controller_namespace": "x",
                   "annotations": {BACKEND_PROTOCOL: "HTTP"}}),
            true,
        );
        let found = errors(&bad);
        for attribute in ["host", "path", "tls_secret", BACKEND_PROTOCOL] {
            assert!(
                found.iter().any(|p| p.contains(attribute)),
                "{attribute}: {found:?}"
            );
        }
        assert_eq!(found.len(), 4, "{found:?}");
    }

    #[test]
    fn an_ingress_ending_tls_in_front_of_tls_is_warned_about() {
        let m = model(
            json!({"host": "a.example.com", "tls_passthrough": false, "tls_secret": "cert",
                   "controller_namespace": "ingress-nginx"}),
            true,
        );
        let mut diags = Diagnostics::default();
        checks(&m, &mut diags);
        let [warning] = diags.0.as_slice() else {
            panic!("{diags:?}");
        };
        assert_eq!(warning.severity, Severity::Warning);
        assert_eq!(
            warning.path,
            Some(AttributePath::root("ingress").attr("tls_passthrough"))
        );
        assert!(warning
            .detail
            .contains("mutual authentication ends at the ingress"));
    }

    #[test]
    fn the_controller_namespace_joins_the_rest_peers_or_plan_warns() {
        let mut m = model(json!({"controller_namespace": "ingress-nginx"}), false);
        let d = computed::resolved(&m).unwrap();
        assert_eq!(
            d.network_policy.unwrap().namespaces,
            ["team-a", "ingress-nginx"]
        );
        m.ingress = Attr::Known(Default::default());
        let mut diags = Diagnostics::default();
        checks(&m, &mut diags);
        let [warning] = diags.0.as_slice() else {
            panic!("{diags:?}");
        };
        assert_eq!(
            warning.path,
            Some(AttributePath::root("ingress").attr("controller_namespace"))
        );
        // Listed by hand, or no NetworkPolicy: nothing to say.
        for policy in [
            json!({"rest_from_namespaces": ["ingress-nginx"]}),
            json!({"enabled": false}),
        ] {
            m.network_policy = Attr::Known(serde_json::from_value(policy).unwrap());
            let mut diags = Diagnostics::default();
            checks(&m, &mut diags);
            assert!(diags.0.is_empty(), "{diags:?}");
        }
    }

    #[test]
    fn the_web_ui_url_follows_host_path_and_tls() {
        let url = |ingress: Json| {
            let d = computed::resolved(&model(ingress, false)).unwrap();
            web_ui_url(d.ingress.as_ref().unwrap())
        };
        assert_eq!(
            url(json!({"host": "a.example.com"})).as_deref(),
            Some("http://a.example.com/")
        );
        assert_eq!(
            url(json!({"host": "a.example.com", "path": "/flink", "tls_secret": "c"})).as_deref(),
            Some("https://a.example.com/flink/")
        );
        assert_eq!(url(json!({"host": "*.example.com"})), None);
    }

    fn check(f: fn(&Value) -> Result<(), (String, String)>, text: &str) -> Result<(), String> {
        f(&Value::string(text)).map_err(|(_, detail)| detail)
    }

    #[test]
    fn hosts_are_dns_names_with_an_optional_wildcard_label() {
        for ok in ["flink.example.com", "*.example.com", "localhost", "a-b.c"] {
            assert_eq!(check(host_check, ok), Ok(()), "{ok}");
        }
        assert!(check(host_check, "10.0.0.1")
            .unwrap_err()
            .contains("IP address"));
        assert!(check(host_check, "::1").unwrap_err().contains("IP address"));
        for bad in [
            "*",
            "*.",
            "a.*.example.com",
            "Flink.example.com",
            "flink.example.com:443",
            "https://flink.example.com",
            "",
        ] {
            assert!(check(host_check, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_are_absolute_and_without_the_sequences_the_api_server_refuses() {
        for ok in ["/", "/flink", "/flink/orders/", "/a.b"] {
            assert_eq!(check(path_check, ok), Ok(()), "{ok}");
        }
        assert!(check(path_check, "flink")
            .unwrap_err()
            .contains("start with"));
        for bad in ["//", "/a/../b", "/a/./b", "/a%2Fb", "/a/..", "/a/."] {
            assert!(check(path_check, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn class_names_are_dns_subdomains() {
        let names = crate::schema::Validator::KubernetesSubdomain;
        assert!(names.check(&Value::string("nginx")).is_empty());
        assert!(names.check(&Value::string("nginx.internal")).is_empty());
        for bad in ["Nginx", "nginx_", "-nginx", ""] {
            assert!(!names.check(&Value::string(bad)).is_empty(), "{bad}");
        }
    }
}
