data "flink_high_availability" "shared" {
  name      = "zookeeper-ha"
  namespace = "streaming"
}

output "zookeeper_quorum" {
  value = data.flink_high_availability.shared.spec.zookeeper_quorum
}
