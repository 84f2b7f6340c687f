#!/usr/bin/env bash
# The README's main command: builds the provider and the Kubernetes API test server, packages the
# provider as a release (scripts/release.sh, signed with a throwaway key) into a filesystem mirror
# that `terraform init` installs it from, as users install it; starts the server with its local kubelet (pods run as real Flink processes; needs root), builds a small
# streaming job and serves it, applies examples/quickstart with the real terraform CLI (apply waits
# until both jobs run, one of them behind mutual TLS), shows that a second plan is empty, upgrades
# one job statefully (savepoint, then restore), makes drift with kubectl and shows the plan
# catching it, restores it, and destroys everything (each job leaving a final savepoint).
# KUBECONFIG_FOR_QUICKSTART=<path> applies to a real cluster instead (with the example's public job);
# QUICKSTART_KEEP=1 pauses while the jobs run, to look at them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
command -v terraform >/dev/null || { echo "terraform (1.11+) is not on PATH" >&2; exit 1; }
# The local kubelet enforces the deployments' NetworkPolicies with nftables.
if [ -z "${KUBECONFIG_FOR_QUICKSTART:-}" ] && ! command -v nft >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables >/dev/null
fi
cargo build --release --manifest-path "$root/Cargo.toml" -p terraform-provider-flink -p kube-test-server
# Not under /tmp: the pods mount an emptyDir at /tmp, which would hide their own files.
work=$(mktemp -d -p /var/tmp)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
vars=()
kubeconfig=${KUBECONFIG_FOR_QUICKSTART:-}
if [ -z "$kubeconfig" ]; then
  kubeconfig="$work/kubeconfig"
  if [ "$(id -u)" -ne 0 ]; then
    echo "the local kubelet needs root to give pods their namespaces: run as root" >&2
    exit 1
  fi
  "$root/target/release/kube-test-server" --listen 127.0.0.1:0 --kubeconfig "$kubeconfig" \
    --run-pods --pods-dir "$work/pods" > "$work/server.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$kubeconfig" ] && break; sleep 0.1; done
  [ -s "$kubeconfig" ] || { cat "$work/server.log" >&2; exit 1; }
  echo "== local cluster: $(head -1 "$work/server.log"), pods run as real Flink processes"
  # The job: a small stateful stream compiled against the real Flink jars, served to the pods.
  flink_home=$("$root/scripts/fetch-flink.sh" 2.3.0)
  mkdir -p "$work/job/classes" "$work/www"
  cat > "$work/job/Counter.java" <<'JAVA'
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.connector.source.lib.NumberSequenceSource;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

public class Counter {
    public static void main(String[] args) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.enableCheckpointing(2000);
        env.fromSource(new NumberSequenceSource(0, Long.MAX_VALUE), WatermarkStrategy.noWatermarks(), "numbers")
            .filter(x -> x < 0)
            .print();
        env.execute("counter");
    }
}
JAVA
  javac -cp "$flink_home/lib/*" -d "$work/job/classes" "$work/job/Counter.java"
  jar cf "$work/www/counter.jar" -C "$work/job/classes" .
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("",0)); print(s.getsockname()[1])')
  python3 -m http.server "$port" --bind 0.0.0.0 --directory "$work/www" > "$work/http.log" 2>&1 &
  pids+=($!)
  vars+=(-var "job_jar_uri=http://10.245.0.1:$port/counter.jar" -var "job_entry_class=Counter")
