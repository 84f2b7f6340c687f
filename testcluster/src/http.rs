//! HTTP: bearer-token authentication, routing of Kubernetes API paths to store operations, JSON
//! responses and `Status` errors, watch streams, the `scale` subresource, and a request counter
//! (`GET /testserver/requests`, `POST /testserver/requests/reset`) for benchmarks.

use crate::auth::{Attributes, User};
use crate::discovery;
use crate::kinds::{self, ResourceKind};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::store::{PatchType, Store, Write, Written};
use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

/// A response body: whole, or a watch stream.
pub type Body = BoxBody<Bytes, Infallible>;

/// What every request handler shares.
pub struct Shared {
    /// The objects.
    pub store: Store,
    /// The bearer tokens it accepts: the admin's and the pods' ServiceAccounts'.
    pub tokens: crate::auth::Tokens,
    /// `https://host:port`, for discovery.
    pub address: String,
    /// Requests per `VERB resource`.
    pub requests: Mutex<BTreeMap<String, u64>>,
    /// The last [`REQUEST_LOG_LIMIT`] requests as `METHOD path?query -> status` (PATCH with its
    /// content type in parentheses before the arrow), oldest first
    /// (`GET /testserver/requests/log`), to see what a real client asked for.
    pub request_log: Mutex<std::collections::VecDeque<String>>,
    /// Where the local kubelet keeps pods (`<dir>/<namespace>/<pod>/`, their logs as
    /// `kubelet::log_files` says), once it runs.
    pub pods_dir: std::sync::OnceLock<std::path::PathBuf>,
    /// Faults on demand (`/testserver/faults`), when the server was started with them.
    pub faults: Option<crate::faults::Faults>,
}

/// How many requests [`Shared::request_log`] keeps.
pub const REQUEST_LOG_LIMIT: usize = 10_000;

fn json_response(code: u16, body: &Json) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())).boxed());
    *response.status_mut() =
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// A write's answer, with one `Warning: 299 - "..."` header per admission warning (the
/// apiserver's `NewWarningHeader`: the text quoted as Go's `strconv.Quote` does), which kubectl
/// prints as `Warning: ...`.
fn written_response(code: u16, written: &Written) -> Response<Body> {
    let mut response = json_response(code, &written.object);
    for text in &written.warnings {
        let quoted = serde_json::to_string(text).unwrap_or_default();
        if let Ok(value) = hyper::header::HeaderValue::from_str(&format!("299 - {quoted}")) {
            response.headers_mut().append("warning", value);
        }
    }
    response
}

/// A Table, with the media type it was asked for.
fn table_response(version: &str, table: &Json) -> Response<Body> {
    let mut response = json_response(200, table);
    if let Ok(value) = hyper::header::HeaderValue::from_str(&crate::tables::content_type(version)) {
        response.headers_mut().insert("content-type", value);
    }
    response
}

fn error(e: ApiError) -> Response<Body> {
    json_response(e.code, &e.body())
}

