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

provider "flink" {
  kubernetes = {
    config_path = var.kubeconfig
  }
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

output "kubernetes_ha" {
  value = flink_high_availability.kubernetes.spec
}

output "zookeeper_ha" {
  value = flink_high_availability.zookeeper.spec
}
