#!/usr/bin/env bash
# Fills krew-manifest/shark.yaml for a release: the version, the download URIs and the sha256 of
# each platform's archive, read from DIST (built by the release pipeline, one per platform):
#   kubectl-shark_<VERSION>_{linux,darwin}_{amd64,arm64}.tar.gz, kubectl-shark_<VERSION>_windows_amd64.zip
# Each archive holds the binary and LICENSE at its top.
#   krew-manifest/release.sh v0.2.0 dist/ [OUT]      (OUT defaults to krew-manifest/shark.yaml)
set -euo pipefail
version=${1:?usage: release.sh VERSION DIST [OUT]}
dist=${2:?usage: release.sh VERSION DIST [OUT]}
here=$(cd "$(dirname "$0")" && pwd)
out=${3:-$here/shark.yaml}
[[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || { echo "release.sh: version must be semver with a leading v, like v0.2.0" >&2; exit 2; }
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
