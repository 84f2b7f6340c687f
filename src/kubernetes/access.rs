//! How the provider reaches the cluster: the resolved [`ClusterAccess`] (a kubeconfig, an
//! explicit API server, or the pod's service account) and the one [`Connection`] every resource
//! operation of a provider process shares, made on first use. The provider's configuration
//! resolves into them; resources only use them.

use super::{Cluster, KubeError};

/// Where the cluster is, once the configuration is known.
#[derive(Clone, PartialEq, Eq)]
pub enum ClusterAccess {
    /// A kubeconfig file, optionally with a context.
    Kubeconfig {
        /// File path.
        path: String,
        /// Context name.
        context: Option<String>,
    },
    /// An explicit API server.
    Explicit {
        /// API server URL.
        host: String,
        /// Bearer token.
        token: Option<String>,
        /// CA (PEM).
        ca_certificate: Option<String>,
        /// Client certificate and key (PEM).
        client_identity: Option<(String, String)>,
        /// Skip TLS verification.
        insecure: bool,
    },
    /// The pod's service account.
    InCluster,
}

impl std::fmt::Debug for ClusterAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClusterAccess::Kubeconfig { path, context } => f
                .debug_struct("Kubeconfig")
                .field("path", path)
                .field("context", context)
                .finish(),
            ClusterAccess::Explicit { host, insecure, .. } => f
                .debug_struct("Explicit")
                .field("host", host)
                .field("insecure", insecure)
                .finish_non_exhaustive(),
            ClusterAccess::InCluster => f.write_str("InCluster"),
        }
    }
}

/// The resolved provider configuration shared by every resource operation: how to reach the
/// cluster, and the connection once made.
pub struct Connection {
    /// How to reach the cluster.
    pub cluster: ClusterAccess,
    /// The connection, made on first use and shared by every operation of this run.
    connection: tokio::sync::OnceCell<Cluster>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // ClusterAccess may hold a token or key: never print it.
        f.debug_struct("Connection").finish_non_exhaustive()
    }
}

impl Connection {
    /// Configuration for `cluster`, not yet connected.
    pub fn new(cluster: ClusterAccess) -> Self {
        Connection {
            cluster,
            connection: tokio::sync::OnceCell::new(),
        }
    }

    /// The cluster connection, made on first use.
    pub async fn cluster(&self) -> Result<&Cluster, KubeError> {
        self.connection
            .get_or_try_init(|| Cluster::connect(&self.cluster))
            .await
    }
}
