terraform {
  required_providers {
    flink = {
      source = "flinkops/flink"
    }
  }
}

provider "flink" {
  kubernetes = {
    config_path    = "~/.kube/config"
    config_context = "prod"
  }
}
