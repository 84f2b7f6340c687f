//! The file system plugins a deployment needs from the official image (pure): one for each scheme
//! its state lives under (the blob storage's base, the HA storage directory, the savepoint it
//! restores from, and any `flink_configuration` value that is such a URI), as the jar names of
//! the Flink release its image runs. Rendered as `ENABLE_BUILT_IN_PLUGINS`, with an emptyDir at
//! each `plugins/<jar name without .jar>/` the entrypoint links one into when the root filesystem
//! is read-only. Not one at `plugins/` itself: the official image ships its metrics reporters
//! there (`plugins/metrics-prometheus/`, `metrics-datadog/`, ...), which a volume would hide.

use super::resolve::Resolved;
use crate::flink::filesystems::{release_of_image, Plugin};

/// Where the official image looks for plugins.
pub const PLUGINS_DIR: &str = "/opt/flink/plugins";

/// The plugins the deployment's URIs need, each once; none with `built_in_filesystem_plugins =
/// false`.
pub fn needed(d: &Resolved) -> Vec<Plugin> {
    if !d.built_in_filesystem_plugins {
        return Vec::new();
    }
    let uris = d
        .blob_storage
        .iter()
        .map(|b| b.base_uri.as_str())
        .chain(
            d.high_availability
                .iter()
                .filter_map(|h| h.storage_dir.as_deref()),
        )
        .chain(d.restore_from.as_deref())
        .chain(d.flink_configuration.values().map(String::as_str));
    let mut plugins: Vec<Plugin> = uris.filter_map(|u| Plugin::for_uri(u.trim())).collect();
    plugins.sort();
    plugins.dedup();
    plugins
}

/// The jars of `plugins` in the image's `opt/`: named after the release its tag names, else
/// after the release `flink_version` stands for.
pub fn jars(d: &Resolved, plugins: &[Plugin]) -> Vec<String> {
    let release = release_of_image(&d.image).unwrap_or_else(|| d.release.clone());
    plugins.iter().map(|p| p.jar(&release)).collect()
}

/// The emptyDirs (volume name, mount path) a read-only root needs for the entrypoint to link the
/// jars `enabled` names (`ENABLE_BUILT_IN_PLUGINS`, `;`-separated): one at each directory it
/// makes, `plugins/<jar name without .jar>`. A name that is not a plain jar file name gets none:
/// the entrypoint finds no such jar in `opt/` and stops the container saying so.
pub fn volumes(enabled: &str) -> Vec<(String, String)> {
    enabled
        .split(';')
        .map(str::trim)
        .filter_map(|jar| jar.strip_suffix(".jar"))
        .filter(|stem| {
            !stem.is_empty()
                && !stem.starts_with('.')
                && stem
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        })
        .enumerate()
        .map(|(i, stem)| (format!("flink-plugin-{i}"), format!("{PLUGINS_DIR}/{stem}")))
        .collect()
}

/// The S3 plugin the deployment uses, if any (the keys for its region differ).
pub fn s3(d: &Resolved) -> Option<Plugin> {
    let base = d.blob_storage.as_ref()?;
    Plugin::for_uri(&base.base_uri).filter(|p| p.is_s3())
}

#[cfg(test)]
mod tests {
    use super::super::{computed, golden_tests::model, objects::owned_keys, resolve::resolve};
    use serde_json::{json, Value as Json};

    fn deployment(extra: Json) -> Json {
        let mut inputs = json!({
            "name": "orders", "namespace": "ns", "flink_version": "2.3",
            "artifact": {"jar_uri": "https://repo.example.com/job.jar"},
        });
        for (k, v) in extra.as_object().unwrap() {
            inputs[k] = v.clone();
        }
        inputs
    }

    fn blob(base_uri: &str, endpoint: Option<&str>, region: Option<&str>) -> Json {
        json!({
            "name": "state", "namespace": "ns", "base_uri": base_uri,
            "config_map": "flink-blob-storage-state", "secret": null,
            "endpoint": endpoint, "region": region, "path_style_access": null,
        })
    }

    /// The main container and the volumes of the JobManager's pod.
    fn jobmanager(inputs: Json) -> (Json, Json) {
        let mut model = model(inputs);
        let rendered = computed::fill(&mut model, None, None).expect("renders");
        let jm = rendered
            .objects
            .iter()
            .find(|o| o.name == "flink-orders-jobmanager")
            .unwrap();
        let spec = &jm.manifest["spec"]["template"]["spec"];
        (spec["containers"][0].clone(), spec["volumes"].clone())
    }

