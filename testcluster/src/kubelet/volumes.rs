//! A pod's volumes and environment from the store: ConfigMap and Secret volumes written as files
//! (with `items` and modes) and mounted read-only as a kubelet does, emptyDir as a directory, a
//! bound PersistentVolumeClaim as its volume's directory (which outlives the pod), each
//! bind-mounted at its `mountPath`; env
//! from values, Secret and ConfigMap keys and the pod's own fields. A missing ConfigMap, Secret or
//! key is the error a kubelet reports as `CreateContainerConfigError`.

use super::container::Mount;
use crate::kinds;
use crate::store::Store;
use base64::Engine;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::Path;

fn object(store: &Store, plural: &str, namespace: &str, name: &str) -> Result<Json, String> {
    let kind = kinds::KINDS
        .iter()
        .find(|k| k.plural == plural)
        .ok_or_else(|| format!("no kind {plural}"))?;
    store
        .get(kind, namespace, name)
        .map_err(|_| format!("{} {name:?} not found", kind.kind.to_lowercase()))
}

/// The files of a ConfigMap or Secret: key -> bytes.
fn files(
    store: &Store,
    namespace: &str,
    source: &Json,
) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut out = BTreeMap::new();
    if let Some(name) = source["configMap"]["name"].as_str() {
        let cm = object(store, "configmaps", namespace, name)?;
        for (k, v) in cm["data"].as_object().into_iter().flatten() {
            out.insert(
                k.clone(),
                v.as_str().unwrap_or_default().as_bytes().to_vec(),
            );
        }
    } else if let Some(name) = source["secret"]["secretName"].as_str() {
        let secret = object(store, "secrets", namespace, name)?;
        for (k, v) in secret["data"].as_object().into_iter().flatten() {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap_or_default())
                .map_err(|e| format!("secret {name:?} key {k}: {e}"))?;
            out.insert(k.clone(), bytes);
        }
        for (k, v) in secret["stringData"].as_object().into_iter().flatten() {
            out.insert(
                k.clone(),
                v.as_str().unwrap_or_default().as_bytes().to_vec(),
            );
        }
    }
    Ok(out)
}

fn write_files(dir: &Path, source: &Json, all: BTreeMap<String, Vec<u8>>) -> Result<(), String> {
    let spec = if source["configMap"].is_object() {
        &source["configMap"]
    } else {
        &source["secret"]
    };
    let mode = spec["defaultMode"].as_u64().unwrap_or(0o644) as u32;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let items: Vec<(String, String, u32)> = match spec["items"].as_array() {
        Some(items) => items
            .iter()
            .map(|i| {
                (
                    i["key"].as_str().unwrap_or_default().to_string(),
                    i["path"].as_str().unwrap_or_default().to_string(),
                    i["mode"].as_u64().map_or(mode, |m| m as u32),
                )
            })
            .collect(),
        None => all.keys().map(|k| (k.clone(), k.clone(), mode)).collect(),
    };
    for (key, path, mode) in items {
        let bytes = all
            .get(&key)
            .ok_or_else(|| format!("key {key:?} not found in the volume's source"))?;
        let file = dir.join(&path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&file, bytes).map_err(|e| e.to_string())?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The directory backing claim `claim`'s bound volume, made on first use under `claims_dir` and
/// kept after the pod (the provisioner's volume outlives its pods), open to every user of the
/// pod as a local-path provisioner makes it.
fn claimed_directory(
    store: &Store,
    namespace: &str,
    claim: &str,
    claims_dir: &Path,
) -> Result<std::path::PathBuf, String> {
    let kind = kinds::find("", "v1", "persistentvolumeclaims")
        .ok_or("persistentvolumeclaims are not served")?;
    let found = store
        .get(kind, namespace, claim)
        .map_err(|_| format!("persistentvolumeclaim {claim:?} not found"))?;
    let volume = found["spec"]["volumeName"]
        .as_str()
        .filter(|v| found["status"]["phase"] == "Bound" && !v.is_empty())
        .ok_or_else(|| format!("persistentvolumeclaim {claim:?} is not bound"))?;
    let path = claims_dir.join(volume);
    std::fs::create_dir_all(&path).map_err(|e| e.to_string())?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))
        .map_err(|e| e.to_string())?;
    Ok(path)
}

