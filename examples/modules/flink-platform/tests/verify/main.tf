# Reads back what the platform module created, through the provider's data sources, so that
# apply.tftest.hcl asserts on the cluster's objects and not only on the module's own outputs.

terraform {
  required_providers {
    flink = {
      source = "flinkops/flink"
    }
  }
}

variable "namespace" {
  type = string
}

variable "deployments" {
  description = "Names of the deployments to read."
  type        = set(string)
}

data "flink_deployment" "created" {
  for_each  = var.deployments
  name      = each.key
  namespace = var.namespace
}

data "flink_certificate_authority" "created" {
  name      = "platform"
  namespace = var.namespace
}

output "deployments" {
  value = data.flink_deployment.created
}

output "ca_certificate_pem" {
  value = data.flink_certificate_authority.created.ca_certificate_pem
}
