//! Convergence against the API server: server-side apply of an owner's desired objects under one
//! field manager (forced, so drift made by other managers is taken back), observation of what an
//! owner has, prune of owned objects no longer desired, and delete; prune and delete skip objects
//! another resource instance marked (see `owner`). Transient failures (409 on
//! non-apply writes, 429, 5xx, transport errors) are retried with backoff.
//!
//! Observation lists each kind once per namespace (every object this provider manages there) and
//! shares the answer between the resources of one Terraform run, so a refresh of N deployments
//! costs one request per kind, not N. Once this process writes (an apply or destroy), shared lists
//! are dropped and each resource lists only its own objects: a shared list would be stale after
//! the next resource's write, and listing the whole namespace for each of N resources costs N^2.

use super::objects::{DesiredObject, Kind};
use super::owner::{Claim, Owner};
use super::retry::{retry, Failed, Last};
use super::ClusterAccess;
use super::{KubeError, FIELD_MANAGER};
use crate::deadline::Deadline;
use crate::interrupt::Interrupt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::Client;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Pod lists per (namespace, label key), filled once per run (see `pods.rs`).
pub type PodListings = Arc<
    Mutex<
        HashMap<(String, String), Arc<tokio::sync::OnceCell<Vec<k8s_openapi::api::core::v1::Pod>>>>,
    >,
>;

/// An object of a shared listing: its labels to select by, and the rest as the server sent it,
/// parsed only for the resource that asks for it. A parsed tree takes several times the memory of
/// its text, and a large refresh holds every managed object of a namespace at once.
struct Listed {
    labels: BTreeMap<String, String>,
    text: Box<serde_json::value::RawValue>,
}

type Listing = Arc<tokio::sync::OnceCell<Vec<Listed>>>;

/// What a listing is parsed into first: the items unparsed.
#[derive(serde::Deserialize)]
struct ListBody {
    items: Vec<Box<serde_json::value::RawValue>>,
}

#[derive(serde::Deserialize)]
struct Head {
    metadata: HeadMetadata,
}

#[derive(serde::Deserialize)]
struct HeadMetadata {
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

fn listed(text: &str) -> Result<Vec<Listed>, serde_json::Error> {
    let body: ListBody = serde_json::from_str(text)?;
    body.items
        .into_iter()
        .map(|text| {
            let head: Head = serde_json::from_str(text.get())?;
            Ok(Listed {
                labels: head.metadata.labels.unwrap_or_default(),
                text,
            })
        })
        .collect()
}

/// A listed object of `kind` in `namespace`, parsed.
fn parsed(object: &Listed, kind: Kind, namespace: &str) -> Result<DynamicObject, KubeError> {
    serde_json::from_str(object.text.get()).map_err(|e| KubeError::List {
        kind: kind.name().into(),
        namespace: namespace.to_string(),
        message: format!("unreadable object: {e}"),
    })
}

/// An object with an owner's labels that another resource instance marked as its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    /// Its kind.
    pub kind: Kind,
    /// Its name.
    pub name: String,
    /// The instance id its marker names.
    pub instance: String,
}

/// A connected cluster.
#[derive(Clone)]
pub struct Cluster {
    pub(super) client: Client,
    /// The API server's URL, for messages.
    server: String,
    listings: Arc<Mutex<HashMap<(String, Kind), Listing>>>,
    pub(super) pod_listings: PodListings,
    /// Whether this process has written to the cluster, after which reads are per owner.
    wrote: Arc<AtomicBool>,
    /// The stop of the RPC this handle serves: it ends requests in flight and their back-offs.
    pub(super) interrupt: Interrupt,
    /// The end of the operation this handle serves: no retry waits past it.
    pub(super) deadline: Deadline,
}

impl Cluster {
    /// Connects with the provider configuration.
    pub async fn connect(access: &ClusterAccess) -> Result<Self, KubeError> {
        let (client, server) = super::client::connect(access).await?;
        Ok(Cluster {
            client,
            server,
            listings: Arc::default(),
            pod_listings: Arc::default(),
            wrote: Arc::default(),
            interrupt: Interrupt::never(),
            deadline: Deadline::none(),
        })
    }

    /// This cluster (the same connection, lists and caches) for the work of one RPC, whose
    /// requests end when `interrupt` fires.
    pub fn interrupted_by(&self, interrupt: Interrupt) -> Cluster {
        Cluster {
            interrupt,
            ..self.clone()
        }
    }

