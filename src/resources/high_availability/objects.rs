//! The Kubernetes object of an HA configuration (pure): the ConfigMap `flink-ha-<name>` holding
//! the spec, so other workspaces can read it; and the way back from it for read and import.

use super::model::{Model, Spec, ZooKeeper};
use crate::kubernetes::{DesiredObject, Kind, Owner};
use crate::value::Attr;
use kube::api::DynamicObject;
use serde_json::{json, Map, Value as Json};

/// Short owner type in labels.
pub const OWNER_KIND: &str = "high-availability";
/// Kinds an HA configuration owns.
pub const KINDS: &[Kind] = &[Kind::ConfigMap];

/// Name of the ConfigMap.
pub fn object_name(name: &str) -> String {
    format!("flink-ha-{name}")
}

/// The owner of an HA configuration's objects.
pub fn owner(namespace: &str, name: &str) -> Owner {
    Owner::new(OWNER_KIND, namespace, name)
}

/// The spec, when every input is known.
pub fn spec(model: &Model) -> Attr<Spec> {
    let (Some(ha_type), Some(name), Some(namespace)) = (
        model.ha_type.known(),
        model.name.known(),
        model.namespace.known(),
    ) else {
        return Attr::Unknown;
    };
    if model.storage_dir.is_unknown() || model.zookeeper.is_unknown() {
        return Attr::Unknown;
    }
    let zookeeper = model.zookeeper.known();
    if zookeeper.is_some_and(|z| z.quorum.is_unknown() || z.path_root.is_unknown()) {
        return Attr::Unknown;
    }
    let zookeeper = zookeeper.filter(|_| ha_type == "zookeeper");
    Attr::Known(Spec {
        ha_type: ha_type.clone(),
        name: name.clone(),
        namespace: namespace.clone(),
        storage_dir: model.storage_dir.known().cloned(),
        zookeeper_quorum: zookeeper
            .and_then(|z| z.quorum.known())
            .map(|q| q.join(",")),
        zookeeper_path_root: zookeeper.and_then(|z| z.path_root.known()).cloned(),
    })
}

/// The desired ConfigMap.
pub fn desired(spec: &Spec) -> Vec<DesiredObject> {
    let mut data = Map::new();
    data.insert("type".into(), spec.ha_type.clone().into());
    let optional = [
        ("storage_dir", &spec.storage_dir),
        ("zookeeper_quorum", &spec.zookeeper_quorum),
        ("zookeeper_path_root", &spec.zookeeper_path_root),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            data.insert(key.into(), v.clone().into());
        }
    }
    vec![DesiredObject::new(
        Kind::ConfigMap,
        &spec.namespace,
        &object_name(&spec.name),
        json!({ "data": data }),
    )]
}

/// The settings as stored in the observed ConfigMap.
pub fn read_back(model: &mut Model, observed: &[(Kind, DynamicObject)]) {
    let Some((_, cm)) = observed.iter().find(|(k, _)| *k == Kind::ConfigMap) else {
        return;
    };
    let get = |key: &str| {
        cm.data
            .pointer(&format!("/data/{key}"))
            .and_then(Json::as_str)
            .map(String::from)
    };
    model.ha_type = get("type").into();
    model.storage_dir = get("storage_dir").into();
    model.zookeeper = match get("zookeeper_quorum") {
        Some(quorum) => Attr::Known(ZooKeeper {
            quorum: Attr::Known(quorum.split(',').map(String::from).collect()),
            path_root: get("zookeeper_path_root").into(),
        }),
        None => Attr::Null,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_map_round_trip() {
        let spec = Spec {
            ha_type: "zookeeper".into(),
            name: "zk".into(),
            namespace: "ns".into(),
            storage_dir: None,
            zookeeper_quorum: Some("a:2181,b:2181".into()),
            zookeeper_path_root: Some("/flink".into()),
        };
        let objects = desired(&spec);
        assert_eq!(objects[0].name, "flink-ha-zk");
        let observed = vec![(
            Kind::ConfigMap,
            serde_json::from_value(objects[0].manifest.clone()).unwrap(),
        )];
        let mut model = Model::default();
        read_back(&mut model, &observed);
        assert_eq!(model.ha_type, Attr::Known("zookeeper".into()));
        let zk = model.zookeeper.known().unwrap();
        assert_eq!(
            zk.quorum,
            Attr::Known(vec!["a:2181".into(), "b:2181".into()])
        );
        assert_eq!(model.storage_dir, Attr::Null);
    }
}