fi
cp "$root"/examples/quickstart/*.tf "$work/"
# The provider reaches Terraform as a release does: packaged in the registry's layout, signed (a
# throwaway key here; a publisher's own key for real), placed in a filesystem mirror, and
# installed by `terraform init`, which writes .terraform.lock.hcl with the package's hash.
export GNUPGHOME="$work/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'quickstart release key <quickstart@flinkops.invalid>' rsa2048 sign never
# The agent gpg started for signing goes before the work directory holding its socket.
trap 'gpgconf --kill gpg-agent 2>/dev/null || true; cleanup' EXIT
case "$(uname -m)" in
  x86_64) platform=linux_amd64 ;;
  aarch64) platform=linux_arm64 ;;
  *) echo "no release platform for $(uname -m)" >&2; exit 1 ;;
esac
dist=$("$root/scripts/release.sh" --gpg-key quickstart@flinkops.invalid --platforms "$platform" \
  --binary "$root/target/release/terraform-provider-flink" --out "$work/dist")
mirror="$work/mirror/registry.terraform.io/flinkops/flink"
mkdir -p "$mirror"
cp "$dist"/terraform-provider-flink_*_"$platform".zip "$mirror/"
echo "== release: $(cd "$dist" && ls | paste -sd' ')"
cat > "$work/terraform.tfrc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$work/mirror"
    include = ["registry.terraform.io/flinkops/flink"]
  }
  direct {
    exclude = ["registry.terraform.io/flinkops/flink"]
  }
}
RC
export TF_CLI_CONFIG_FILE="$work/terraform.tfrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
export KUBECONFIG="$kubeconfig"
vars+=(-var "kubeconfig=$kubeconfig")
# The deployments' state on this node's disk, where the pods (uid 9999) may write it: outside
# the pods' own /tmp, and reachable through the private work directory.
mkdir -p "$work/state" && chmod 0777 "$work/state" && chmod 0711 "$work"
vars+=(-var "state_base_uri=file://$work/state")
cd "$work"
echo "== terraform init (from the filesystem mirror)"
terraform init -no-color > "$work/init.log" || { cat "$work/init.log" >&2; exit 1; }
grep -E "Installing|Installed|successfully initialized" "$work/init.log"
grep -A4 'provider "registry.terraform.io/flinkops/flink"' .terraform.lock.hcl
start=$(date +%s)
echo "== terraform apply"
terraform apply -auto-approve -no-color "${vars[@]}"
if [ -z "${KUBECONFIG_FOR_QUICKSTART:-}" ]; then
  echo "== apply waited until Flink ran both jobs: $(terraform output -json job_status)"
  # The REST APIs through `kubectl port-forward` to each deployment's REST Service, as on a real
  # cluster (the server forwards to the JobManager pod's address).
  port_forward() { # port_forward <service> <local port>
    kubectl port-forward "service/$1" "$2:8081" > "$work/forward-$1.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do grep -q "Forwarding from" "$work/forward-$1.log" && return 0; sleep 0.1; done
    cat "$work/forward-$1.log" >&2
    return 1
  }
  free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
  wordcount_port=$(free_port)
  orders_port=$(free_port)
  port_forward flink-wordcount-rest "$wordcount_port"
  port_forward flink-orders-rest "$orders_port"
  for secret_key in ca.crt client.crt client.key; do
    kubectl get secret flink-platform-ca -o "jsonpath={.data.${secret_key//./\\.}}" | base64 -d > "$work/$secret_key"
  done
  orders_rest() {
    curl -sf --cacert "$work/ca.crt" --cert "$work/client.crt" --key "$work/client.key" \
      "https://localhost:$orders_port$1"
  }
  echo "wordcount (kubectl port-forward service/flink-wordcount-rest $wordcount_port:8081): $(curl -sf "http://localhost:$wordcount_port/jobs/overview")"
  echo "orders (kubectl port-forward service/flink-orders-rest $orders_port:8081, mutual TLS): $(orders_rest /jobs/overview)"
  echo "orders without a client certificate: $(curl -sk "https://localhost:$orders_port/overview" >/dev/null 2>&1 && echo answered || echo refused)"
  echo "wordcount's Kubernetes HA: Flink's own ConfigMaps (leader election as its JobManager's ServiceAccount, flink-wordcount-jobmanager):"
  kubectl get configmaps -l "app=$(terraform output -raw wordcount_id),type=flink-native-kubernetes"
  kubectl get pods -o 'custom-columns=POD:.metadata.name,IP:.status.podIP,READY:.status.containerStatuses[0].ready,RESTARTS:.status.containerStatuses[0].restartCount'
  echo "== both jobs running $(( $(date +%s) - start )) s after terraform apply started"
  if [ -n "${QUICKSTART_KEEP:-}" ]; then
    echo "Flink web UI of wordcount: http://localhost:$wordcount_port (kubectl port-forward runs); KUBECONFIG=$kubeconfig kubectl get pods,services"
    echo "press Enter to go on (drift, restore, destroy)"
    read -r _
  fi
fi
# Flink REST answers read with python3 (on every machine the quickstart runs on).
running_job() { python3 -c 'import json,sys; print(next(j["jid"] for j in json.load(sys.stdin)["jobs"] if j["state"] == "RUNNING"))'; }
savepoint_trigger() { python3 -c 'import json,sys; print(max(c["trigger_timestamp"] for c in json.load(sys.stdin)["history"] if c["is_savepoint"]))'; }
last_subtask_running() { # last_subtask_running <rest url> <job id>: Flink's epoch ms
  python3 - "$1" "$2" <<'PY'
import json, sys, urllib.request
url, job = sys.argv[1], sys.argv[2]
get = lambda path: json.load(urllib.request.urlopen(url + path))
vertices = get(f"/jobs/{job}")["vertices"]
print(max(s["timestamps"]["RUNNING"] for v in vertices
          for s in get(f"/jobs/{job}/vertices/{v['id']}/subtasktimes")["subtasks"]))
PY
}
echo "== terraform plan (must show no changes)"
terraform plan -no-color -detailed-exitcode "${vars[@]}"
echo "== stateful upgrade: wordcount parallelism 1 -> 2 (savepoint, then the new job restores from it)"
vars+=(-var "wordcount_parallelism=2")
upgrade_start=$(date +%s)
if [ -n "${wordcount_port:-}" ]; then
  # The downtime from Flink's own timestamps: the old job's savepoint trigger, read from the old
  # JobManager while it still answers, to the last subtask of the restored job RUNNING.
  old_job=$(curl -sf "http://localhost:$wordcount_port/jobs/overview" | running_job)
  ( while :; do
      curl -sf "http://localhost:$wordcount_port/jobs/$old_job/checkpoints" | savepoint_trigger > "$work/trigger.next" \
        && mv "$work/trigger.next" "$work/trigger"
      sleep 0.1
    done ) 2>/dev/null &
  trigger_watch=$!
fi
terraform apply -auto-approve -no-color "${vars[@]}" | grep -E "Modifying|Modifications complete|Apply complete"
echo "wordcount restored from $(terraform output -raw wordcount_last_savepoint): $(terraform output -json job_status)"
echo "== the stateful upgrade took $(( $(date +%s) - upgrade_start )) s, the new job running"
if [ -n "${trigger_watch:-}" ]; then
  kill "$trigger_watch" 2>/dev/null || true
  new_port=$(free_port)
  port_forward flink-wordcount-rest "$new_port"
  new_job=$(curl -sf "http://localhost:$new_port/jobs/overview" | running_job)
  running=$(last_subtask_running "http://localhost:$new_port" "$new_job")
  if [ -s "$work/trigger" ]; then
    echo "== downtime of the stateful upgrade, from Flink's timestamps (savepoint triggered -> every task of the restored job RUNNING): $(python3 -c "print(f'{($running - $(cat "$work/trigger")) / 1000:.1f}')") s; the same job and steps by hand with Flink alone: docs/benchmarks.md"
  else
    echo "== downtime not measured: the old JobManager showed no savepoint while it ran"
  fi
fi
echo "== drift: kubectl edits the HA ConfigMap; the plan shows it"
kubectl patch configmap flink-ha-zookeeper-ha -p '{"data":{"zookeeper_path_root":"/edited"}}'
terraform plan -no-color "${vars[@]}" | grep -E 'outside Terraform|~ ' || true
echo "== terraform apply restores it"
terraform apply -auto-approve -no-color "${vars[@]}" | grep "Apply complete"
echo "== terraform destroy"
wordcount_id=$(terraform output -raw wordcount_id)
terraform destroy -auto-approve -no-color "${vars[@]}"
echo "Flink's HA ConfigMaps left: $(kubectl get configmaps -l "app=$wordcount_id,type=flink-native-kubernetes" -o name | wc -l)"