    /// This cluster for the work of an operation that must end by `deadline`: no retry of its
    /// requests waits past it.
    pub fn within(&self, deadline: Deadline) -> Cluster {
        Cluster {
            deadline,
            ..self.clone()
        }
    }

    /// The end of the operation this handle serves.
    pub fn deadline(&self) -> &Deadline {
        &self.deadline
    }

    /// The API server's URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    fn api(&self, kind: Kind, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), namespace, &kind.api_resource())
    }

    /// Forgets the shared lists and lists per owner from now on: what this process writes must be
    /// read fresh.
    fn forget_listings(&self) {
        self.wrote.store(true, Ordering::Relaxed);
        if let Ok(mut listings) = self.listings.lock() {
            listings.clear();
        }
        if let Ok(mut pods) = self.pod_listings.lock() {
            pods.clear();
        }
    }

    /// Applies every desired object of `owner`, in order; returns the objects as the server
    /// stored them, or how many of `desired` (the first ones) were applied before one failed.
    pub async fn apply(
        &self,
        owner: &Owner,
        desired: &[DesiredObject],
    ) -> Result<Vec<DynamicObject>, (usize, KubeError)> {
        self.forget_listings();
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let mut applied = Vec::with_capacity(desired.len());
        for object in desired {
            let api = self.api(object.kind, &owner.namespace);
            let manifest = object.labelled(owner);
            let patch = Patch::Apply(&manifest);
            let stored = retry(&self.interrupt, &self.deadline, || {
                api.patch(&object.name, &params, &patch)
            })
            .await
            .map_err(|e| {
                let error = self.object_error("apply", object.kind, owner, &object.name, e);
                (applied.len(), error)
            })?;
            tracing::debug!(kind = object.kind.name(), name = %object.name, "applied");
            applied.push(stored);
        }
        Ok(applied)
    }

    /// Whether reads go to the cluster per owner (this process has written) rather than to the
    /// shared per-namespace lists.
    pub(super) fn lists_per_owner(&self) -> bool {
        self.wrote.load(Ordering::Relaxed)
    }

    /// Every object of `owner` of the given kinds: from the shared per-namespace lists until this
    /// process writes, then from a list of the owner's own objects.
    pub async fn observe(
        &self,
        owner: &Owner,
        kinds: &[Kind],
    ) -> Result<Vec<(Kind, DynamicObject)>, KubeError> {
        let labels = owner.labels();
        let mut found = Vec::new();
        for &kind in kinds {
            let (own, shared);
            let listing: &[Listed] = if self.lists_per_owner() {
                own = self.list(&owner.namespace, kind, &owner.selector()).await?;
                &own
            } else {
                shared = self.managed_in(&owner.namespace, kind).await?;
                shared.get().map(Vec::as_slice).unwrap_or_default()
            };
            let ours = listing
                .iter()
                .filter(|o| labels.iter().all(|(k, v)| o.labels.get(k) == Some(v)));
            for object in ours {
                found.push((kind, parsed(object, kind, &owner.namespace)?));
            }
        }
        Ok(found)
    }

    /// Every object of `owner` of the given kinds as the server has it now (one list per kind,
    /// never the shared lists): what an apply checks the instance markers of before it writes.
    pub async fn observe_now(
        &self,
        owner: &Owner,
        kinds: &[Kind],
    ) -> Result<Vec<(Kind, DynamicObject)>, KubeError> {
        let mut found = Vec::new();
        for &kind in kinds {
            for object in self.list(&owner.namespace, kind, &owner.selector()).await? {
                found.push((kind, parsed(&object, kind, &owner.namespace)?));
            }
        }
        Ok(found)
    }

    /// Every object of `kind` this provider manages in `namespace`: one list request per run,
    /// however many resources ask, until this process writes.
    async fn managed_in(&self, namespace: &str, kind: Kind) -> Result<Listing, KubeError> {
        let cell = {
            let mut listings = self.listings.lock().map_err(|_| KubeError::List {
                kind: kind.name().into(),
                namespace: namespace.to_string(),
                message: "internal lock poisoned".into(),
            })?;
            listings
                .entry((namespace.to_string(), kind))
                .or_default()
                .clone()
        };
        let selector = Owner::managed_selector();
        cell.get_or_try_init(|| self.list(namespace, kind, &selector))
            .await?;
        Ok(cell)
    }

    /// The objects of `kind` in `namespace` that match `selector`, unparsed but for their labels.
    async fn list(
        &self,
        namespace: &str,
        kind: Kind,
        selector: &str,
    ) -> Result<Vec<Listed>, KubeError> {
        let api = self.api(kind, namespace);
        let params = ListParams::default().labels(selector);
        let list_error = |message: String| KubeError::List {
            kind: kind.name().into(),
            namespace: namespace.to_string(),
            message,
        };
        let text = retry(&self.interrupt, &self.deadline, || async {
            let request = kube::core::Request::new(api.resource_url())
                .list(&params)
                .map_err(kube::Error::BuildRequest)?;
            self.client.request_text(request).await
        })
        .await
        .map_err(|e| list_error(self.explain_failed(&e)))?;
        listed(&text).map_err(|e| list_error(format!("unreadable list: {e}")))
    }

    /// Deletes owned objects of the given kinds that are not desired. Objects another instance
    /// marked are never deleted: they are returned, for the caller to say so.
    pub async fn prune(
        &self,
        owner: &Owner,
        kinds: &[Kind],
        desired: &[DesiredObject],
    ) -> Result<Vec<Foreign>, KubeError> {
        self.forget_listings();
        let mut kept = Vec::new();
        for (kind, object) in self.observe(owner, kinds).await? {
            let claim = owner.claim(&object);
            let name = object.metadata.name.unwrap_or_default();
            if desired.iter().any(|d| d.kind == kind && d.name == name) {
                continue;
            }
            // Delete always has a state behind it, which proves unmarked objects ours; what a
            // create that never returned left is nobody's to keep.
            match claim {
                Claim::Other(instance) => kept.push(Foreign {
                    kind,
                    name,
                    instance,
                }),
                Claim::Ours | Claim::Unmarked | Claim::Abandoned(_) => {
                    self.delete(owner, kind, &name).await?
                }
            }
        }
        Ok(kept)
    }

    /// Deletes every owned object of the given kinds but those another instance marked, which
    /// it returns.
    pub async fn delete_owned(
        &self,
        owner: &Owner,
        kinds: &[Kind],
    ) -> Result<Vec<Foreign>, KubeError> {
        self.prune(owner, kinds, &[]).await
    }

    /// Deletes every object of `kind` in `namespace` matching `selector` (objects the provider did
    /// not create but must clean up, such as Flink's HA ConfigMaps). Returns how many went.
    pub async fn delete_labelled(
        &self,
        namespace: &str,
        kind: Kind,
        selector: &str,
    ) -> Result<usize, KubeError> {
        self.forget_listings();
        let api = self.api(kind, namespace);
        let params = ListParams::default().labels(selector);
        let list = retry(&self.interrupt, &self.deadline, || api.list(&params))
            .await
            .map_err(|e| KubeError::List {
                kind: kind.name().into(),
                namespace: namespace.to_string(),
                message: self.explain_failed(&e),
            })?;
        let delete = DeleteParams::background();
        for object in &list.items {
            let name = object.metadata.name.clone().unwrap_or_default();
            match retry(&self.interrupt, &self.deadline, || {
                api.delete(&name, &delete)
            })
            .await
            {
                Ok(_) => tracing::debug!(kind = kind.name(), name, "deleted"),
                Err(failed) if failed.is(404) => {}
                Err(e) => {
                    return Err(KubeError::Object {
                        verb: "delete",
                        kind: kind.name().into(),
                        namespace: namespace.to_string(),
                        name,
                        message: self.explain_failed(&e),
                    })
                }
            }
        }
        Ok(list.items.len())
    }

    /// Deletes one object (dependents in the background); an object already gone is fine.
    pub async fn delete(&self, owner: &Owner, kind: Kind, name: &str) -> Result<(), KubeError> {
        self.forget_listings();
        let api = self.api(kind, &owner.namespace);
        let params = DeleteParams::background();
        match retry(&self.interrupt, &self.deadline, || {
            api.delete(name, &params)
        })
        .await
        {
            Ok(_) => {
                tracing::debug!(kind = kind.name(), name, "deleted");
                Ok(())
            }
            Err(failed) if failed.is(404) => Ok(()),
            Err(e) => Err(self.object_error("delete", kind, owner, name, e)),
        }
    }
}

