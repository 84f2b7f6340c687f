resource "flink_blob_storage" "state" {
  name     = "prod-state"
  base_uri = "s3://flink-state/prod"
}

resource "flink_high_availability" "k8s" {
  name = "kubernetes-ha"
  type = "kubernetes"
}

resource "flink_deployment" "orders" {
  name          = "orders-enrichment"
  flink_version = "2.3"

  # Lifecycle: a change that rolls the pods stops the job with a savepoint (into the blob storage
  # layout) and the new job restores from it; "SUSPENDED" stops with a savepoint and frees the pods.
  state            = "RUNNING"
  upgrade_strategy = "STATEFUL"
  restore_strategy = "LATEST_STATE"

  artifact = {
    jar_uri     = "https://artifacts.example.com/orders-enrichment-1.4.0.jar"
    entry_class = "com.example.orders.Enrichment"
    main_args   = ["--topic", "orders"]
    # Checked by the download's init container before the JobManager starts.
    sha256 = "3f0c6a5e2f8b1d4c9e7a6b5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b"
    # The init container's image, from the cluster's own registry.
    fetcher_image = "registry.example.com/mirror/busybox:1.36"
  }

  parallelism = 4
  task_slots  = 2

  resources = {
    jobmanager  = { cpu = 1, memory = "1600m" }
    taskmanager = { cpu = 2, memory = "4g" }
  }

  flink_configuration = {
    "execution.checkpointing.interval" = "30 s"
    "state.backend.type"               = "rocksdb"
  }

  # Secret values stay in their Kubernetes Secret: Flink gets them as dynamic properties from the
  # containers' environment; the ConfigMap and the state hold only the Secret's name and key.
  flink_configuration_from_secrets = {
    "metrics.reporter.dd.apikey" = { secret = "datadog", key = "api-key" }
  }

  logging = {
    root_level = "INFO"
    loggers    = { "org.apache.kafka" = "WARN" }
  }

  pod = {
    labels = { team = "orders" }
  }

  # The web UI and REST API from outside the cluster: an Ingress to flink-<name>-rest that ends
  # TLS with the certificate in the Secret; the controller's namespace gets through the
  # NetworkPolicy. With the deployment's tls on, it would pass TLS through instead.
  ingress = {
    class_name           = "nginx"
    host                 = "orders.flink.example.com"
    tls_secret           = "orders-flink-example-com-tls"
    controller_namespace = "ingress-nginx"
  }

  blob_storage      = flink_blob_storage.state.spec
  high_availability = flink_high_availability.k8s.spec
}

# A jar built into the image (FROM flink:2.3, COPY clicks.jar /opt/flink/usrlib/): nothing to
# download, no init container.
resource "flink_deployment" "clicks" {
  name          = "clicks"
  flink_version = "2.3"
  image         = "registry.example.com/clicks:1.0.0"

  artifact = {
    jar_uri     = "local:///opt/flink/usrlib/clicks.jar"
    entry_class = "com.example.clicks.Sessions"
  }
}
