# With flink_blob_storage.state and flink_deployment.orders of the flink_deployment example.

# A savepoint of the orders job before a release, kept in state; the job keeps running.
resource "flink_savepoint" "before_release" {
  namespace  = flink_deployment.orders.namespace
  deployment = flink_deployment.orders.name
  triggers = {
    release = "1.4.0"
  }
}

# A copy of the job that starts from it.
resource "flink_deployment" "orders_replay" {
  name                   = "orders-replay"
  flink_version          = "2.3"
  initial_savepoint_path = flink_savepoint.before_release.location
  artifact = {
    jar_uri = "https://artifacts.example.com/orders-enrichment-1.4.0.jar"
  }
  blob_storage = flink_blob_storage.state.spec
}
