#!/usr/bin/env bash
# Downloads the real Apache Flink jars of one version (PyPI's apache-flink-libraries wheel) into a
# cache shared by tests, benchmarks and the local cluster, and prints the directory holding lib/ and bin/.
# Usage: scripts/fetch-flink.sh 2.3.0
# Layout: $FLINK_DIST_CACHE/<version>/{lib,bin}/ (default cache: ~/.cache/flinkops/flink).
set -euo pipefail
version=${1:?usage: fetch-flink.sh VERSION}
cache=${FLINK_DIST_CACHE:-$HOME/.cache/flinkops/flink}
dest="$cache/$version"
if [ -f "$dest/.complete" ]; then echo "$dest"; exit 0; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "apache-flink-libraries==$version" >&2 \
  || python3 -m pip download --quiet --no-deps -d "$tmp" "apache-flink-libraries==$version" >&2
archive=$(ls "$tmp"/apache[-_]flink[-_]libraries-* | head -1)
mkdir -p "$tmp/x"
case "$archive" in
  *.whl) python3 -c 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$archive" "$tmp/x" ;;
  *.tar.gz) tar -xzf "$archive" -C "$tmp/x" ;;
esac
lib=$(find "$tmp/x" -type d -path '*pyflink/lib' | head -1)
bin=$(find "$tmp/x" -type d -path '*pyflink/bin' | head -1)
[ -n "$lib" ] || { echo "no pyflink/lib in $archive" >&2; exit 1; }
rm -rf "$dest"; mkdir -p "$dest"
mv "$lib" "$dest/lib"
[ -n "$bin" ] && mv "$bin" "$dest/bin"
opt=$(find "$tmp/x" -type d -path '*pyflink/opt' | head -1)
[ -n "$opt" ] && mv "$opt" "$dest/opt"
touch "$dest/.complete"
echo "$dest"
