# <namespace>/<name>
terraform import flink_high_availability.zookeeper streaming/zookeeper-ha
