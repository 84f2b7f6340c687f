#!/usr/bin/env bash
# Regenerates src/flink/options/<minor>.tsv, the configuration option catalogue of every supported
# Flink version, from the real jars (scripts/fetch-flink.sh downloads them).
# Usage: tools/flink-options/generate.sh [VERSION...]   (default: the patch release tested per minor)
# Scanned: flink-dist (runtime, state backends, Kubernetes, HA) and the table API jar (table.*).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
versions=("$@")
if [ ${#versions[@]} -eq 0 ]; then
  # Keep in step with FlinkVersion::ALL (src/flink/versions.rs).
  versions=(1.19.3 1.20.5 2.0.2 2.1.3 2.2.1 2.3.0)
fi
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
for v in "${versions[@]}"; do
  dist=$("$root/scripts/fetch-flink.sh" "$v")
  lib="$dist/lib"
  javac -nowarn -d "$build/$v" -cp "$lib/*" "$root/tools/flink-options/OptionCatalogue.java"
  jars=("$lib"/flink-dist-*.jar)
  jars+=("$lib"/flink-table-api-java-uber-*.jar)
  out="$root/src/flink/options/${v%.*}.tsv"
  java -cp "$lib/*:$build/$v" OptionCatalogue "${jars[@]}" > "$out.tmp"
  grep -q "^#flink-version	$v$" "$out.tmp" || { echo "catalogue of $v names another version" >&2; exit 1; }
  mv "$out.tmp" "$out"
  echo "$out: $(grep -vc '^#' "$out") keys" >&2
done
