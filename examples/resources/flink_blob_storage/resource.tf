variable "s3_secret_key" {
  type      = string
  sensitive = true
  ephemeral = true
}

# State of every deployment goes under s3://flink-state/prod/flink-jobs/namespaces/<ns>/deployments/<id>/.
resource "flink_blob_storage" "s3" {
  name              = "prod-state"
  namespace         = "streaming"
  base_uri          = "s3://flink-state/prod"
  endpoint          = "https://minio.storage:9000"
  path_style_access = true

  access_key = "flink-writer"
  # Write-only: reaches the Kubernetes Secret, never the Terraform state.
  secret_key_wo         = var.s3_secret_key
  secret_key_wo_version = 1
}