fn query(req: &Request<Incoming>) -> BTreeMap<String, String> {
    req.uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_string(), percent_decode(v)))
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&text[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Handles one request.
pub async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let Some(user) = shared.tokens.authenticate(&shared.store, authorization) else {
        return Ok(error(ApiError::unauthorized()));
    };
    let path = req.uri().path().trim_matches('/').to_string();
    if path.starts_with("testserver/") && user != User::Admin {
        return Ok(error(ApiError::forbidden(
            format!("User \"{}\" cannot reach /{path}", user.username()),
            json!({}),
        )));
    }
    // HTTP/2 clients (fabric8's OkHttp) send the absolute URI: log the path and query only.
    let logged = (!path.starts_with("testserver/")).then(|| {
        let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
        match req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
        {
            Some(ct) if req.method() == Method::PATCH => {
                format!("{} {target} ({ct})", req.method())
            }
            _ => format!("{} {target}", req.method()),
        }
    });
    let segments: Vec<String> = path.split('/').map(String::from).collect();
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    let response = match (req.method(), seg.as_slice()) {
        (&Method::GET, ["version"]) => json_response(200, &discovery::version()),
        (&Method::GET, ["api"]) => json_response(200, &discovery::core_versions(&shared.address)),
        (&Method::GET, ["apis"]) => json_response(200, &discovery::group_list()),
        (&Method::GET, ["api", "v1"]) => discovery_or_404(discovery::resource_list("", "v1")),
        (&Method::GET, ["apis", group, version]) => {
            discovery_or_404(discovery::resource_list(group, version))
        }
        (&Method::GET, ["openapi", "v3"]) => json_response(200, &discovery::openapi_index()),
        (&Method::GET, ["openapi", "v3", "api", version]) => {
            discovery_or_404(discovery::openapi_group_version("", version))
        }
        (&Method::GET, ["openapi", "v3", "apis", group, version]) => {
            discovery_or_404(discovery::openapi_group_version(group, version))
        }
        (&Method::GET, ["testserver", "requests"]) => {
            let counts = shared
                .requests
                .lock()
                .map(|c| json!(*c))
                .unwrap_or_default();
            json_response(200, &counts)
        }
        (&Method::GET, ["testserver", "requests", "log"]) => {
            let log = shared
                .request_log
                .lock()
                .map(|l| json!(*l))
                .unwrap_or_default();
            json_response(200, &log)
        }
        (&Method::POST, ["testserver", "requests", "reset"]) => {
            if let Ok(mut c) = shared.requests.lock() {
                c.clear();
            }
            if let Ok(mut l) = shared.request_log.lock() {
                l.clear();
            }
            json_response(200, &json!({}))
        }
        (method, ["testserver", "faults"]) => match &shared.faults {
            Some(faults) => faults_endpoint(faults, method.clone(), req).await,
            None => error(ApiError::not_found(
                "",
                "",
                "testserver/faults (start the server with --faults)",
            )),
        },
        (_, ["api", "v1", rest @ ..]) => {
            let rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
            resource(&shared, &user, req, "", "v1", rest).await
        }
        (_, ["apis", group, version, rest @ ..]) => {
            let (group, version) = (group.to_string(), version.to_string());
            let rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
            resource(&shared, &user, req, &group, &version, rest).await
        }
        _ => error(ApiError::not_found("", "", &path)),
    };
    if let (Some(line), Ok(mut log)) = (logged, shared.request_log.lock()) {
        if log.len() == REQUEST_LOG_LIMIT {
            log.pop_front();
        }
        let status = response.status().as_u16();
        log.push_back(match &user {
            User::Admin => format!("{line} -> {status}"),
            other => format!("{line} -> {status} as {}", other.username()),
        });
    }
    Ok(response)
}

fn discovery_or_404(doc: Option<Json>) -> Response<Body> {
    match doc {
        Some(d) => json_response(200, &d),
        None => error(ApiError::not_found("", "", "group version")),
    }
}

