# The signing CA and REST client certificate of the platform; the private keys stay in the
# Kubernetes Secret flink-platform-ca.
resource "flink_certificate_authority" "platform" {
  name      = "platform"
  namespace = "streaming"
}

# A deployment with mutual TLS inside the cluster and on its REST API.
resource "flink_deployment" "orders" {
  name          = "orders"
  namespace     = "streaming"
  flink_version = "2.3"
  artifact = {
    jar_uri = "https://repo.example.com/jobs/orders-1.4.0.jar"
  }
  tls = {
    enabled   = true
    authority = flink_certificate_authority.platform.spec
  }
}
