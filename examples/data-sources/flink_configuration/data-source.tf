# Review the configuration a deployment would get, without a cluster.
data "flink_configuration" "review" {
  name                  = "orders-enrichment"
  namespace             = "streaming"
  flink_version         = "2.3"
  parallelism           = 4
  blob_storage_base_uri = "s3://flink-state/prod"
  flink_configuration = {
    "execution.checkpointing.interval" = "30 s"
  }
}

output "config_yaml" {
  value = data.flink_configuration.review.config_yaml
}
