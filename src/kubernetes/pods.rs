//! Pods and the way into them: the pods of a namespace with a given label value (one list per
//! namespace and run, shared by every resource that asks, until this process writes; then one list
//! per question, of that label value only), and a byte stream to a pod's port through the API
//! server's `pods/portforward` (kube-rs, WebSocket), which is how the provider reaches a
//! JobManager's REST API on any cluster without exposing it.

use super::retry::{retry, retryable};
use super::{Cluster, KubeError};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use tokio::io::{AsyncRead, AsyncWrite};

impl Cluster {
    /// Every pod in `namespace` whose label `label_key` is `value`.
    pub async fn pods_labelled(
        &self,
        namespace: &str,
        label_key: &str,
        value: &str,
    ) -> Result<Vec<Pod>, KubeError> {
        if self.lists_per_owner() {
            return self
                .list_pods(namespace, &format!("{label_key}={value}"))
                .await;
        }
        let cell = self
            .pod_listings
            .lock()
            .map_err(|_| pod_list_error(namespace, "internal lock poisoned".into()))?
            .entry((namespace.to_string(), label_key.to_string()))
            .or_default()
            .clone();
        let pods = cell
            .get_or_try_init(|| self.list_pods(namespace, label_key))
            .await?;
        Ok(pods
            .iter()
            .filter(|p| {
                p.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(label_key))
                    .is_some_and(|v| v == value)
            })
            .cloned()
            .collect())
    }

    async fn list_pods(&self, namespace: &str, selector: &str) -> Result<Vec<Pod>, KubeError> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let params = ListParams::default().labels(selector);
        retry(&self.interrupt, &self.deadline, || api.list(&params))
            .await
            .map(|list| list.items)
            .map_err(|e| pod_list_error(namespace, self.explain_failed(&e)))
    }

    /// Forgets the pod lists, so the next question sees pods as they are now.
    pub fn forget_pods(&self) {
        if let Ok(mut pods) = self.pod_listings.lock() {
            pods.clear();
        }
    }

    /// Why Deployment `name` creates no pods, if its controller says so: the reason and message
    /// of its `ReplicaFailure` condition (a pod that admission refused, a quota), which a
    /// Deployment carries from its ReplicaSet.
    pub async fn replica_failure(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<(String, String)>, KubeError> {
        let api: Api<k8s_openapi::api::apps::v1::Deployment> =
            Api::namespaced(self.client.clone(), namespace);
        let deployment = retry(&self.interrupt, &self.deadline, || api.get_opt(name))
            .await
            .map_err(|e| KubeError::Object {
                verb: "read",
                kind: "Deployment".into(),
                namespace: namespace.to_string(),
                name: name.to_string(),
                message: self.explain_failed(&e),
            })?;
        let failure = deployment
            .and_then(|d| d.status?.conditions)
            .into_iter()
            .flatten()
            .find(|c| c.type_ == "ReplicaFailure" && c.status == "True")
            .map(|c| {
                (
                    c.reason.unwrap_or_else(|| "ReplicaFailure".into()),
                    c.message.unwrap_or_default(),
                )
            });
        Ok(failure)
    }

    /// The last `lines` lines of pod `name`'s output (`pods/log`): of `container` when given
    /// (e.g. an init container), else of its app container.
    pub async fn pod_log_tail(
        &self,
        namespace: &str,
        name: &str,
        container: Option<&str>,
        lines: i64,
    ) -> Result<String, KubeError> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let params = kube::api::LogParams {
            tail_lines: Some(lines),
            container: container.map(String::from),
            ..Default::default()
        };
        let error = |message: String| KubeError::Object {
            verb: "read the log of",
            kind: "Pod".into(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            message,
        };
        match self.interrupt.guard(api.logs(name, &params)).await {
            Ok(Ok(log)) => Ok(log),
            Ok(Err(e)) => Err(error(self.explain(&e))),
            Err(interrupted) => Err(error(interrupted.to_string())),
        }
    }

    /// A connection to `port` of pod `name`, forwarded by the API server. Opened once: the
    /// failure says whether opening it again may succeed, for the caller's own retry.
    pub async fn port_forward(
        &self,
        namespace: &str,
        name: &str,
        port: u16,
    ) -> Result<impl AsyncRead + AsyncWrite + Unpin + Send + 'static, Unopened> {
        let unopened = |message: String, transient: bool| Unopened {
            error: KubeError::Object {
                verb: "port-forward",
                kind: "Pod".into(),
                namespace: namespace.to_string(),
                name: name.to_string(),
                message,
            },
            transient,
        };
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let mut forwarder = self
            .interrupt
            .guard(api.portforward(name, &[port]))
            .await
            .map_err(|interrupted| unopened(interrupted.to_string(), false))?
            .map_err(|e| unopened(self.explain(&e), retryable(&e)))?;
        let stream = forwarder
            .take_stream(port)
            .ok_or_else(|| unopened(format!("no stream for port {port}"), false))?;
        // The forwarder ends when its task is dropped: keep it running with the stream.
        tokio::spawn(async move {
            let _ = forwarder.join().await;
        });
        Ok(stream)
    }
}

/// A port-forward that did not open: nothing was sent through it.
#[derive(Debug)]
pub struct Unopened {
    /// What failed, naming the pod.
    pub error: KubeError,
    /// Whether opening it again may succeed: the connection to the API server was lost or
    /// refused, or the server answered what asking again can change (429, 5xx); not when the pod
    /// is gone or forwarding to it is forbidden.
    pub transient: bool,
}

fn pod_list_error(namespace: &str, message: String) -> KubeError {
    KubeError::List {
        kind: "Pod".into(),
        namespace: namespace.to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::super::converge::tests::faulty;

    /// A port-forward the API server could not open now (503) may open when asked again; one to
    /// a pod that does not exist would not.
    #[tokio::test]
    async fn a_port_forward_that_did_not_open_says_whether_it_may_next_time() {
        let (_server, cluster) = faulty("verb=get,kind=pods,name=jm,count=1,status=503").await;
        let unopened = cluster
            .port_forward("default", "jm", 8081)
            .await
            .err()
            .unwrap();
        assert!(unopened.transient, "{:?}", unopened.error);
        let message = unopened.error.to_string();
        assert!(
            message.starts_with("port-forward Pod default/jm: "),
            "{message}"
        );
        // The fault is spent: now the pod's absence answers.
        let unopened = cluster
            .port_forward("default", "jm", 8081)
            .await
            .err()
            .unwrap();
        assert!(!unopened.transient, "{:?}", unopened.error);
        assert!(
            unopened.error.to_string().contains("(404)"),
            "{}",
            unopened.error
        );
    }
}
