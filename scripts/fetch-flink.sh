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
# Newer releases ship a wheel (pyflink/lib), older ones only an sdist (deps/lib). The file is taken
# from the package index's simple page: `pip download` would try to build an sdist's metadata, which
# fails for this package. The sha256 the index gives is checked.
python3 - "$version" "$tmp" <<'PY'
import hashlib, os, re, sys, urllib.request
version, tmp = sys.argv[1], sys.argv[2]
index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
with urllib.request.urlopen(f"{index}/apache-flink-libraries/") as r:
    page = r.read().decode()
links = re.findall(r'href="([^"]*/(apache[-_]flink[-_]libraries-' + re.escape(version) + r'[-.][^"#/]*)#sha256=([0-9a-f]+))"', page)
if not links:
    sys.exit(f"apache-flink-libraries {version} is not on the package index")
links.sort(key=lambda l: not l[1].endswith(".whl"))
url, name, sha = links[0]
path = os.path.join(tmp, name)
urllib.request.urlretrieve(url, path)
digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
if digest != sha:
    sys.exit(f"{name}: sha256 {digest} does not match the index's {sha}")
PY
archive=$(ls "$tmp"/apache[-_]flink[-_]libraries-* | head -1)
mkdir -p "$tmp/x"
case "$archive" in
  *.whl) python3 -c 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$archive" "$tmp/x" ;;
  *.tar.gz) tar -xzf "$archive" -C "$tmp/x" ;;
esac
lib=$(find "$tmp/x" -type d \( -path '*pyflink/lib' -o -path '*/deps/lib' \) | head -1)
bin=$(find "$tmp/x" -type d \( -path '*pyflink/bin' -o -path '*/deps/bin' \) | head -1)
[ -n "$lib" ] || { echo "no pyflink/lib in $archive" >&2; exit 1; }
rm -rf "$dest"; mkdir -p "$dest"
mv "$lib" "$dest/lib"
[ -n "$bin" ] && mv "$bin" "$dest/bin"
opt=$(find "$tmp/x" -type d \( -path '*pyflink/opt' -o -path '*/deps/opt' \) | head -1)
[ -n "$opt" ] && mv "$opt" "$dest/opt"
touch "$dest/.complete"
echo "$dest"
