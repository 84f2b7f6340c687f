# A root module that uses the flink-platform module: one team's platform with two jobs.

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

variable "wait_for_jobs" {
  description = "Whether apply waits until each job runs (false where pods cannot start, e.g. a cluster without nodes)."
  type        = bool
  default     = true
}

variable "namespace" {
  description = "Namespace of the team's platform."
  type        = string
  default     = "default"
}

provider "flink" {
  kubernetes = {
    config_path = var.kubeconfig
  }
}

module "platform" {
  source = "../modules/flink-platform"

  namespace      = var.namespace
  state_base_uri = "file:///tmp/flink-platform"
  wait_for_jobs  = var.wait_for_jobs
  deployments = {
    orders = {
      flink_version = "2.3"
      jar_uri       = "https://artifacts.example.com/orders-1.4.0.jar"
      entry_class   = "com.example.Orders"
      parallelism   = 2
      configuration = {
        "execution.checkpointing.interval" = "30 s"
      }
    }
    fraud = {
      flink_version = "1.20"
      jar_uri       = "https://artifacts.example.com/fraud-2.0.1.jar"
      tls           = false
    }
  }
}

output "deployments" {
  value = module.platform.deployments
}
