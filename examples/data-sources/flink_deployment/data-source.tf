data "flink_deployment" "orders" {
  name      = "orders-enrichment"
  namespace = "streaming"
}

output "orders_job_id" {
  value = data.flink_deployment.orders.job_id
}
