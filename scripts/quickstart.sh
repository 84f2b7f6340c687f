#!/usr/bin/env bash
# The README's main command: builds the provider, applies examples/quickstart with the real terraform
# CLI in a scratch directory, shows that a second plan is empty, and destroys what it created.
# KUBECONFIG_FOR_QUICKSTART=<path> points it at a real cluster.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
command -v terraform >/dev/null || { echo "terraform (1.11+) is not on PATH" >&2; exit 1; }
cargo build --release --manifest-path "$root/Cargo.toml" --bin terraform-provider-flink
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
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
vars=()
[ -n "${KUBECONFIG_FOR_QUICKSTART:-}" ] && vars=(-var "kubeconfig=$KUBECONFIG_FOR_QUICKSTART")
cd "$work"
echo "== terraform apply"
terraform apply -auto-approve -no-color "${vars[@]}"
echo "== terraform plan (must show no changes)"
terraform plan -no-color -detailed-exitcode "${vars[@]}"
echo "== terraform destroy"
terraform destroy -auto-approve -no-color "${vars[@]}"
