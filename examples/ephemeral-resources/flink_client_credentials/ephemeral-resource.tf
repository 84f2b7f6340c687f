resource "flink_certificate_authority" "platform" {
  name      = "platform"
  namespace = "streaming"
}

# The REST client key, read from the authority's Secret while Terraform runs and never stored.
# Taking name and namespace from the spec reads it only once the authority exists.
ephemeral "flink_client_credentials" "platform" {
  name      = flink_certificate_authority.platform.spec.name
  namespace = flink_certificate_authority.platform.spec.namespace
}

# Ephemeral values go where Terraform allows them, e.g. an ephemeral output of a module that
# hands the key to a REST client configured in the same run.
output "client_private_key_pem" {
  value     = ephemeral.flink_client_credentials.platform.client_private_key_pem
  sensitive = true
  ephemeral = true
}