/// Writes the pod's volumes under `dir/volumes` and returns the container's mounts.
pub fn materialize(
    store: &Store,
    namespace: &str,
    spec: &Json,
    container: &Json,
    dir: &Path,
    claims_dir: &Path,
) -> Result<Vec<Mount>, String> {
    // (host directory, whether the volume is read-only whatever the mount says)
    let mut sources = BTreeMap::new();
    for volume in spec["volumes"].as_array().into_iter().flatten() {
        let name = volume["name"].as_str().unwrap_or_default();
        let path = dir.join("volumes").join(name);
        let read_only = if volume["emptyDir"].is_object() {
            std::fs::create_dir_all(&path).map_err(|e| e.to_string())?;
            // As the kubelet makes it: any user of the pod may write there.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))
                .map_err(|e| e.to_string())?;
            false
        } else if let Some(claim) = volume["persistentVolumeClaim"]["claimName"].as_str() {
            let backing = claimed_directory(store, namespace, claim, claims_dir)?;
            sources.insert(name.to_string(), (backing, false));
            continue;
        } else if volume["configMap"].is_object() || volume["secret"].is_object() {
            let all = files(store, namespace, volume)?;
            write_files(&path, volume, all)?;
            // The kubelet mounts ConfigMap and Secret volumes read-only, always.
            true
        } else {
            return Err(format!(
                "volume {name:?}: only configMap, secret, emptyDir and persistentVolumeClaim volumes run here"
            ));
        };
        sources.insert(name.to_string(), (path, read_only));
    }
    let mounts: Result<Vec<Mount>, String> = container["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let name = m["name"].as_str().unwrap_or_default();
            let (source, always_read_only) = sources
                .get(name)
                .ok_or_else(|| format!("volume mount {name:?} names no volume"))?;
            let source = match m["subPath"].as_str() {
                Some(sub) => source.join(sub),
                None => source.clone(),
            };
            Ok(Mount {
                source: source.display().to_string(),
                path: m["mountPath"].as_str().unwrap_or_default().to_string(),
                read_only: *always_read_only || m["readOnly"].as_bool().unwrap_or(false),
            })
        })
        .collect();
    let mut mounts = mounts?;
    // This kubelet keeps pods under the machine's /tmp, and a pod may mount an emptyDir at /tmp:
    // that mount would hide the sources of every mount after it. A runtime resolves all sources
    // before it mounts anything, so a mount over the pod's own directory goes last.
    mounts.sort_by_key(|m| dir.starts_with(&m.path));
    Ok(mounts)
}

/// The value of a `secretKeyRef` or `configMapKeyRef`, `None` for an optional one whose object or
/// key is missing (the variable is then left out), or the kubelet's error. As
/// `makeEnvironmentVariables` in kubernetes/kubernetes `pkg/kubelet/kubelet_pods.go`: a missing
/// object is its NotFound error (`secret "x" not found`), a missing key
/// `couldn't find key k in Secret ns/x`.
fn key_ref(
    store: &Store,
    namespace: &str,
    reference: &serde_json::Map<String, Json>,
    volume_kind: &str,
    kind: &str,
) -> Result<Option<String>, String> {
    let optional = reference
        .get("optional")
        .and_then(Json::as_bool)
        .unwrap_or(false);
    let name = reference
        .get("name")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let key = reference
        .get("key")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let source = match volume_kind {
        "secret" => serde_json::json!({"secret": {"secretName": name}}),
        _ => serde_json::json!({"configMap": {"name": name}}),
    };
    let all = match files(store, namespace, &source) {
        Ok(all) => all,
        Err(e) if optional && e.ends_with("not found") => return Ok(None),
        Err(e) => return Err(e),
    };
    match all.get(key) {
        Some(bytes) => Ok(Some(String::from_utf8_lossy(bytes).to_string())),
        None if optional => Ok(None),
        None => Err(format!(
            "couldn't find key {key} in {kind} {namespace}/{name}"
        )),
    }
}

/// The container's environment, references resolved.
pub fn environment(
    store: &Store,
    namespace: &str,
    pod_name: &str,
    pod_ip: &str,
    container: &Json,
) -> Result<BTreeMap<String, String>, String> {
    let mut env = BTreeMap::new();
    for var in container["env"].as_array().into_iter().flatten() {
        let name = var["name"].as_str().unwrap_or_default().to_string();
        let value = if let Some(v) = var["value"].as_str() {
            super::container::expand(v, &env)
        } else if let Some(r) = var["valueFrom"]["secretKeyRef"].as_object() {
            match key_ref(store, namespace, r, "secret", "Secret")? {
                Some(value) => value,
                None => continue,
            }
        } else if let Some(r) = var["valueFrom"]["configMapKeyRef"].as_object() {
            match key_ref(store, namespace, r, "configMap", "ConfigMap")? {
                Some(value) => value,
                None => continue,
            }
        } else if let Some(path) = var["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
            match path {
                "status.podIP" => pod_ip.to_string(),
                "metadata.name" => pod_name.to_string(),
                "metadata.namespace" => namespace.to_string(),
                other => return Err(format!("fieldRef {other} is not supported here")),
            }
        } else {
            String::new()
        };
        env.insert(name, value);
    }
    Ok(env)
}
