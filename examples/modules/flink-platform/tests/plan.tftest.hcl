# Plan-only tests of the module's wiring, with a mocked provider: no cluster, no credentials.
# Terraform still loads the provider's schema, so `terraform init` must install it first.
#   terraform init && terraform test -filter=tests/plan.tftest.hcl

mock_provider "flink" {
  # Computed specs are unknown at plan unless the mock fills them in (Terraform 1.11+).
  mock_resource "flink_blob_storage" {
    override_during = plan
    defaults = {
      spec = { name = "platform", namespace = "team-a", base_uri = "s3://flink-state/team-a", config_map = "flink-platform-storage" }
    }
  }
}

variables {
  namespace      = "team-a"
  state_base_uri = "s3://flink-state/team-a"
  deployments = {
    orders = { flink_version = "2.3", jar_uri = "https://artifacts.example.com/orders.jar", parallelism = 4 }
    fraud  = { flink_version = "1.20", jar_uri = "https://artifacts.example.com/fraud.jar", tls = false }
  }
}

run "one_deployment_per_map_entry" {
  command = plan

  assert {
    condition     = toset(keys(flink_deployment.this)) == toset(["orders", "fraud"])
    error_message = "each entry of var.deployments must become one flink_deployment"
  }
  assert {
    condition     = flink_deployment.this["orders"].parallelism == 4 && flink_deployment.this["fraud"].parallelism == 1
    error_message = "parallelism must come from the entry, defaulting to 1"
  }
  assert {
    condition     = alltrue([for d in flink_deployment.this : d.namespace == "team-a"])
    error_message = "every deployment must live in the platform's namespace"
  }
}

run "tls_follows_each_entry" {
  command = plan

  assert {
    condition     = flink_deployment.this["orders"].tls.enabled
    error_message = "tls defaults to on"
  }
  assert {
    condition     = flink_deployment.this["fraud"].tls == null
    error_message = "tls = false must leave the deployment without TLS"
  }
}

run "deployments_share_the_platform_storage" {
  command = plan

  assert {
    condition     = flink_blob_storage.state.base_uri == "s3://flink-state/team-a"
    error_message = "the blob storage must use var.state_base_uri"
  }
  assert {
    condition     = alltrue([for d in flink_deployment.this : d.blob_storage == flink_blob_storage.state.spec])
    error_message = "every deployment must take the platform's blob storage spec"
  }
}

run "zookeeper_needs_its_quorum" {
  command = plan

  variables {
    high_availability = "zookeeper"
    zookeeper_quorum  = ["zk-0.zk:2181", "zk-1.zk:2181"]
  }

  assert {
    condition     = flink_high_availability.ha.type == "zookeeper" && flink_high_availability.ha.zookeeper.quorum == tolist(["zk-0.zk:2181", "zk-1.zk:2181"])
    error_message = "zookeeper HA must carry the quorum"
  }
}

run "kubernetes_ha_has_no_zookeeper" {
  command = plan

  assert {
    condition     = flink_high_availability.ha.type == "kubernetes" && flink_high_availability.ha.zookeeper == null
    error_message = "kubernetes HA must not set zookeeper"
  }
}
