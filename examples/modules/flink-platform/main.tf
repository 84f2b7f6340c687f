# A Flink platform for one team: blob storage, high availability and a certificate authority,
# shared by a set of deployments given as a map. Each deployment gets the platform's specs, so a
# change to the platform (a new storage base, a renewed CA) reaches every deployment in one plan.

terraform {
  required_providers {
    flink = {
      source = "flinkops/flink"
    }
  }
}

variable "namespace" {
  description = "Kubernetes namespace of the platform and its deployments."
  type        = string
}

variable "state_base_uri" {
  description = "Base URI for checkpoints, savepoints and HA data, e.g. s3://flink-state/team-a."
  type        = string
}

variable "high_availability" {
  description = "HA flavour: kubernetes, or zookeeper with zookeeper_quorum set."
  type        = string
  default     = "kubernetes"
}

variable "zookeeper_quorum" {
  description = "ZooKeeper servers as host:port, when high_availability is zookeeper."
  type        = list(string)
  default     = []
}

variable "wait_for_jobs" {
  description = "Whether apply waits until each job runs."
  type        = bool
  default     = true
}

variable "deployments" {
  description = "Deployments by name."
  type = map(object({
    flink_version = string
    jar_uri       = string
    entry_class   = optional(string)
    main_args     = optional(list(string), [])
    parallelism   = optional(number, 1)
    tls           = optional(bool, true)
    configuration = optional(map(string), {})
  }))
}

resource "flink_blob_storage" "state" {
  name      = "platform"
  namespace = var.namespace
  base_uri  = var.state_base_uri
}

resource "flink_high_availability" "ha" {
  name      = "platform"
  namespace = var.namespace
  type      = var.high_availability
  zookeeper = var.high_availability == "zookeeper" ? { quorum = var.zookeeper_quorum } : null
}

resource "flink_certificate_authority" "ca" {
  name      = "platform"
  namespace = var.namespace
}

resource "flink_deployment" "this" {
  for_each = var.deployments

  name          = each.key
  namespace     = var.namespace
  flink_version = each.value.flink_version
  artifact = {
    jar_uri     = each.value.jar_uri
    entry_class = each.value.entry_class
    main_args   = each.value.main_args
  }
  parallelism         = each.value.parallelism
  wait_for_job        = var.wait_for_jobs
  flink_configuration = each.value.configuration
  blob_storage        = flink_blob_storage.state.spec
  high_availability   = flink_high_availability.ha.spec
  tls = each.value.tls ? {
    enabled   = true
    authority = flink_certificate_authority.ca.spec
  } : null
}

output "deployments" {
  description = "Per deployment: id, job id and REST endpoint."
  value = {
    for name, d in flink_deployment.this : name => {
      id            = d.id
      job_id        = d.job_id
      rest_endpoint = d.rest_endpoint
    }
  }
}

output "ca_certificate_pem" {
  description = "The CA that signs the deployments' REST certificates."
  value       = flink_certificate_authority.ca.ca_certificate_pem
}
