#!/usr/bin/env bash
# Writes a release of terraform-provider-flink in the layout the public Terraform registry, its
# mirrors and `terraform providers mirror` expect (the layout HashiCorp's provider release workflow
# publishes), into one directory:
#
#   terraform-provider-flink_<version>_<os>_<arch>.zip   holding terraform-provider-flink_v<version>
#   terraform-provider-flink_<version>_manifest.json     {"version":1,"metadata":{"protocol_versions":["6.0"]}}
#   terraform-provider-flink_<version>_SHA256SUMS        sha256sum of every zip and the manifest
#   terraform-provider-flink_<version>_SHA256SUMS.sig    detached binary GPG signature of the sums
#
# The version comes from Cargo.toml's [package] version (what `terraform-provider-flink --version`
# answers); --version overrides it, so tests can publish several versions of one binary.
# Without --binary the script builds each platform with `cargo build --release --target <triple>`;
# with --binary it packages already-built binaries instead: `--binary PATH` for one platform (the
# one --platforms names, linux_amd64 by default; tests package their debug binary instead of
# spending minutes on a release build), or `--binary PLATFORM=PATH` once per platform (the release
# workflow gathers binaries built on other systems and packages them in one run, so one SHA256SUMS
# covers them all).

# The zips are reproducible: the same binary gives the same zip, because the entry's time is fixed
# (SOURCE_DATE_EPOCH, else the last commit's time) and zip -X leaves out owner and extra fields;
# only the executable bit is kept, which Terraform needs on the unpacked binary.
#
# The Linux builds are glibc (`*-unknown-linux-gnu`), not static musl: Debian has no aarch64 musl
# cross compiler for aws-lc-sys's C code, and the binary links only libc, libm and libgcc_s,
# needing glibc 2.34 or newer (Debian 12, Ubuntu 22.04, RHEL 9 and later). linux_arm64 needs
# Debian's gcc-aarch64-linux-gnu and `rustup target add aarch64-unknown-linux-gnu`; its binary
# runs under `qemu-aarch64 -L /usr/aarch64-linux-gnu` (Debian's qemu-user) for a check here.
#
# Usage: scripts/release.sh --gpg-key KEY [--version X.Y.Z] [--out DIR]
#          [--platforms linux_amd64,linux_arm64 | --binary PATH [--platforms P] | --binary P=PATH ...]
# KEY is a key id, fingerprint or user id in the keyring that GNUPGHOME names (gpg's default
# otherwise). Prints the output directory on stdout. Darwin and windows builds: release-workflow.yml
# beside this script.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
name=terraform-provider-flink

usage() { sed -n '/^# Usage:/,/^# beside this script/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

version="" out="" platforms="" key=""
binaries=()
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --binary) binaries+=("${2:?}"); shift 2 ;;
    --platforms) platforms=${2:?}; shift 2 ;;
    --gpg-key) key=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "unknown argument $1" >&2; usage ;;
  esac
done
[ -n "$key" ] || { echo "--gpg-key is required: the registry and its mirrors only take signed sums" >&2; exit 2; }
for tool in zip sha256sum gpg; do
  command -v "$tool" >/dev/null || { echo "$tool is not on PATH (Debian: apt-get install zip gnupg coreutils)" >&2; exit 1; }
done

if [ -z "$version" ]; then
  # The [package] section's version, the only place it is written.
  version=$(awk '/^\[package\]/ { in_package = 1; next }
                 /^\[/ { in_package = 0 }
                 in_package && $1 == "version" { gsub(/"/, "", $3); print $3; exit }' "$root/Cargo.toml")
fi
# Terraform accepts only semantic versions for providers; a leading "v" would end up doubled.
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] \
  || { echo "version $version is not a semantic version (X.Y.Z[-pre])" >&2; exit 2; }

# Which binary goes into which platform's zip: platform_binary[linux_amd64]=path.
declare -A platform_binary=()
if [ ${#binaries[@]} -gt 0 ]; then
  for given in "${binaries[@]}"; do
    case "$given" in
      *=*) platform_binary[${given%%=*}]=${given#*=} ;;
      *) [ ${#binaries[@]} -eq 1 ] || { echo "name the platform of each binary: --binary PLATFORM=PATH" >&2; exit 2; }
         case "${platforms:=linux_amd64}" in *,*) echo "--binary PATH packages one platform; --platforms names more" >&2; exit 2 ;; esac
         platform_binary[$platforms]=$given ;;
    esac
  done
  platforms=$(printf '%s\n' "${!platform_binary[@]}" | sort | paste -sd,)
  for platform in "${!platform_binary[@]}"; do
    [ -x "${platform_binary[$platform]}" ] || { echo "${platform_binary[$platform]} is not an executable file" >&2; exit 1; }
  done
fi
platforms=${platforms:-linux_amd64}

out=${out:-$root/target/dist/$version}
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/${name}_${version}_"*

export TZ=UTC
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 315532800)}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

target_triple() {
  case "$1" in
    linux_amd64) echo x86_64-unknown-linux-gnu ;;
    linux_arm64) echo aarch64-unknown-linux-gnu ;;
    *) echo "no build for $1 on Linux; see scripts/release-workflow.yml" >&2; return 1 ;;
  esac
}

build() { # build <platform>: prints the path of the built binary
  local triple
  triple=$(target_triple "$1")
  if [ "$1" = linux_arm64 ]; then
    # Debian's cross compiler links the binary and compiles aws-lc's C for the target.
    command -v aarch64-linux-gnu-gcc >/dev/null \
      || { echo "linux_arm64 needs Debian's gcc-aarch64-linux-gnu (apt-get install gcc-aarch64-linux-gnu)" >&2; return 1; }
    rustup target list --installed | grep -x "$triple" >/dev/null \
      || { echo "linux_arm64 needs the Rust target: rustup target add $triple" >&2; return 1; }
    export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
    export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
    export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
  fi
  cargo build --release --locked --quiet --manifest-path "$root/Cargo.toml" \
    -p "$name" --bin "$name" --target "$triple" >&2
  echo "$root/target/$triple/release/$name"
}

IFS=, read -r -a platform_list <<< "$platforms"
for platform in "${platform_list[@]}"; do
  built=${platform_binary[$platform]:-}
  [ -n "$built" ] || built=$(build "$platform")
  # Windows binaries keep their .exe, as Terraform looks for terraform-provider-<name>_v<version>.exe.
  entry_name="${name}_v${version}"
  case "$platform" in windows_*) entry_name="$entry_name.exe" ;; esac
  mkdir -p "$stage/$platform"
  entry="$stage/$platform/$entry_name"
  cp "$built" "$entry"
  chmod 0755 "$entry"
  touch -d "@$epoch" "$entry"
  (cd "$stage/$platform" && zip -X -q "$out/${name}_${version}_${platform}.zip" "$entry_name")
done

cat > "$out/${name}_${version}_manifest.json" <<'JSON'
{
  "version": 1,
  "metadata": {
    "protocol_versions": ["6.0"]
  }
}
JSON

sums="${name}_${version}_SHA256SUMS"
(cd "$out" && sha256sum "${name}_${version}_"*.zip "${name}_${version}_manifest.json" > "$sums")
gpg --batch --yes --quiet --local-user "$key" --output "$out/$sums.sig" --detach-sign "$out/$sums"
echo "$out"
