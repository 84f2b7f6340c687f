# Applies the module against a cluster and checks what it created, then destroys it. The provider
# finds the cluster through KUBE_CONFIG_PATH, as it would in a module's CI:
#   terraform init
#   KUBE_CONFIG_PATH=~/.kube/config terraform test -filter=tests/apply.tftest.hcl -var namespace=NS
# The acceptance tests run it against the Kubernetes API test server (tests/acceptance/modules.rs).
# The jars are placeholders nothing runs, so apply does not wait for the jobs.

variables {
  state_base_uri = "s3://flink-state/module-test"
  wait_for_jobs  = false
  deployments = {
    orders = { flink_version = "2.3", jar_uri = "https://artifacts.example.com/orders.jar", entry_class = "org.example.Orders" }
    fraud  = { flink_version = "1.20", jar_uri = "https://artifacts.example.com/fraud.jar", entry_class = "org.example.Fraud", tls = false }
  }
}

run "platform" {
  command = apply

  assert {
    condition     = startswith(output.deployments["orders"].rest_endpoint, "https://")
    error_message = "a TLS deployment's REST endpoint must be https"
  }
  assert {
    condition     = startswith(output.deployments["fraud"].rest_endpoint, "http://")
    error_message = "a deployment without TLS must be served over plain http"
  }
  assert {
    condition     = output.deployments["orders"].id != output.deployments["fraud"].id && length(output.deployments["orders"].job_id) == 32
    error_message = "each deployment has its own id and a pinned 32-digit job id"
  }
  assert {
    condition     = startswith(output.ca_certificate_pem, "-----BEGIN CERTIFICATE-----")
    error_message = "the module must export the CA certificate"
  }
}

run "created_in_the_cluster" {
  command = apply

  module {
    source = "./tests/verify"
  }

  variables {
    deployments = ["orders", "fraud"]
  }

  assert {
    condition     = data.flink_deployment.created["orders"].id == run.platform.deployments["orders"].id
    error_message = "the cluster must hold the orders deployment the module created"
  }
  assert {
    condition     = data.flink_deployment.created["orders"].tls.enabled && data.flink_deployment.created["fraud"].tls == null
    error_message = "TLS must be on exactly where the module asked for it"
  }
  assert {
    condition     = data.flink_deployment.created["orders"].blob_storage.base_uri == "s3://flink-state/module-test"
    error_message = "deployments must carry the platform's blob storage"
  }
  assert {
    condition     = data.flink_certificate_authority.created.ca_certificate_pem == run.platform.ca_certificate_pem
    error_message = "the authority in the cluster must be the one the module exported"
  }
}