/// Where in the resource tree a request points.
struct Target {
    kind: &'static ResourceKind,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

fn target(group: &str, version: &str, rest: &[String]) -> Option<Target> {
    let find = |plural: &str| kinds::find(group, version, plural);
    let s: Vec<&str> = rest.iter().map(String::as_str).collect();
    let t = |kind, namespace: Option<&str>, name: Option<&str>, sub: Option<&str>| Target {
        kind,
        namespace: namespace.map(String::from),
        name: name.map(String::from),
        subresource: sub.map(String::from),
    };
    match s.as_slice() {
        ["namespaces", ns, plural] => Some(t(find(plural)?, Some(ns), None, None)),
        ["namespaces", ns, plural, name] => Some(t(find(plural)?, Some(ns), Some(name), None)),
        ["namespaces", ns, plural, name, sub] => {
            Some(t(find(plural)?, Some(ns), Some(name), Some(sub)))
        }
        [plural] => Some(t(find(plural)?, None, None, None)),
        [plural, name] => {
            let kind = find(plural)?;
            (!kind.namespaced).then(|| t(kind, None, Some(name), None))
        }
        _ => None,
    }
}

fn manager_of(req: &Request<Incoming>, q: &BTreeMap<String, String>) -> String {
    if let Some(m) = q.get("fieldManager").filter(|m| !m.is_empty()) {
        return m.clone();
    }
    // The real server derives the manager from the user agent: "kubectl/v1.32 (...)" -> "kubectl".
    req.headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .and_then(|ua| ua.split('/').next())
        .filter(|m| !m.is_empty())
        .unwrap_or("unknown")
        .to_string()
}

async fn read_body(req: Request<Incoming>) -> Result<Bytes, ApiError> {
    req.into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .map_err(|e| ApiError::bad_request(format!("reading body: {e}")))
}

/// A create or update body in the media type it says it is: JSON, YAML, or Kubernetes' protobuf
/// (what kubectl's typed clients send for `kubectl create configmap` and the like).
fn object_body(bytes: &[u8], content_type: &str) -> Result<Json, ApiError> {
    match content_type {
        "" | "application/json" | "*/*" => parse_body(bytes, false),
        "application/yaml" => parse_body(bytes, true),
        crate::protobuf::MEDIA_TYPE => crate::protobuf::decode(bytes).map_err(|e| match e {
            crate::protobuf::DecodeError::Malformed(_) => ApiError::bad_request(e.to_string()),
            crate::protobuf::DecodeError::Unsupported(_) => ApiError::unsupported_body(e.to_string()),
        }),
        _ => Err(ApiError::unsupported_body(
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf".into(),
        )),
    }
}

fn parse_body(bytes: &[u8], yaml: bool) -> Result<Json, ApiError> {
    if yaml {
        serde_yaml::from_slice(bytes)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
    } else {
        serde_json::from_slice(bytes)
            .map_err(|e| ApiError::bad_request(format!("error decoding JSON: {e}")))
    }
}

async fn resource(
    shared: &Arc<Shared>,
    user: &User,
    req: Request<Incoming>,
    group: &str,
    version: &str,
    rest: Vec<String>,
) -> Response<Body> {
    let Some(target) = target(group, version, &rest) else {
        return error(ApiError::not_found("", group, &rest.join("/")));
    };
    let q = query(&req);
    let method = req.method().clone();
    let watching = matches!(q.get("watch").map(String::as_str), Some("true" | "1"));
    let verb = match (&method, &target.name) {
        (&Method::GET, None) if watching => "watch",
        (&Method::GET, None) => "list",
        (&Method::GET, Some(_)) => "get",
        (&Method::POST, _) => "create",
        (&Method::PUT, _) => "update",
        (&Method::PATCH, _) => "patch",
        (&Method::DELETE, None) => "deletecollection",
        (&Method::DELETE, Some(_)) => "delete",
        _ => return error(ApiError::method_not_allowed()),
    };
    if let Ok(mut counts) = shared.requests.lock() {
        *counts
            .entry(format!("{verb} {}", target.kind.plural))
            .or_default() += 1;
    }
    let selected_name = q.get("fieldSelector").and_then(|f| {
        f.split(',')
            .find_map(|term| term.strip_prefix("metadata.name="))
    });
    let attributes = Attributes {
        verb,
        group,
        resource: target.kind.plural,
        subresource: target.subresource.as_deref(),
        namespace: target.namespace.as_deref(),
        name: target.name.as_deref().or(selected_name),
    };
    if let Err(e) = crate::auth::authorize(&shared.store, user, &attributes) {
        return error(e);
    }
    let faulted = crate::faults::Request {
        verb,
        kind: target.kind,
        namespace: target.namespace.as_deref(),
        name: target.name.as_deref(),
    };
    let released = shared.faults.as_ref().map(|f| f.until_disarmed());
    let action = shared.faults.as_ref().and_then(|f| f.take(&faulted));
    match action {
        Some(crate::faults::Action::Status { code, retry_after }) => {
            let (e, retry_after) = crate::faults::status(&faulted, code, retry_after);
            let mut response = error(e);
            if let Some(value) =
                retry_after.and_then(|s| hyper::header::HeaderValue::from_str(&s.to_string()).ok())
            {
                response.headers_mut().insert("retry-after", value);
            }
            return response;
        }
        Some(crate::faults::Action::Delay { millis }) => {
            tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
        }
        Some(crate::faults::Action::Hold) => {
            if let Some(released) = released {
                released.await;
            }
        }
        Some(crate::faults::Action::Reset) if !watching => {
            let response = dispatch(shared, req, &target, verb, &q)
                .await
                .unwrap_or_else(error);
            return cut_halfway(response).await;
        }
        _ => {}
    }
    let result = dispatch(shared, req, &target, verb, &q).await;
    result.unwrap_or_else(error)
}

/// `response` with its whole length announced and only half of its body sent: hyper closes the
/// connection when the body ends short, so the client loses the answer mid-way.
async fn cut_halfway(response: Response<Body>) -> Response<Body> {
    let (mut parts, body) = response.into_parts();
    let Ok(collected) = body.collect().await;
    let bytes = collected.to_bytes();
    let half = bytes.slice(..bytes.len() / 2);
    if let Ok(length) = hyper::header::HeaderValue::from_str(&bytes.len().to_string()) {
        parts.headers.insert("content-length", length);
    }
    Response::from_parts(parts, Full::new(half).boxed())
}

/// `/testserver/faults`: `POST` arms the fault in the body, `GET` lists those armed, `DELETE`
/// disarms them all.
async fn faults_endpoint(
    faults: &crate::faults::Faults,
    method: Method,
    req: Request<Incoming>,
) -> Response<Body> {
    match method {
        Method::GET => json_response(200, &json!(faults.armed())),
        Method::DELETE => {
            faults.clear();
            json_response(200, &json!([]))
        }
        Method::POST => {
            let body = match read_body(req).await {
                Ok(b) => b,
                Err(e) => return error(e),
            };
            match serde_json::from_slice::<crate::faults::Fault>(&body) {
                Ok(fault) => {
                    faults.arm(fault);
                    json_response(201, &json!(faults.armed()))
                }
                Err(e) => error(ApiError::bad_request(format!("not a fault: {e}"))),
            }
        }
        _ => error(ApiError::method_not_allowed()),
    }
}

fn selectors(
    kind: &ResourceKind,
    q: &BTreeMap<String, String>,
) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(q.get("labelSelector").map_or("", String::as_str))
        .map_err(ApiError::bad_request)?;
    let fields =
        FieldSelector::parse_for(kind.kind, q.get("fieldSelector").map_or("", String::as_str))
            .map_err(ApiError::bad_request)?;
    Ok((labels, fields))
}

