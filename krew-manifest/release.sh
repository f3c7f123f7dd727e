#!/usr/bin/env bash
# The plugin's release: builds this platform's archive, and fills krew-manifest/shark.yaml for a
# release (the version, the download URIs and the sha256 of each platform's archive in DIST).
#
#   krew-manifest/release.sh archive v0.2.0 dist/    builds kubectl-shark (release) and writes
#       dist/kubectl-shark_v0.2.0_<os>_<arch>.tar.gz for this machine: the binary and LICENSE at its
#       top, as the manifest's `files` expect. SHARK_PLUGIN_BINARY=PATH packs that binary instead
#       of building one (the tests give it the debug build).
#   krew-manifest/release.sh v0.2.0 dist/ [OUT]      fills the manifest from every platform's archive:
#       kubectl-shark_<VERSION>_{linux,darwin}_{amd64,arm64}.tar.gz, kubectl-shark_<VERSION>_windows_amd64.zip
#       (the others come from their platforms' builders); OUT defaults to krew-manifest/shark.yaml.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
semver='^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$'
if [ "${1:-}" = archive ]; then
  version=${2:?usage: release.sh archive VERSION DIST}
  dist=${3:?usage: release.sh archive VERSION DIST}
  [[ $version =~ $semver ]] || { echo "release.sh: version must be semver with a leading v, like v0.2.0" >&2; exit 2; }
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) echo "release.sh: build the $(uname -s) archive on its own builder" >&2; exit 2 ;; esac
  case "$(uname -m)" in x86_64|amd64) arch=amd64 ;; aarch64|arm64) arch=arm64 ;; *) echo "release.sh: no krew platform for $(uname -m)" >&2; exit 2 ;; esac
  binary=${SHARK_PLUGIN_BINARY:-}
  if [ -z "$binary" ]; then
    cargo build --manifest-path "$here/../Cargo.toml" --release --locked -p kubectl-shark --bin kubectl-shark
    binary=$here/../target/release/kubectl-shark
  fi
  staging=$(mktemp -d)
  trap 'rm -rf "$staging"' EXIT
  install -m 0755 "$binary" "$staging/kubectl-shark"
  install -m 0644 "$here/../LICENSE" "$staging/LICENSE"
  mkdir -p "$dist"
  archive=$dist/kubectl-shark_${version}_${os}_${arch}.tar.gz
  tar -C "$staging" --owner=0 --group=0 --numeric-owner -czf "$archive" kubectl-shark LICENSE
  echo "release.sh: wrote $archive"
  exit 0
fi
version=${1:?usage: release.sh VERSION DIST [OUT]}
dist=${2:?usage: release.sh VERSION DIST [OUT]}
out=${3:-$here/shark.yaml}
[[ $version =~ $semver ]] || { echo "release.sh: version must be semver with a leading v, like v0.2.0" >&2; exit 2; }
python3 - "$version" "$dist" "$here/shark.yaml" "$out" <<'PY'
import hashlib, pathlib, re, sys
version, dist, template, out = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3], sys.argv[4]
text = open(template).read()
text = re.sub(r"(?m)^(  version: ).*$", lambda m: m.group(1) + version, text)
text = re.sub(r"/releases/download/[^/]+/kubectl-shark_[^_]+_", f"/releases/download/{version}/kubectl-shark_{version}_", text)
def fill(match):
    archive = dist / match.group(2).rsplit("/", 1)[1]
    if not archive.is_file():
        sys.exit(f"release.sh: {archive} is missing: build every platform's archive first")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    return f'{match.group(1)}{match.group(2)}{match.group(3)}"{digest}"'
text = re.sub(r'(uri: )(\S+)(\n\s+sha256: )"[^"]*"', fill, text)
open(out, "w").write(text)
PY
echo "release.sh: wrote $out for $version"
