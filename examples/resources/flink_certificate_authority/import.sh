# <namespace>/<name>
terraform import flink_certificate_authority.platform streaming/platform
