//! A container's `securityContext` as a kubelet and its container runtime apply it
//! (`test/e2e/common/node/security_context.go`; the kubelet's `verifyRunAsNonRoot`): the
//! container's fields over the pod's, `runAsUser` and `runAsGroup` (else the image's user), the
//! pod's `fsGroup` and `supplementalGroups` as supplementary groups, `runAsNonRoot` refused for
//! user 0, `allowPrivilegeEscalation: false` as no_new_privs, `capabilities.drop` out of the
//! bounding and inheritable sets, and `readOnlyRootFilesystem`. The container's processes get
//! them through `setpriv`, after the (root) setup of its mount namespace.

use serde_json::Value as Json;

/// The user and group an image runs as when the pod names none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageUser {
    pub uid: u32,
    pub gid: u32,
}

/// Root, as images without a `USER` run.
pub const ROOT: ImageUser = ImageUser { uid: 0, gid: 0 };

/// What a container runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct Security {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups: `fsGroup` first, then `supplementalGroups`.
    pub groups: Vec<u32>,
    pub no_new_privs: bool,
    /// Capabilities dropped (lower case, `cap_` prefixed; `all` for ALL).
    pub drop: Vec<String>,
    pub read_only_root: bool,
}

/// Looks `field` up in the container's securityContext, then the pod's.
fn field<'a>(pod_spec: &'a Json, container: &'a Json, name: &str) -> &'a Json {
    match &container["securityContext"][name] {
        Json::Null => &pod_spec["securityContext"][name],
        set => set,
    }
}

fn id(value: &Json) -> Option<u32> {
    value.as_u64().and_then(|v| u32::try_from(v).ok())
}

