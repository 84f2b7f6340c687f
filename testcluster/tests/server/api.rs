//! API semantics through kube-rs.

use crate::server;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use serde_json::json;

fn cm(name: &str, data: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"app": "flink"}}, "data": data})
}

#[tokio::test]
async fn unauthenticated_requests_get_401() {
    let (server, _) = server().await;
    let mut config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::from_yaml(&server.kubeconfig).unwrap(),
        &Default::default(),
    )
    .await
    .unwrap();
    config.auth_info = Default::default();
    let anonymous = kube::Client::try_from(config).unwrap();
    let err = Api::<ConfigMap>::default_namespaced(anonymous)
        .list(&ListParams::default())
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("{err}")
    };
    assert_eq!(status.code, 401);
}

#[tokio::test]
async fn create_get_list_with_selectors_and_stale_updates() {
    let (_server, client) = server().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    let created = api
        .create(
            &PostParams::default(),
            &serde_json::from_value(cm("a", json!({"k": "v"}))).unwrap(),
        )
        .await
        .unwrap();
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "b"}})).unwrap(),
    )
    .await
    .unwrap();
    let dup = api
        .create(&PostParams::default(), &created)
        .await
        .unwrap_err();
    assert!(
        matches!(dup, kube::Error::Api(ref s) if s.code == 409 && s.reason == "AlreadyExists"),
        "{dup}"
    );

    let listed = api
        .list(&ListParams::default().labels("app=flink"))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    let listed = api
        .list(&ListParams::default().labels("app notin (flink)"))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);

    let mut fresh = api.get("a").await.unwrap();
    fresh.data = Some([("k".to_string(), "w".to_string())].into());
    api.replace("a", &PostParams::default(), &fresh)
        .await
        .unwrap();
    // `fresh` still carries the old resourceVersion.
    let stale = api
        .replace("a", &PostParams::default(), &fresh)
        .await
        .unwrap_err();
    let kube::Error::Api(status) = stale else {
        panic!()
    };
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    assert!(
        status.message.contains("the object has been modified"),
        "{}",
        status.message
    );

    let missing = api.get("nope").await.unwrap_err();
    let kube::Error::Api(status) = missing else {
        panic!()
    };
    assert_eq!(status.code, 404);
    assert_eq!(status.message, "configmaps \"nope\" not found");
}

#[tokio::test]
async fn server_side_apply_tracks_managers() {
    let (_server, client) = server().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    let tf = PatchParams::apply("terraform-provider-flink");
    let first = api
        .patch(
            "cfg",
            &tf,
            &Patch::Apply(cm("cfg", json!({"a": "1", "b": "2"}))),
        )
        .await
        .unwrap();
    let again = api
        .patch(
            "cfg",
            &tf,
            &Patch::Apply(cm("cfg", json!({"a": "1", "b": "2"}))),
        )
        .await
        .unwrap();
    assert_eq!(
        first.metadata.resource_version, again.metadata.resource_version,
        "a no-op apply changes nothing"
    );

    let dropped = api
        .patch("cfg", &tf, &Patch::Apply(cm("cfg", json!({"a": "1"}))))
        .await
        .unwrap();
    assert_eq!(
        dropped.data.unwrap().len(),
        1,
        "a field no longer applied is removed"
    );

    let other = PatchParams::apply("someone-else");
    let conflict = api
        .patch("cfg", &other, &Patch::Apply(cm("cfg", json!({"a": "9"}))))
        .await
        .unwrap_err();
    let kube::Error::Api(status) = conflict else {
        panic!()
    };
    assert_eq!(status.code, 409);
    assert!(
        status
            .message
            .contains("conflict with \"terraform-provider-flink\""),
        "{}",
        status.message
    );

    let forced = api
        .patch(
            "cfg",
            &other.clone().force(),
            &Patch::Apply(cm("cfg", json!({"a": "9"}))),
        )
        .await
        .unwrap();
    assert_eq!(forced.data.unwrap()["a"], "9");
    let managers: Vec<String> = forced
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(
        managers.contains(&"someone-else".to_string()),
        "{managers:?}"
    );
}

#[tokio::test]
async fn invalid_names_are_422_and_missing_namespaces_404() {
    let (_server, client) = server().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let err = api
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "Bad_Name"}})).unwrap(),
        )
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!()
    };
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    let elsewhere: Api<ConfigMap> = Api::namespaced(client, "missing");
    let err = elsewhere
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "x"}})).unwrap(),
        )
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!()
    };
    assert_eq!(status.code, 404);
    assert_eq!(status.message, "namespaces \"missing\" not found");
}

