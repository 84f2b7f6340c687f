#!/usr/bin/env bash
# The README's main command: builds the provider, starts the local Kubernetes API test server (unless
# KUBECONFIG_FOR_QUICKSTART=<path> points at a real cluster), applies examples/quickstart with the
# real terraform CLI, shows that a second plan is empty, makes drift with kubectl and shows the plan
# catching it, restores it, and destroys everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
command -v terraform >/dev/null || { echo "terraform (1.11+) is not on PATH" >&2; exit 1; }
cargo build --release --manifest-path "$root/Cargo.toml" -p terraform-provider-flink -p kube-test-server
work=$(mktemp -d)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
kubeconfig=${KUBECONFIG_FOR_QUICKSTART:-}
if [ -z "$kubeconfig" ]; then
  kubeconfig="$work/kubeconfig"
  "$root/target/release/kube-test-server" --listen 127.0.0.1:0 --kubeconfig "$kubeconfig" > "$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 50); do [ -s "$kubeconfig" ] && break; sleep 0.1; done
  echo "== local Kubernetes API test server: $(head -1 "$work/server.log")"
fi
cp "$root"/examples/quickstart/*.tf "$work/"
cat > "$work/terraform.tfrc" <<RC
provider_installation {
  dev_overrides {
    "flinkops/flink" = "$root/target/release"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$work/terraform.tfrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
vars=(-var "kubeconfig=$kubeconfig")
cd "$work"
echo "== terraform apply"
terraform apply -auto-approve -no-color "${vars[@]}"
echo "== terraform plan (must show no changes)"
terraform plan -no-color -detailed-exitcode "${vars[@]}"
echo "== drift: kubectl edits the HA ConfigMap; the plan shows it"
KUBECONFIG="$kubeconfig" kubectl patch configmap flink-ha-zookeeper-ha -p '{"data":{"zookeeper_path_root":"/edited"}}'
terraform plan -no-color "${vars[@]}" | grep -E 'outside Terraform|~ ' || true
echo "== terraform apply restores it"
terraform apply -auto-approve -no-color "${vars[@]}" | grep "Apply complete"
echo "== terraform destroy"
terraform destroy -auto-approve -no-color "${vars[@]}"
