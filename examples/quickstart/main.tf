terraform {
  required_providers {
    flink = {
      source = "flinkops/flink"
    }
  }
}

variable "kubeconfig" {
  description = "Kubeconfig of the cluster to run on; null uses KUBE_CONFIG_PATH."
  type        = string
  default     = null
}

variable "job_jar_uri" {
  description = "The job both deployments run (scripts/quickstart.sh builds and serves one on the local cluster)."
  type        = string
  default     = "https://repo1.maven.org/maven2/org/apache/flink/flink-examples-streaming/2.3.0/flink-examples-streaming-2.3.0-WordCount.jar"
}

variable "job_entry_class" {
  description = "Main class of the job."
  type        = string
  default     = "org.apache.flink.streaming.examples.wordcount.WordCount"
}

variable "state_base_uri" {
  description = "Where all deployment state goes. A file:// URI is this node's own disk, which only the local cluster's pods share (so they keep a writable root filesystem to reach it); on a real cluster use s3://..."
  type        = string
  default     = "file:///var/tmp/flink-quickstart"
}

variable "wordcount_parallelism" {
  description = "Parallelism of the wordcount job; changing it is a stateful upgrade (savepoint, then restore)."
  type        = number
  default     = 1
}

provider "flink" {
  kubernetes = {
    config_path = var.kubeconfig
  }
}

# Where all deployment state goes; local files for the local cluster, s3://... on a real one.
resource "flink_blob_storage" "state" {
  name     = "local-state"
  base_uri = var.state_base_uri
}

locals {
  # Node-local files are reached through the pod's root filesystem, which must then be writable;
  # every other store keeps the read-only default.
  pod = { read_only_root_filesystem = !startswith(var.state_base_uri, "file://") }
}

# One HA configuration per flavour, shared by the deployments of a team.
resource "flink_high_availability" "kubernetes" {
  name      = "kubernetes-ha"
  namespace = "default"
  type      = "kubernetes"
}

resource "flink_high_availability" "zookeeper" {
  name      = "zookeeper-ha"
  namespace = "default"
  type      = "zookeeper"
  zookeeper = {
    quorum = ["zk-0.zk:2181", "zk-1.zk:2181", "zk-2.zk:2181"]
  }
}

# A Flink application: JobManager and TaskManagers, its Services and its configuration, with state
# under the blob storage layout, and Kubernetes HA (its own ServiceAccount and Role; Flink keeps
# leader and checkpoint pointers in ConfigMaps, removed on destroy).
resource "flink_deployment" "wordcount" {
  name          = "wordcount"
  flink_version = "2.3"
  artifact = {
    jar_uri     = var.job_jar_uri
    entry_class = var.job_entry_class
  }
  parallelism = var.wordcount_parallelism
  resources = {
    jobmanager  = { memory = "1024m" }
    taskmanager = { memory = "1024m" }
  }
  blob_storage      = flink_blob_storage.state.spec
  high_availability = flink_high_availability.kubernetes.spec
  pod               = local.pod
}

# The platform's TLS identity: a signing CA and a REST client certificate, keys only in a Secret.
resource "flink_certificate_authority" "platform" {
  name = "platform"
}

# A second application with mutual TLS inside the cluster and on its REST API.
resource "flink_deployment" "orders" {
  name          = "orders"
  flink_version = "2.3"
  artifact = {
    jar_uri     = var.job_jar_uri
    entry_class = var.job_entry_class
  }
  resources = {
    jobmanager  = { memory = "1024m" }
    taskmanager = { memory = "1024m" }
  }
  blob_storage = flink_blob_storage.state.spec
  pod          = local.pod
  tls = {
    enabled   = true
    authority = flink_certificate_authority.platform.spec
  }
}

output "orders_rest_endpoint" {
  value = flink_deployment.orders.rest_endpoint
}

output "orders_tls_certificates" {
  value = flink_deployment.orders.tls_certificates
}

output "job_status" {
  value = {
    wordcount = flink_deployment.wordcount.status
    orders    = flink_deployment.orders.status
  }
}

output "wordcount_last_savepoint" {
  value = flink_deployment.wordcount.last_savepoint
}

output "wordcount_id" {
  value = flink_deployment.wordcount.id
}

output "orders_id" {
  value = flink_deployment.orders.id
}

output "wordcount_rest_endpoint" {
  value = flink_deployment.wordcount.rest_endpoint
}

output "blob_storage" {
  value = flink_blob_storage.state.spec
}

output "kubernetes_ha" {
  value = flink_high_availability.kubernetes.spec
}

output "zookeeper_ha" {
  value = flink_high_availability.zookeeper.spec
}
