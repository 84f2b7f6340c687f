//! The real kubectl against the server, doing what acceptance tests do to make drift.

fn kubectl(kubeconfig: &std::path::Path, args: &[&str]) -> String {
    let out = crate::kubectl_command(kubeconfig)
        .env("EDITOR", "sed -i s/^\\ \\ a:\\ .*/\\ \\ a:\\ edited/")
        .args(args)
        .output()
        .expect("the real kubectl must be installed for these tests");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "kubectl {args:?} failed:\n{text}");
    text
}

#[tokio::test]
async fn kubectl_apply_get_patch_edit_scale_label_annotate_delete() {
    let server = kube_test_server::start("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, &server.kubeconfig).unwrap();
    let manifest = dir.path().join("objects.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n  labels: {app: x}\ndata:\n  a: \"1\"\n---\n\
         apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: x}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: x}\n  template:\n    metadata:\n      labels: {app: x}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n",
    )
    .unwrap();
    let kc = kubeconfig.clone();
    tokio::task::spawn_blocking(move || {
        let k = |args: &[&str]| kubectl(&kc, args);
        let m = manifest.to_str().unwrap();
        assert!(k(&["apply", "--server-side", "-f", m]).contains("serverside-applied"));
        assert!(k(&["get", "cm", "-l", "app=x", "-o", "name"]).contains("configmap/demo"));
        k(&["patch", "cm", "demo", "-p", r#"{"data":{"b":"2"}}"#]);
        k(&["edit", "cm", "demo"]);
        let data = k(&["get", "cm", "demo", "-o", "jsonpath={.data.a},{.data.b}"]);
        assert_eq!(data.trim(), "edited,2");
        let managers = k(&[
            "get",
            "cm",
            "demo",
            "-o",
            "jsonpath={.metadata.managedFields[*].manager}",
        ]);
        assert!(
            managers.contains("kubectl-edit") && managers.contains("kubectl-patch"),
            "{managers}"
        );
        k(&["scale", "deployment", "web", "--replicas=3"]);
        assert_eq!(
            k(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]).trim(),
            "3"
        );
        k(&["label", "cm", "demo", "team=b"]);
        assert!(k(&["get", "cm", "-l", "team=b", "-o", "name"]).contains("demo"));
        k(&["annotate", "deployment", "web", "owner=team-b"]);
        assert_eq!(
            k(&[
                "get",
                "deploy",
                "web",
                "-o",
                "jsonpath={.metadata.annotations.owner}"
            ])
            .trim(),
            "team-b"
        );
        k(&["annotate", "deployment", "web", "owner-"]);
        assert_eq!(
            k(&[
                "get",
                "deploy",
                "web",
                "-o",
                "jsonpath={.metadata.annotations.owner}"
            ])
            .trim(),
            ""
        );
        k(&["delete", "cm", "demo", "--wait=false"]);
        let gone = crate::kubectl_command(&kc)
            .args(["get", "cm", "demo"])
            .output()
            .unwrap();
        assert!(!gone.status.success());
        assert!(String::from_utf8_lossy(&gone.stderr).contains("not found"));
    })
    .await
    .unwrap();
}