/// The container's security settings, or the kubelet's `CreateContainerConfigError` message.
/// `pod` names the pod as the kubelet's messages do (`name_namespace(uid)`).
pub fn resolve(
    pod_spec: &Json,
    container: &Json,
    image: ImageUser,
    pod: &str,
) -> Result<Security, String> {
    let name = container["name"].as_str().unwrap_or_default();
    let explicit_uid = id(field(pod_spec, container, "runAsUser"));
    let uid = explicit_uid.unwrap_or(image.uid);
    if field(pod_spec, container, "runAsNonRoot").as_bool() == Some(true) && uid == 0 {
        return Err(match explicit_uid {
            Some(_) => format!(
                "container's runAsUser breaks non-root policy (pod: {pod:?}, container: {name})"
            ),
            None => format!(
                "container has runAsNonRoot and image will run as root (pod: {pod:?}, container: {name})"
            ),
        });
    }
    // A user the image does not know has group 0; the image's own user its own group.
    let default_gid = if uid == image.uid { image.gid } else { 0 };
    let gid = id(field(pod_spec, container, "runAsGroup")).unwrap_or(default_gid);
    let groups = id(&pod_spec["securityContext"]["fsGroup"])
        .into_iter()
        .chain(
            pod_spec["securityContext"]["supplementalGroups"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(id),
        )
        .collect();
    let drop = container["securityContext"]["capabilities"]["drop"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .map(|c| {
            let c = c.to_ascii_lowercase();
            match c.as_str() {
                "all" => c,
                _ if c.starts_with("cap_") => c,
                _ => format!("cap_{c}"),
            }
        })
        .collect();
    Ok(Security {
        uid,
        gid,
        groups,
        no_new_privs: container["securityContext"]["allowPrivilegeEscalation"].as_bool()
            == Some(false),
        drop,
        read_only_root: container["securityContext"]["readOnlyRootFilesystem"].as_bool()
            == Some(true),
    })
}

impl Security {
    /// The `setpriv` words that start the container's own process with these settings; none
    /// for root without restrictions (the process keeps the kubelet's root).
    pub fn setpriv(&self) -> Vec<String> {
        let unrestricted = self.uid == 0
            && self.gid == 0
            && self.groups.is_empty()
            && !self.no_new_privs
            && self.drop.is_empty();
        if unrestricted {
            return Vec::new();
        }
        let mut words = vec![
            "setpriv".to_string(),
            "--reuid".into(),
            self.uid.to_string(),
            "--regid".into(),
            self.gid.to_string(),
        ];
        if self.groups.is_empty() {
            words.push("--clear-groups".into());
        } else {
            let groups: Vec<String> = self.groups.iter().map(u32::to_string).collect();
            words.extend(["--groups".into(), groups.join(",")]);
        }
        if self.no_new_privs {
            words.push("--no-new-privs".into());
        }
        if !self.drop.is_empty() {
            let drop: Vec<String> = self.drop.iter().map(|c| format!("-{c}")).collect();
            words.extend([
                "--bounding-set".into(),
                drop.join(","),
                "--inh-caps".into(),
                drop.join(","),
            ]);
        }
        words.push("--".into());
        words
    }
}

/// Gives a volume to `fs_group` as the kubelet's `SetVolumeOwnership` does: every file and
/// directory group-owned by it, group-readable (and group-writable unless `read_only`),
/// directories setgid so new files inherit the group.
pub fn set_volume_ownership(
    dir: &std::path::Path,
    fs_group: u32,
    read_only: bool,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(dir)?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    std::os::unix::fs::lchown(dir, None, Some(fs_group))?;
    let mut mask = if read_only { 0o440 } else { 0o660 };
    if meta.is_dir() {
        mask |= 0o2110;
    }
    let mode = meta.permissions().mode() | mask;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(dir)? {
            set_volume_ownership(&entry?.path(), fs_group, read_only)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_container_wins_over_the_pod_and_the_image_user_is_the_default() {
        let pod = json!({"securityContext": {"runAsUser": 1000, "runAsGroup": 3000,
                         "fsGroup": 2000, "supplementalGroups": [4000]}});
        let container = json!({"name": "c", "securityContext": {"runAsUser": 1001,
            "allowPrivilegeEscalation": false, "capabilities": {"drop": ["NET_RAW", "ALL"]}}});
        let s = resolve(&pod, &container, ROOT, "p_ns(u)").unwrap();
        assert_eq!(
            (s.uid, s.gid, s.groups.clone()),
            (1001, 3000, vec![2000, 4000])
        );
        assert!(s.no_new_privs && !s.read_only_root);
        assert_eq!(s.drop, ["cap_net_raw", "all"]);
        assert_eq!(
            s.setpriv().join(" "),
            "setpriv --reuid 1001 --regid 3000 --groups 2000,4000 --no-new-privs \
             --bounding-set -cap_net_raw,-all --inh-caps -cap_net_raw,-all --"
        );
        let flink = ImageUser {
            uid: 9999,
            gid: 9999,
        };
        let nothing = resolve(&json!({}), &json!({"name": "c"}), flink, "p").unwrap();
        assert_eq!((nothing.uid, nothing.gid), (9999, 9999));
        let root = resolve(&json!({}), &json!({"name": "c"}), ROOT, "p").unwrap();
        assert!(
            root.setpriv().is_empty(),
            "root as is: {:?}",
            root.setpriv()
        );
        let other = resolve(
            &json!({"securityContext": {"runAsUser": 5}}),
            &json!({}),
            flink,
            "p",
        );
        assert_eq!(other.unwrap().gid, 0, "a user the image does not know");
    }

    #[test]
    fn run_as_non_root_refuses_user_0_in_the_kubelets_words() {
        let pod = json!({"securityContext": {"runAsNonRoot": true}});
        let image = resolve(&pod, &json!({"name": "c"}), ROOT, "p_ns(u)").unwrap_err();
        assert_eq!(
            image,
            "container has runAsNonRoot and image will run as root (pod: \"p_ns(u)\", container: c)"
        );
        let explicit = json!({"name": "c", "securityContext": {"runAsUser": 0}});
        let user = resolve(&pod, &explicit, ROOT, "p_ns(u)").unwrap_err();
        assert!(
            user.starts_with("container's runAsUser breaks non-root policy"),
            "{user}"
        );
        let fine = json!({"name": "c", "securityContext": {"runAsUser": 1}});
        assert!(resolve(&pod, &fine, ROOT, "p").is_ok());
    }

    #[test]
    fn a_volume_is_given_to_the_fs_group() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/f"), "x").unwrap();
        std::fs::set_permissions(
            dir.path().join("sub/f"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        set_volume_ownership(dir.path(), 2345, false).unwrap();
        let f = std::fs::metadata(dir.path().join("sub/f")).unwrap();
        assert_eq!((f.gid(), f.mode() & 0o777), (2345, 0o660));
        let d = std::fs::metadata(dir.path().join("sub")).unwrap();
        assert_eq!(d.gid(), 2345);
        assert_eq!(d.mode() & 0o2070, 0o2070, "{:o}", d.mode());
    }

    #[test]
    fn the_official_image_starts_as_root() {
        // runAsNonRoot without runAsUser: the image's user is root, the kubelet refuses it.
        let pod = json!({"securityContext": {"runAsNonRoot": true}});
        assert!(resolve(&pod, &json!({"name": "c"}), ROOT, "p").is_err());
        let user = json!({"securityContext": {"runAsNonRoot": true, "runAsUser": 9999}});
        let flink = resolve(&user, &json!({"name": "c"}), ROOT, "p").unwrap();
        assert_eq!(
            (flink.uid, flink.gid),
            (9999, 0),
            "runAsGroup not given: group 0"
        );
    }
}
