//! The provider configuration: a cluster that does not exist yet at plan time (unknown settings)
//! must not fail the plan, and bad settings are errors on their attribute.

use crate::cluster::Cluster;
use crate::harness::Workspace;

#[test]
fn unknown_provider_configuration_does_not_fail_the_plan() {
    // The kubeconfig path comes out of another resource: unknown until apply, as for a cluster
    // created in the same run.
    let cluster = Cluster::start("unknown-config");
    let ws = Workspace::new();
    ws.config(&format!(
        r#"
resource "terraform_data" "cluster" {{
  input = {kubeconfig:?}
}}

provider "flink" {{
  kubernetes = {{
    config_path = terraform_data.cluster.output
  }}
}}

resource "flink_high_availability" "k8s" {{
  name      = "k8s-ha"
  namespace = "{ns}"
  type      = "kubernetes"
}}
"#,
        kubeconfig = cluster.kubeconfig.display().to_string(),
        ns = cluster.namespace,
    ));
    let (changes, plan) = ws.plan();
    assert!(changes);
    assert!(plan.contains("2 to add"), "{plan}");
    ws.apply();
    ws.destroy();
}

#[test]
fn malformed_host_is_an_error_on_the_host() {
    let ws = Workspace::new();
    ws.config(
        r#"
provider "flink" {
  kubernetes = {
    host = "10.0.0.1:6443"
  }
}

resource "flink_high_availability" "k8s" {
  name = "k8s-ha"
  type = "kubernetes"
}
"#,
    );
    let out = ws.plan_error();
    assert!(out.contains("Invalid host"), "{out}");
    assert!(out.contains("kubernetes.host:"), "{out}");
}

/// One HA configuration under the provider `settings` (the inside of its `kubernetes` block).
fn workspace_with(settings: &str) -> Workspace {
    let ws = Workspace::new();
    ws.config(&format!(
        r#"
provider "flink" {{
  kubernetes = {{
    {settings}
  }}
}}

resource "flink_high_availability" "k8s" {{
  name      = "k8s-ha"
  namespace = "default"
  type      = "kubernetes"
}}
"#
    ));
    ws
}

/// A plan that must fail, with no state (so nothing asks the API server); its output unwrapped.
fn plan_error_with(settings: &str, env: &[(&str, &str)]) -> String {
    let ws = workspace_with(settings);
    let run = ws.terraform_with_env(&["plan", "-no-color"], env);
    assert_ne!(run.code, 0, "plan was expected to fail:\n{}", run.text);
    crate::harness::unwrapped(&run.text)
}

#[test]
fn a_missing_kubeconfig_fails_the_plan_on_config_path() {
    let said = plan_error_with(r#"config_path = "/nonexistent/kubeconfig""#, &[]);
    assert!(said.contains("Invalid Kubernetes settings"), "{said}");
    assert!(
        said.contains(
            "kubernetes.config_path: kubeconfig /nonexistent/kubeconfig cannot be read: \
             No such file or directory"
        ),
        "{said}"
    );
    // The same file named by the environment: no attribute to point at, so the message says
    // where the path came from.
    let said = plan_error_with("", &[("KUBE_CONFIG_PATH", "/nonexistent/kubeconfig")]);
    assert!(said.contains("came from the KUBE_CONFIG_PATH"), "{said}");
}

#[test]
fn a_context_the_kubeconfig_lacks_fails_the_plan_on_config_context() {
    let cluster = Cluster::start("no-context");
    let said = plan_error_with(
        &format!(
            "config_path = {:?}\n    config_context = \"prod\"",
            cluster.kubeconfig.display().to_string()
        ),
        &[],
    );
    assert!(
        said.contains(&format!(
            "kubernetes.config_context: kubeconfig {} has no context \"prod\": it has \
             kube-test-server",
            cluster.kubeconfig.display()
        )),
        "{said}"
    );
}

#[test]
fn a_server_that_is_not_a_url_in_the_kubeconfig_fails_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: 10.0.0.1:6443\n\
         contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n\
         users:\n- name: u\n  user:\n    token: t\n",
    )
    .unwrap();
    let said = plan_error_with(
        &format!("config_path = {:?}", path.display().to_string()),
        &[],
    );
    assert!(
        said.contains("kubernetes.config_path: the server in"),
        "{said}"
    );
    assert!(
        said.contains("is not a URL: write it as https://HOST:PORT"),
        "{said}"
    );
}

#[test]
fn a_rejected_server_certificate_says_why() {
    // The test server's certificate is signed by its own CA, which this configuration does not
    // give: the provider must say so, and what to set.
    let cluster = Cluster::start("untrusted");
    let kubeconfig = std::fs::read_to_string(&cluster.kubeconfig).unwrap();
    let server = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .expect("server in the test kubeconfig")
        .to_string();
    let ws = workspace_with(&format!("host = {server:?}\n    token = \"t\""));
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(run.code, 0, "{}", run.text);
    let said = crate::harness::unwrapped(&run.text);
    assert!(
        said.contains(&format!(
            "no answer from the API server at {server}/: the API server's certificate was \
             rejected: it is not signed by a certificate authority the provider trusts"
        )),
        "{said}"
    );
    assert!(said.contains("cluster_ca_certificate"), "{said}");
}

/// Applies one HA configuration against the API server at `host`; the failed apply's output,
/// unwrapped.
fn apply_against(host: &str) -> String {
    let ws = Workspace::new();
    ws.config(&format!(
        r#"
provider "flink" {{
  kubernetes = {{
    host     = "{host}"
    token    = "t"
    insecure = true
  }}
}}

resource "flink_high_availability" "k8s" {{
  name      = "k8s-ha"
  namespace = "default"
  type      = "kubernetes"
}}
"#
    ));
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(run.code, 0, "{}", run.text);
    crate::harness::unwrapped(&run.text)
}

#[test]
fn an_unreachable_api_server_is_named_with_the_cause() {
    // A port nothing listens on: the cause, not only "client error (Connect)".
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let said = apply_against(&format!("https://127.0.0.1:{closed}"));
    assert!(
        said.contains(&format!(
            "no answer from the API server at https://127.0.0.1:{closed}/: connection refused"
        )),
        "{said}"
    );
}

#[test]
fn an_api_server_that_never_answers_fails_the_apply_instead_of_holding_it() {
    // Accepts connections and never says a word (the TLS handshake never completes). Before the
    // provider bounded its waits, apply held here until the user gave up.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let held = std::thread::spawn(move || {
        let mut accepted = Vec::new();
        for stream in listener.incoming().flatten().take(20) {
            accepted.push(stream);
        }
    });
    let said = apply_against(&format!("https://{address}"));
    assert!(
        said.contains(&format!(
            "no answer from the API server at https://{address}/: timed out"
        )),
        "{said}"
    );
    drop(held);
}
