//! ServiceAccount tokens under RBAC, through kube-rs as an in-cluster client would speak: a pod's
//! token may do what the Roles bound to its account grant and gets the real server's 403 for
//! anything else; it stops working when its account goes. A second listener serves the same
//! objects (the in-cluster address pods use).

use crate::server;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;

async fn create(client: &kube::Client, plural_path: &str, body: serde_json::Value) {
    let request = hyper::Request::post(plural_path)
        .header("content-type", "application/json")
        .body(body.to_string().into_bytes())
        .unwrap();
    client
        .request::<serde_json::Value>(request)
        .await
        .unwrap_or_else(|e| panic!("POST {plural_path}: {e}"));
}

/// A client of `server` at `address` presenting `token`.
async fn client_with(
    server: &kube_test_server::RunningServer,
    address: std::net::SocketAddr,
    token: &str,
) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&server.kubeconfig).unwrap();
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    config.cluster_url = format!("https://{address}").parse().unwrap();
    config.auth_info = kube::config::AuthInfo {
        token: Some(token.to_string().into()),
        ..Default::default()
    };
    kube::Client::try_from(config).unwrap()
}

fn api_error(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(status) => *status,
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn a_service_account_token_may_do_what_its_role_grants_and_gets_403_otherwise() {
    let (server, admin) = server().await;
    create(
        &admin,
        "/api/v1/namespaces",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}),
    )
    .await;
    create(
        &admin,
        "/api/v1/namespaces/team/serviceaccounts",
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "flink-a"}}),
    )
    .await;
    create(
        &admin,
        "/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles",
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "ha"},
               "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "create"]}]}),
    )
    .await;
    create(
        &admin,
        "/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings",
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "ha"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "ha"},
               "subjects": [{"kind": "ServiceAccount", "name": "flink-a", "namespace": "team"}]}),
    )
    .await;
    // The in-cluster listener: the same server on another address.
    let in_cluster = server.listen_also("127.0.0.1:0").unwrap();
    assert_ne!(in_cluster, server.addr);
    let token = server.shared.tokens.issue("team", "flink-a");
    let pod = client_with(&server, in_cluster, &token).await;

    let config_maps: Api<ConfigMap> = Api::namespaced(pod.clone(), "team");
    config_maps
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "leader"}})).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        config_maps
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let denied = api_error(
        config_maps
            .delete("leader", &DeleteParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!((denied.code, denied.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        denied.message,
        "configmaps \"leader\" is forbidden: User \"system:serviceaccount:team:flink-a\" cannot \
         delete resource \"configmaps\" in API group \"\" in the namespace \"team\""
    );
    let secrets: Api<Secret> = Api::namespaced(pod.clone(), "team");
    assert_eq!(
        api_error(secrets.list(&ListParams::default()).await.unwrap_err()).code,
        403
    );
    let elsewhere: Api<ConfigMap> = Api::namespaced(pod.clone(), "default");
    assert_eq!(
        api_error(elsewhere.list(&ListParams::default()).await.unwrap_err()).code,
        403
    );
    // The admin sees what the pod made, through the first listener.
    assert!(Api::<ConfigMap>::namespaced(admin.clone(), "team")
        .get("leader")
        .await
        .is_ok());
    let log = server.shared.request_log.lock().unwrap().clone();
    assert!(
        log.iter()
            .any(|l| l.starts_with("POST /api/v1/namespaces/team/configmaps")
                && l.ends_with("-> 201 as system:serviceaccount:team:flink-a")),
        "{log:#?}"
    );

    // A token whose account is gone is nobody's.
    let request = hyper::Request::delete("/api/v1/namespaces/team/serviceaccounts/flink-a")
        .body(Vec::new())
        .unwrap();
    admin.request::<serde_json::Value>(request).await.unwrap();
    assert_eq!(
        api_error(config_maps.get("leader").await.unwrap_err()).code,
        401
    );
}