impl Cluster {
    /// The message of a failed request, naming this API server when it did not answer.
    pub(super) fn explain(&self, error: &kube::Error) -> String {
        super::failure::explain(error, &self.server)
    }

    /// The message of a request that failed for good: its last answer, and when it was asked
    /// more than once, how often and for how long (see [`Failed::said`]).
    pub(super) fn explain_failed(&self, failed: &Failed) -> String {
        let last = match &failed.error {
            Last::Answer(error) => self.explain(error),
            Last::Interrupted => crate::interrupt::Interrupted.to_string(),
        };
        failed.said(&last)
    }

    fn object_error(
        &self,
        verb: &'static str,
        kind: Kind,
        owner: &Owner,
        name: &str,
        failed: Failed,
    ) -> KubeError {
        let rbac_missing = matches!(kind, Kind::Role | Kind::RoleBinding)
            && matches!(&failed.error, Last::Answer(kube::Error::Api(s)) if s.code == 404 && !s.message.contains("namespaces"));
        let message = if rbac_missing {
            format!(
            "the API server does not serve rbac.authorization.k8s.io/v1 ({}). Kubernetes HA needs \
             RBAC to grant the deployment its ConfigMap rights: enable RBAC, or use ZooKeeper HA",
            self.explain_failed(&failed)
        )
        } else {
            self.explain_failed(&failed)
        };
        KubeError::Object {
            verb,
            kind: kind.name().into(),
            namespace: owner.namespace.clone(),
            name: name.to_string(),
            message,
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A test server with the fault `spec` armed (`--fault`'s form), and this provider's
    /// connection to it.
    pub(in crate::kubernetes) async fn faulty(
        spec: &str,
    ) -> (kube_test_server::RunningServer, Cluster) {
        let options = kube_test_server::Options {
            armed: vec![kube_test_server::faults::Fault::parse(spec).unwrap()],
            ..Default::default()
        };
        let server = kube_test_server::start_with("127.0.0.1:0", options)
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        std::fs::write(&path, &server.kubeconfig).unwrap();
        let access = super::super::ClusterAccess::Kubeconfig {
            path: path.to_string_lossy().into_owned(),
            context: None,
        };
        let cluster = Cluster::connect(&access).await.unwrap();
        (server, cluster)
    }

    #[test]
    fn a_listing_keeps_each_object_as_sent_with_its_labels() {
        let body = r#"{"kind": "ConfigMapList", "metadata": {"resourceVersion": "7"}, "items": [
            {"metadata": {"name": "a", "labels": {"x": "1"}}, "data": {"k": "v"}},
            {"metadata": {"name": "b"}}
        ]}"#;
        let items = listed(body).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].labels.get("x").map(String::as_str), Some("1"));
        assert!(items[1].labels.is_empty());
        let object: DynamicObject = serde_json::from_str(items[0].text.get()).unwrap();
        assert_eq!(object.metadata.name.as_deref(), Some("a"));
        assert_eq!(object.data["data"]["k"], "v");
        assert!(listed(r#"{"items": [{"no metadata": 1}]}"#).is_err());
    }

    /// An apply against an API server that keeps answering 503, within an operation whose
    /// timeout is a second: the retries stop before it passes, and the error names the verb, the
    /// object, the last answer and the timeout that ended the retries.
    #[tokio::test]
    async fn the_operations_timeout_ends_the_retries_of_an_apply_and_says_so() {
        let (_server, cluster) = faulty("verb=patch,kind=configmaps,count=1000,status=503").await;
        let timeout = std::time::Duration::from_secs(1);
        let deadline = Deadline::at(
            std::time::Instant::now() + timeout,
            "timeouts.create = \"1s\"".into(),
        );
        let cluster = cluster.within(deadline);
        let owner = Owner::new("deployment", "default", "counter");
        let desired = [DesiredObject::new(
            Kind::ConfigMap,
            "default",
            "flink-counter-config",
            serde_json::json!({"data": {"k": "v"}}),
        )];
        let started = std::time::Instant::now();
        let (applied, error) = cluster.apply(&owner, &desired).await.unwrap_err();
        assert!(started.elapsed() < timeout, "{:?}", started.elapsed());
        assert_eq!(applied, 0);
        let message = error.to_string();
        assert!(
            message.starts_with("apply ConfigMap default/flink-counter-config: "),
            "{message}"
        );
        assert!(
            message.contains("(503)") || message.contains("503"),
            "{message}"
        );
        assert!(message.contains("the last of 3 tries"), "{message}");
        assert!(
            message
                .contains("the operation's timeout (timeouts.create = \"1s\") ended the retries"),
            "{message}"
        );
    }
}
