//! `422 Invalid` answers through the real kubectl, which prints them as
//! `The <Kind> "<name>" is invalid: <field>: <error>` from the Status the server sends.

#[tokio::test]
async fn kubectl_prints_the_real_validation_errors() {
    let server = kube_test_server::start("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(&kc, &server.kubeconfig).unwrap();
    let manifest = dir.path().join("bad.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: conf}\ndata: {'flink/conf.yaml': x}\n",
    )
    .unwrap();
    let big = dir.path().join("big.yaml");
    std::fs::write(
        &big,
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big}}\ndata: {{a: '{}'}}\n",
            "x".repeat(1024 * 1024 + 1)
        ),
    )
    .unwrap();
    tokio::task::spawn_blocking(move || {
        let run = |path: &std::path::Path| {
            let out = crate::kubectl_command(&kc)
                .args(["apply", "-f", path.to_str().unwrap()])
                .output()
                .expect("the real kubectl must be installed for these tests");
            assert!(!out.status.success());
            String::from_utf8_lossy(&out.stderr).trim().to_string()
        };
        assert_eq!(
            run(&manifest),
            format!(
                "The ConfigMap \"conf\" is invalid: data[flink/conf.yaml]: Invalid value: \"flink/conf.yaml\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
            )
        );
        // Client-side apply also copies the object into the last-applied annotation, which is
        // then over its own limit: a real cluster answers both, and kubectl lists them.
        assert_eq!(
            run(&big),
            "The ConfigMap \"big\" is invalid: \n* metadata.annotations: Too long: must have at most 262144 bytes\n* []: Too long: must have at most 1048576 bytes"
        );
    })
    .await
    .unwrap();
}
