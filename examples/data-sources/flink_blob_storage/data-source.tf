# Blob storage managed by the platform team's workspace.
data "flink_blob_storage" "shared" {
  name      = "prod-state"
  namespace = "streaming"
}

resource "flink_deployment" "job" {
  name          = "job"
  namespace     = "streaming"
  flink_version = "2.3"
  artifact      = { jar_uri = "https://artifacts.example.com/job.jar" }
  blob_storage  = data.flink_blob_storage.shared.spec
}
