# <namespace>/<name>
terraform import flink_deployment.orders default/orders-enrichment
