# A hardened production deployment: pods that pass Pod Security "restricted" (the provider's
# defaults), state on S3 through the official image's Presto plugin, Kubernetes HA with its own
# Role, mutual TLS, the web UI behind an Ingress that passes TLS through (its controller let in by
# the deployment's NetworkPolicy), the job jar inside a pinned image, and a metrics API key read
# from a Secret instead of the configuration.

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

variable "namespace" {
  description = "Namespace of the job (label it pod-security.kubernetes.io/enforce=restricted)."
  type        = string
  default     = "streaming"
}

variable "state_base_uri" {
  description = "Where checkpoints, savepoints and HA data go."
  type        = string
  default     = "s3://example-flink-state/prod"
}

variable "s3_access_key" {
  description = "Access key of the state bucket."
  type        = string
  default     = "flink-writer"
}

variable "s3_secret_key" {
  description = "Secret key of the state bucket: written to a Kubernetes Secret, never to the state."
  type        = string
  sensitive   = true
  ephemeral   = true
  default     = "change-me"
}

variable "image" {
  description = "The job's image, built FROM flink:2.3.0-scala_2.12-java17 with the jar at /opt/flink/usrlib/orders.jar."
  type        = string
  default     = "registry.example.com/streaming/orders:1.4.0"
}

variable "ingress_namespace" {
  description = "Namespace of the ingress controller that serves the Flink web UI."
  type        = string
  default     = "ingress-nginx"
}

provider "flink" {
  kubernetes = {
    config_path = var.kubeconfig
  }
}

resource "flink_blob_storage" "state" {
  name      = "prod-state"
  namespace = var.namespace
  base_uri  = var.state_base_uri
  region    = "eu-west-1"

  access_key            = var.s3_access_key
  secret_key_wo         = var.s3_secret_key
  secret_key_wo_version = 1
  # Checks the bucket at apply; off here so the example plans without one.
  verify = false
}

resource "flink_high_availability" "kubernetes" {
  name      = "kubernetes-ha"
  namespace = var.namespace
  type      = "kubernetes"
}

resource "flink_certificate_authority" "platform" {
  name      = "platform"
  namespace = var.namespace
}

resource "flink_deployment" "orders" {
  name      = "orders"
  namespace = var.namespace
  # A full release: the image and its plugin jars are exactly this one.
  flink_version = "2.3.0"
  image         = var.image
  artifact = {
    jar_uri     = "local:///opt/flink/usrlib/orders.jar"
    entry_class = "com.example.Orders"
  }
  parallelism = 4
  task_slots  = 2
  resources = {
    jobmanager  = { cpu = 1, memory = "2g" }
    taskmanager = { cpu = 2, memory = "4g" }
  }
  flink_configuration = {
    "execution.checkpointing.interval"                 = "30 s"
    "state.backend.type"                               = "rocksdb"
    "metrics.reporter.dd.factory.class"                = "org.apache.flink.metrics.datadog.DatadogHttpReporterFactory"
    "metrics.reporter.dd.dataCenter"                   = "EU"
    "restart-strategy.type"                            = "exponential-delay"
    "restart-strategy.exponential-delay.jitter-factor" = "0.1"
    "state.backend.rocksdb.localdir"                   = "/rocksdb"
  }
  # The reporter's key comes from the Secret "datadog" (made outside Terraform), as a dynamic
  # property from the pods' environment: never in the ConfigMap, the state or a plan.
  flink_configuration_from_secrets = {
    "metrics.reporter.dd.apikey" = { secret = "datadog", key = "api-key" }
  }
  blob_storage      = flink_blob_storage.state.spec
  high_availability = flink_high_availability.kubernetes.spec
  tls = {
    enabled   = true
    authority = flink_certificate_authority.platform.spec
  }
  # The web UI at https://orders.flink.example.com through ingress-nginx, TLS passed through to the
  # JobManager (which still asks for the authority's client certificate); the deployment's
  # NetworkPolicy admits the controller's namespace.
  ingress = {
    class_name           = "nginx"
    host                 = "orders.flink.example.com"
    controller_namespace = var.ingress_namespace
  }
  pod = {
    image_pull_secrets = ["registry"]
    node_selector      = { "node.kubernetes.io/pool" = "streaming" }
    tolerations = [
      { key = "dedicated", operator = "Equal", value = "streaming", effect = "NoSchedule" },
    ]
  }
  # What the pod options do not cover, pasted as a pod template (it could as well be
  # yamldecode(file("pod-template.yaml"))): RocksDB on a local disk, a log shipper beside Flink,
  # TaskManagers spread over zones. Flink's container is "flink-main-container"; the provider's
  # own settings win, and a value that contradicts them fails the plan on its path.
  pod_template = {
    spec = {
      containers = [
        {
          name         = "flink-main-container"
          volumeMounts = [{ name = "rocksdb", mountPath = "/rocksdb" }]
        },
        {
          name  = "log-shipper"
          image = "fluent/fluent-bit:3.2"
          resources = {
            requests = { cpu = "50m", memory = "64Mi" }
            limits   = { cpu = "200m", memory = "128Mi" }
          }
          volumeMounts = [{ name = "flink-log", mountPath = "/opt/flink/log", readOnly = true }]
        },
      ]
      volumes = [{ name = "rocksdb", emptyDir = { sizeLimit = "50Gi" } }]
    }
  }
  taskmanager_pod_template = {
    spec = {
      topologySpreadConstraints = [{
        maxSkew           = 1
        topologyKey       = "topology.kubernetes.io/zone"
        whenUnsatisfiable = "ScheduleAnyway"
        labelSelector     = { matchLabels = { component = "taskmanager" } }
      }]
    }
  }
  wait_timeout = "10m"
}

output "rest_endpoint" {
  value = flink_deployment.orders.rest_endpoint
}

output "job_id" {
  value = flink_deployment.orders.job_id
}