async fn dispatch(
    shared: &Arc<Shared>,
    req: Request<Incoming>,
    target: &Target,
    verb: &str,
    q: &BTreeMap<String, String>,
) -> Result<Response<Body>, ApiError> {
    let kind = target.kind;
    let ns = target.namespace.clone().unwrap_or_default();
    let manager = manager_of(&req, q);
    let dry_run = q.get("dryRun").is_some_and(|v| v == "All");
    let write = |sub: Option<&'static str>| Write {
        manager: "",
        dry_run,
        subresource: sub,
    };
    let sub: Option<&'static str> = match target.subresource.as_deref() {
        None => None,
        Some("status") => Some("status"),
        Some("scale") if kind.kind == "Deployment" => Some("scale"),
        Some("log") if kind.kind == "Pod" && verb == "get" => Some("log"),
        Some("portforward") if kind.kind == "Pod" => Some("portforward"),
        Some(other) => return Err(ApiError::not_found(kind.plural, kind.group, other)),
    };
    let name = target.name.clone().unwrap_or_default();
    let body_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    let table = crate::tables::requested(req.headers().get("accept").and_then(|v| v.to_str().ok()));
    if sub == Some("log") {
        return crate::logs::serve(shared, &ns, &name, q);
    }
    if sub == Some("portforward") {
        let pod = shared.store.get(kind, &ns, &name)?;
        return crate::portforward::serve(req, &pod, q);
    }
    match verb {
        "list" => {
            let (labels, fields) = selectors(kind, q)?;
            let (items, revision) =
                shared
                    .store
                    .list(kind, target.namespace.as_deref(), &labels, &fields);
            if let Some(version) = table {
                let t = crate::tables::table(version, kind, &items, &revision.to_string(), q, true);
                return Ok(table_response(version, &t));
            }
            Ok(json_response(
                200,
                &json!({
                    "kind": format!("{}List", kind.kind), "apiVersion": kind.api_version(),
                    "metadata": {"resourceVersion": revision.to_string()}, "items": items,
                }),
            ))
        }
        "watch" => {
            let (labels, fields) = selectors(kind, q)?;
            Ok(watch(
                shared,
                (kind, table),
                target.namespace.clone(),
                labels,
                fields,
                q,
            ))
        }
        "get" if sub == Some("scale") => Ok(json_response(
            200,
            &scale_of(&shared.store.get(kind, &ns, &name)?),
        )),
        "get" => {
            let object = shared.store.get(kind, &ns, &name)?;
            match table {
                Some(version) => {
                    let revision = object["metadata"]["resourceVersion"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let t = crate::tables::table(version, kind, &[object], &revision, q, true);
                    Ok(table_response(version, &t))
                }
                None => Ok(json_response(200, &object)),
            }
        }
        "create" => {
            let body = object_body(&read_body(req).await?, &body_type)?;
            let w = Write {
                manager: &manager,
                ..write(None)
            };
            Ok(written_response(
                201,
                &shared.store.create_admitted(kind, &ns, body, &w)?,
            ))
        }
        "update" if sub == Some("scale") => {
            let body = parse_body(&read_body(req).await?, false)?;
            let replicas = body
                .pointer("/spec/replicas")
                .cloned()
                .unwrap_or(Json::Null);
            let w = Write {
                manager: &manager,
                ..write(sub)
            };
            let updated = shared.store.patch(
                kind,
                &ns,
                &name,
                PatchType::Merge,
                &json!({"spec": {"replicas": replicas}}),
                &w,
            )?;
            Ok(json_response(200, &scale_of(&updated)))
        }
        "update" => {
            let body = object_body(&read_body(req).await?, &body_type)?;
            let w = Write {
                manager: &manager,
                ..write(sub)
            };
            Ok(written_response(
                200,
                &shared.store.update_admitted(kind, &ns, &name, body, &w)?,
            ))
        }
        "patch" => {
            let content_type = req
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            let force = q.get("force").is_some_and(|v| v == "true");
            let patch_type = match content_type.as_str() {
                "application/merge-patch+json" => PatchType::Merge,
                "application/json-patch+json" => PatchType::Json,
                "application/strategic-merge-patch+json" => PatchType::Strategic,
                "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
                    PatchType::Apply { force }
                }
                other => return Err(ApiError::unsupported_media_type(other)),
            };
            if matches!(patch_type, PatchType::Apply { .. }) && !q.contains_key("fieldManager") {
                return Err(ApiError::bad_request(
                    "PATCH with apply-patch+yaml requires a fieldManager",
                ));
            }
            let body = parse_body(
                &read_body(req).await?,
                matches!(patch_type, PatchType::Apply { .. }),
            )?;
            let w = Write {
                manager: &manager,
                ..write(sub)
            };
            if sub == Some("scale") {
                let mut scale = scale_of(&shared.store.get(kind, &ns, &name)?);
                match patch_type {
                    PatchType::Json => crate::patch::json_patch(&mut scale, &body)
                        .map_err(ApiError::bad_request)?,
                    _ => crate::patch::merge_patch(&mut scale, &body),
                }
                let replicas = scale
                    .pointer("/spec/replicas")
                    .cloned()
                    .unwrap_or(Json::Null);
                let updated = shared.store.patch(
                    kind,
                    &ns,
                    &name,
                    PatchType::Merge,
                    &json!({"spec": {"replicas": replicas}}),
                    &w,
                )?;
                return Ok(json_response(200, &scale_of(&updated)));
            }
            Ok(written_response(
                200,
                &shared
                    .store
                    .patch_admitted(kind, &ns, &name, patch_type, &body, &w)?,
            ))
        }
        "delete" => {
            let grace = crate::pod_deletion::requested_grace(
                q.get("gracePeriodSeconds"),
                &read_body(req).await?,
            );
            let object = crate::pod_deletion::delete(&shared.store, kind, &ns, &name, grace)?;
            Ok(json_response(200, &object))
        }
        "deletecollection" => {
            let (labels, fields) = selectors(kind, q)?;
            let items = shared.store.delete_collection(kind, &ns, &labels, &fields);
            Ok(json_response(
                200,
                &json!({"kind": format!("{}List", kind.kind), "apiVersion": kind.api_version(), "metadata": {}, "items": items}),
            ))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// `pods/log` from the local kubelet's capture of the container output (`tailLines` honoured;
/// `follow` answers with what there is so far).
fn scale_of(deployment: &Json) -> Json {
    let replicas = deployment
        .pointer("/spec/replicas")
        .cloned()
        .unwrap_or(json!(1));
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": deployment["metadata"]["name"], "namespace": deployment["metadata"]["namespace"],
            "uid": deployment["metadata"]["uid"], "resourceVersion": deployment["metadata"]["resourceVersion"],
            "creationTimestamp": deployment["metadata"]["creationTimestamp"],
        },
        "spec": {"replicas": replicas},
        "status": {"replicas": deployment.pointer("/status/replicas").cloned().unwrap_or(json!(0))},
    })
}