    fn env(container: &Json, name: &str) -> Option<String> {
        container["env"]
            .as_array()?
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["value"].as_str().unwrap_or_default().to_string())
    }

    /// The mount paths of the plugin volumes, each declared as an emptyDir; never `plugins/`
    /// itself, which holds the image's metrics reporters.
    fn plugin_mounts(container: &Json, volumes: &Json) -> Vec<String> {
        let mounts: Vec<(String, String)> = container["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| {
                m["mountPath"]
                    .as_str()
                    .unwrap()
                    .starts_with(super::PLUGINS_DIR)
            })
            .map(|m| {
                (
                    m["name"].as_str().unwrap().into(),
                    m["mountPath"].as_str().unwrap().into(),
                )
            })
            .collect();
        for (name, path) in &mounts {
            assert_ne!(
                path,
                super::PLUGINS_DIR,
                "it would hide the image's reporters"
            );
            let volume = volumes
                .as_array()
                .unwrap()
                .iter()
                .find(|v| &v["name"] == name);
            assert_eq!(volume.map(|v| &v["emptyDir"]), Some(&json!({})), "{name}");
        }
        mounts.into_iter().map(|(_, path)| path).collect()
    }

    fn has_plugins_volume(container: &Json, volumes: &Json) -> bool {
        !plugin_mounts(container, volumes).is_empty()
    }

    #[test]
    fn a_read_only_root_gets_a_volume_at_each_linked_plugin_and_none_over_the_reporters() {
        let (c, v) = jobmanager(deployment(json!({
            "blob_storage": blob("s3://state/flink", None, None),
            "initial_savepoint_path": "gs://old/savepoint-1",
        })));
        assert_eq!(
            plugin_mounts(&c, &v),
            [
                "/opt/flink/plugins/flink-s3-fs-presto-2.3.0",
                "/opt/flink/plugins/flink-gs-fs-hadoop-2.3.0",
            ]
        );
        assert_eq!(
            super::volumes(" a.jar;;../x.jar;b;flink-azure-fs-hadoop-2.3.0.jar "),
            [
                (
                    "flink-plugin-0".to_string(),
                    "/opt/flink/plugins/a".to_string()
                ),
                (
                    "flink-plugin-1".to_string(),
                    "/opt/flink/plugins/flink-azure-fs-hadoop-2.3.0".to_string()
                ),
            ],
            "only plain jar names"
        );
    }

    #[test]
    fn each_scheme_of_the_state_enables_its_plugin_of_the_images_release() {
        let (c, v) = jobmanager(deployment(json!({
            "blob_storage": blob("s3://state/flink", None, None),
            "initial_savepoint_path": "gs://old/savepoint-1",
        })));
        assert_eq!(
            env(&c, "ENABLE_BUILT_IN_PLUGINS").as_deref(),
            Some("flink-s3-fs-presto-2.3.0.jar;flink-gs-fs-hadoop-2.3.0.jar")
        );
        assert!(has_plugins_volume(&c, &v));

        let (c, _) = jobmanager(deployment(json!({
            "image": "registry.example.com/flink:1.20.1-team", "flink_version": "1.20",
            "blob_storage": blob("s3a://state/flink", None, None),
        })));
        assert_eq!(
            env(&c, "ENABLE_BUILT_IN_PLUGINS").as_deref(),
            Some("flink-s3-fs-hadoop-1.20.1.jar"),
            "the release of the image's tag"
        );
    }

    #[test]
    fn file_state_or_an_image_with_its_own_plugins_needs_none() {
        let (c, v) = jobmanager(deployment(
            json!({"blob_storage": blob("file:///data", None, None)}),
        ));
        assert_eq!(env(&c, "ENABLE_BUILT_IN_PLUGINS"), None);
        assert!(!has_plugins_volume(&c, &v));
        let (c, v) = jobmanager(deployment(json!({
            "blob_storage": blob("s3://state/flink", None, None),
            "built_in_filesystem_plugins": false,
        })));
        assert_eq!(env(&c, "ENABLE_BUILT_IN_PLUGINS"), None);
        assert!(!has_plugins_volume(&c, &v));
    }

    #[test]
    fn the_users_own_plugins_are_kept_and_a_writable_root_needs_no_volume() {
        let (c, v) = jobmanager(deployment(json!({
            "blob_storage": blob("s3://state/flink", None, None),
            "pod": {"env": {"ENABLE_BUILT_IN_PLUGINS": "flink-metrics-prometheus-2.3.0.jar"},
                    "read_only_root_filesystem": false},
        })));
        assert_eq!(
            env(&c, "ENABLE_BUILT_IN_PLUGINS").as_deref(),
            Some("flink-metrics-prometheus-2.3.0.jar;flink-s3-fs-presto-2.3.0.jar")
        );
        let count = c["env"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["name"] == "ENABLE_BUILT_IN_PLUGINS")
            .count();
        assert_eq!(count, 1);
        assert!(!has_plugins_volume(&c, &v));
    }

    #[test]
    fn the_region_reaches_each_s3_file_system_as_it_reads_it() {
        let keys = |base: &str, endpoint: Option<&str>| {
            let model = model(deployment(
                json!({"blob_storage": blob(base, endpoint, Some("eu-west-1"))}),
            ));
            owned_keys(&resolve(&model).unwrap())
        };
        let presto = keys("s3://state/flink", None);
        assert_eq!(presto["s3.endpoint"], "https://s3.eu-west-1.amazonaws.com");
        assert!(!presto.contains_key("s3.endpoint.region"));
        let with_endpoint = keys("s3://state/flink", Some("https://minio:9000"));
        assert_eq!(with_endpoint["s3.endpoint"], "https://minio:9000");
        let hadoop = keys("s3a://state/flink", None);
        assert_eq!(hadoop["s3.endpoint.region"], "eu-west-1");
        assert!(!hadoop.contains_key("s3.endpoint"));
    }
}
