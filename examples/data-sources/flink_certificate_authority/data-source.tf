# An authority managed in another workspace: its spec turns TLS on for deployments here.
data "flink_certificate_authority" "platform" {
  name      = "platform"
  namespace = "streaming"
}

output "ca_certificate_pem" {
  value = data.flink_certificate_authority.platform.ca_certificate_pem
}