/// A watch: the current objects as ADDED (unless a resourceVersion to start after is given), then
/// every change, as newline-delimited JSON, until `timeoutSeconds` or the client goes away; a
/// fault may pause it or end it early (see [`crate::faults::Action::PauseWatch`]).
fn watch(
    shared: &Arc<Shared>,
    (kind, table): (&'static ResourceKind, Option<&'static str>),
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
    q: &BTreeMap<String, String>,
) -> Response<Body> {
    let start_after: Option<u64> = q
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .filter(|v| *v > 0);
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1800);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(64);
    let (initial, subscription) = match start_after {
        None => {
            // Subscribed first, so that nothing changed after the list is lost; what the list
            // already shows is not sent again.
            let subscription = shared.store.subscribe(None);
            let listed = shared
                .store
                .list(kind, namespace.as_deref(), &labels, &fields);
            (listed.0, subscription.map(|s| (s, listed.1)))
        }
        Some(after) => (
            Vec::new(),
            shared.store.subscribe(Some(after)).map(|s| (s, after)),
        ),
    };
    let (subscription, from) = match subscription {
        Ok(started) => started,
        Err(too_old) => return watch_expired(&too_old),
    };
    let crate::store::Subscription { missed, mut events } = subscription;
    // What faults see of this watch: a pause or an end armed for it, before it opened or while
    // it is open, is taken by the watch itself.
    let faulted_name = q.get("fieldSelector").and_then(|f| {
        f.split(',')
            .find_map(|term| term.strip_prefix("metadata.name="))
            .map(String::from)
    });
    let shared = shared.clone();
    let q = q.clone();
    tokio::spawn(async move {
        let faults = shared.faults.as_ref();
        // Subscribed before the first look, so that nothing armed in between is missed.
        let mut armings = faults.map(crate::faults::Faults::armings);
        let stream_fault = || {
            faults.and_then(|f| {
                f.take_for_watch_stream(&crate::faults::Request {
                    verb: "watch",
                    kind,
                    namespace: namespace.as_deref(),
                    name: faulted_name.as_deref(),
                })
            })
        };
        // With a Table asked for, each event carries a one-row Table; only the first has the
        // column definitions, as the real server sends them.
        let mut first = true;
        let mut line = |event: &str, object: &Json| {
            let object = match table {
                Some(version) => {
                    let revision = object["metadata"]["resourceVersion"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let t = crate::tables::table(
                        version,
                        kind,
                        std::slice::from_ref(object),
                        &revision,
                        &q,
                        first,
                    );
                    first = false;
                    t
                }
                None => object.clone(),
            };
            Ok(Frame::data(Bytes::from(format!(
                "{}\n",
                json!({"type": event, "object": object})
            ))))
        };
        let wanted = |rev: u64, event: &crate::store::Event| {
            let in_namespace = namespace.as_deref().is_none_or(|ns| {
                event
                    .object
                    .pointer("/metadata/namespace")
                    .and_then(Json::as_str)
                    == Some(ns)
            });
            rev > from
                && event.plural == kind.plural
                && in_namespace
                && labels.matches(&event.object)
                && fields.matches(&event.object)
        };
        // What is still to be sent, in order: held here while the watch is paused.
        let mut unsent = std::collections::VecDeque::new();
        for object in &initial {
            unsent.push_back(line("ADDED", object));
        }
        for (rev, event) in &missed {
            if wanted(*rev, event) {
                unsent.push_back(line(event.kind, &event.object));
            }
        }
        let deadline = tokio::time::sleep(std::time::Duration::from_secs(timeout));
        tokio::pin!(deadline);
        // Until when a pause holds what is to be sent.
        let mut paused_until: Option<tokio::time::Instant> = None;
        // Whether a fault may have been armed for this watch: at its start, and after each arming.
        let mut look = true;
        loop {
            if std::mem::take(&mut look) {
                match stream_fault() {
                    Some(crate::faults::Action::EndWatch) => return,
                    // A second pause while paused lasts until the later end.
                    Some(crate::faults::Action::PauseWatch { millis }) => {
                        let until =
                            tokio::time::Instant::now() + std::time::Duration::from_millis(millis);
                        paused_until = Some(paused_until.map_or(until, |p| p.max(until)));
                    }
                    _ => {}
                }
            }
            if paused_until.is_none() {
                while let Some(frame) = unsent.pop_front() {
                    if tx.send(frame).await.is_err() {
                        return;
                    }
                }
            }
            let pause_ends = async {
                match paused_until {
                    Some(until) => tokio::time::sleep_until(until).await,
                    None => std::future::pending().await,
                }
            };
            let armed = async {
                let changed = match armings.as_mut() {
                    Some(armings) => armings.changed().await.is_ok(),
                    None => false,
                };
                if !changed {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                // A fault armed before a change happened is looked at before the change is sent.
                biased;
                () = armed => look = true,
                () = &mut deadline => return,
                () = tx.closed() => return,
                () = pause_ends => paused_until = None,
                event = events.recv() => match event {
                    Ok((rev, event)) => {
                        if wanted(rev, &event) {
                            unsent.push_back(line(event.kind, &event.object));
                        }
                    }
                    // A watcher that fell behind is ended, as the real server ends it: its client
                    // resumes from the last resourceVersion it saw and loses nothing, where
                    // skipping would lose changes silently.
                    Err(_) => return,
                },
            }
        }
    });
    let stream = tokio_stream_from(rx);
    let mut response = Response::new(StreamBody::new(stream).boxed());
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// The answer to a watch from a resourceVersion older than the history kept: as the watch cache
/// answers it (`newErrWatcher`), one ERROR event carrying the `410 Expired` Status, upon which
/// clients list again.
fn watch_expired(too_old: &crate::store::TooOld) -> Response<Body> {
    let status = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("too old resource version: {} ({})", too_old.asked, too_old.oldest),
        "reason": "Expired", "code": 410,
    });
    let line = format!("{}\n", json!({"type": "ERROR", "object": status}));
    let mut response = Response::new(Full::new(Bytes::from(line)).boxed());
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Frame<Bytes>, Infallible>>,
) -> impl futures_core::Stream<Item = Result<Frame<Bytes>, Infallible>> + Send + Sync + 'static {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
