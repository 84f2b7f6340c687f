# Flink's native Kubernetes HA; each deployment gets its own ServiceAccount, Role and RoleBinding.
resource "flink_high_availability" "kubernetes" {
  name      = "kubernetes-ha"
  namespace = "streaming"
  type      = "kubernetes"
}

# ZooKeeper HA; each deployment lives under <path_root>/<deployment id>.
resource "flink_high_availability" "zookeeper" {
  name      = "zookeeper-ha"
  namespace = "streaming"
  type      = "zookeeper"
  zookeeper = {
    quorum    = ["zk-0.zk.streaming:2181", "zk-1.zk.streaming:2181", "zk-2.zk.streaming:2181"]
    path_root = "/flink"
  }
  storage_dir = "s3://flink-ha/streaming"
}
