# <namespace>/<name>
terraform import flink_blob_storage.s3 streaming/prod-state
