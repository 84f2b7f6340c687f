//! A watch paused or ended by a fault, seen through kube-rs (the provider's client): a paused
//! watch sends nothing while paused and then every held event in order; an ended one closes its
//! stream, and watching again from the last resourceVersion seen loses nothing.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;
use std::time::{Duration, Instant};

async fn faulty_server() -> (kube_test_server::RunningServer, kube::Client) {
    let options = kube_test_server::Options {
        faults: true,
        ..Default::default()
    };
    let server = kube_test_server::start_with("127.0.0.1:0", options)
        .await
        .unwrap();
    let kubeconfig = Kubeconfig::from_yaml(&server.kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    (server, kube::Client::try_from(config).unwrap())
}

/// Arms `fault` (its JSON form) through `/testserver/faults`.
async fn arm(client: &kube::Client, fault: serde_json::Value) {
    let request = hyper::Request::post("/testserver/faults")
        .header("content-type", "application/json")
        .body(fault.to_string().into_bytes())
        .unwrap();
    client.request_text(request).await.unwrap();
}

async fn apply(api: &Api<ConfigMap>, name: &str) -> String {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}});
    let applied = api
        .patch(name, &PatchParams::apply("t"), &Patch::Apply(cm))
        .await
        .unwrap();
    applied.metadata.resource_version.unwrap()
}

fn added_name(event: WatchEvent<ConfigMap>) -> String {
    match event {
        WatchEvent::Added(cm) => cm.metadata.name.unwrap(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_paused_watch_sends_nothing_then_everything_it_held_in_order() {
    let (_server, client) = faulty_server().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let mut stream = api
        .watch(&WatchParams::default().timeout(30), "0")
        .await
        .unwrap()
        .boxed();
    // The open watch delivers as usual before the fault.
    apply(&api, "before").await;
    assert_eq!(
        added_name(stream.try_next().await.unwrap().unwrap()),
        "before"
    );

    arm(
        &client,
        json!({"verb": "watch", "kind": "configmaps", "count": 1,
               "action": {"pause_watch": {"millis": 2000}}}),
    )
    .await;
    let armed_at = Instant::now();
    for name in ["a", "b", "c"] {
        apply(&api, name).await;
    }
    // Nothing while paused ...
    let early = tokio::time::timeout(Duration::from_millis(1200), stream.try_next()).await;
    assert!(early.is_err(), "an event during the pause: {early:?}");
    // ... then all three, in the order they happened, once the pause is over.
    let mut seen = Vec::new();
    for _ in 0..3 {
        let event = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
            .await
            .expect("the held events after the pause")
            .unwrap()
            .unwrap();
        seen.push(added_name(event));
    }
    assert!(armed_at.elapsed() >= Duration::from_millis(2000));
    assert_eq!(seen, ["a", "b", "c"]);
    // The fault is spent: the watch delivers at once again.
    apply(&api, "after").await;
    let event = tokio::time::timeout(Duration::from_millis(1000), stream.try_next())
        .await
        .expect("an event at once after the pause")
        .unwrap()
        .unwrap();
    assert_eq!(added_name(event), "after");
}

#[tokio::test]
async fn an_ended_watch_closes_and_a_new_one_from_its_resource_version_loses_nothing() {
    let (_server, client) = faulty_server().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let mut stream = api
        .watch(&WatchParams::default().timeout(30), "0")
        .await
        .unwrap()
        .boxed();
    let last_seen = apply(&api, "a").await;
    assert_eq!(added_name(stream.try_next().await.unwrap().unwrap()), "a");

    arm(
        &client,
        json!({"kind": "ConfigMap", "count": 1, "action": "end_watch"}),
    )
    .await;
    // The stream ends cleanly, well before its 30 s timeout.
    let ended = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .expect("the stream ends at once")
        .unwrap();
    assert!(ended.is_none(), "{ended:?}");

    apply(&api, "b").await;
    let mut again = api
        .watch(&WatchParams::default().timeout(30), &last_seen)
        .await
        .unwrap()
        .boxed();
    let event = tokio::time::timeout(Duration::from_secs(5), again.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(added_name(event), "b");
}