#[tokio::test]
async fn watch_and_deletecollection() {
    let (_server, client) = server().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    let stream = api
        .watch(&WatchParams::default().labels("app=flink").timeout(10), "0")
        .await
        .unwrap();
    let mut stream = stream.boxed();
    let tf = PatchParams::apply("t");
    api.patch("w", &tf, &Patch::Apply(cm("w", json!({"a": "1"}))))
        .await
        .unwrap();
    api.patch("w", &tf, &Patch::Apply(cm("w", json!({"a": "2"}))))
        .await
        .unwrap();
    api.delete("w", &DeleteParams::default()).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        match stream.try_next().await.unwrap().unwrap() {
            WatchEvent::Added(_) => seen.push("ADDED"),
            WatchEvent::Modified(_) => seen.push("MODIFIED"),
            WatchEvent::Deleted(_) => seen.push("DELETED"),
            _ => {}
        }
    }
    assert_eq!(seen, ["ADDED", "MODIFIED", "DELETED"]);

    for name in ["x", "y"] {
        api.patch(name, &tf, &Patch::Apply(cm(name, json!({}))))
            .await
            .unwrap();
    }
    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("app=flink"),
    )
    .await
    .unwrap();
    assert!(api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .is_empty());
}

/// A client lists, something changes, then it watches from the list's resourceVersion (how
/// `kubectl delete` waits, and every informer starts): the watch begins with what it missed. The
/// race of a pod deleted between kubectl's list and its watch left `kubectl delete` waiting for
/// a week.
#[tokio::test]
async fn a_watch_from_a_lists_resource_version_sees_what_changed_since() {
    let (_server, client) = server().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    let tf = PatchParams::apply("t");
    api.patch("r", &tf, &Patch::Apply(cm("r", json!({"a": "1"}))))
        .await
        .unwrap();
    let listed = api.list(&ListParams::default()).await.unwrap();
    let listed_at = listed.metadata.resource_version.unwrap();
    api.patch("r", &tf, &Patch::Apply(cm("r", json!({"a": "2"}))))
        .await
        .unwrap();
    api.delete("r", &DeleteParams::default()).await.unwrap();
    let mut stream = api
        .watch(&WatchParams::default().timeout(5), &listed_at)
        .await
        .unwrap()
        .boxed();
    let mut seen = Vec::new();
    while let Some(event) = stream.try_next().await.unwrap() {
        match event {
            WatchEvent::Modified(c) => seen.push(("MODIFIED", c.data.unwrap()["a"].clone())),
            WatchEvent::Deleted(c) => seen.push(("DELETED", c.data.unwrap()["a"].clone())),
            other => panic!("{other:?}"),
        }
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(
        seen,
        [("MODIFIED", "2".to_string()), ("DELETED", "2".to_string())]
    );

    // Far older than the history kept: 410 Expired as an ERROR event, and a list starts over.
    for n in 0..4100 {
        api.patch(
            "r",
            &tf,
            &Patch::Apply(cm("r", json!({"a": n.to_string()}))),
        )
        .await
        .unwrap();
    }
    let mut stream = api
        .watch(&WatchParams::default().timeout(5), &listed_at)
        .await
        .unwrap()
        .boxed();
    match stream.try_next().await.unwrap() {
        Some(WatchEvent::Error(e)) => {
            assert_eq!(
                (e.code, e.reason.as_str()),
                (410, "Expired"),
                "{}",
                e.message
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn request_log_records_path_query_patch_type_and_status() {
    let (server, client) = server().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    api.create(
        &PostParams::default(),
        &serde_json::from_value(cm("logged", json!({"k": "v"}))).unwrap(),
    )
    .await
    .unwrap();
    api.patch(
        "logged",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "w"}})),
    )
    .await
    .unwrap();
    let _ = api.get("missing").await.unwrap_err();
    api.list(&ListParams::default().labels("app=flink"))
        .await
        .unwrap();
    let log: Vec<String> = server
        .shared
        .request_log
        .lock()
        .unwrap()
        .iter()
        .cloned()
        .collect();
    let expected = [
        "POST /api/v1/namespaces/default/configmaps? -> 201",
        "PATCH /api/v1/namespaces/default/configmaps/logged? (application/merge-patch+json) -> 200",
        "GET /api/v1/namespaces/default/configmaps/missing -> 404",
        "GET /api/v1/namespaces/default/configmaps?&labelSelector=app%3Dflink -> 200",
    ];
    for line in expected {
        assert!(log.iter().any(|l| l == line), "{line:?} not in {log:#?}");
    }
}
