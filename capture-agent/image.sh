#!/usr/bin/env bash
# Builds the node agent's image with no registry: the release binary on a Debian base made here
# from Debian's packages (debootstrap), the same layout, user and entrypoint as capture-agent/Dockerfile
# (which stays for builders that can pull rust and debian images). Needs root, podman, runc and
# debootstrap (tests/setup.sh installs them).
#
#   capture-agent/image.sh              writes target/image/shark-agent-VERSION.oci.tar and prints its
#                                       digest (also in target/image/shark-agent-VERSION.oci.tar.digest)
#   capture-agent/image.sh podman ARG…  runs podman as the build does (runc, cgroupfs, storage under
#                                       target/image/podman): how the tests run the image
#
# The base (Debian bookworm minbase plus libpcap0.8, trimmed like debian:bookworm-slim) is cached in
# target/image/base-bookworm.tar, so a rebuild costs the cargo build and an import. Remove that
# file to refresh the base. The mirror is the first Debian one in /etc/apt/sources.list*, else
# deb.debian.org; SHARK_DEBIAN_MIRROR overrides it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/target/image
# What the Dockerfile's runtime stage is: `FROM debian:$suite-slim` plus `apt-get install $packages`.
suite=bookworm
packages=libpcap0.8
entrypoint=/usr/local/bin/shark-agent

mkdir -p "$out/podman"
# podman's settings for this machine, written here rather than relying on /etc: runc with cgroupfs
# (no systemd), no default ulimits (the container may not raise them), storage of its own. Each
# file is replaced whole and only when it changes, so a podman started meanwhile (tests run
# several at once) never reads half of one.
settle() {
  local file=$1 text=$2
  [ "$(cat "$file" 2>/dev/null)" = "$text" ] && return
  printf '%s\n' "$text" > "$file.$$" && mv -f "$file.$$" "$file"
}
settle "$out/podman/containers.conf" '[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"'
settle "$out/podman/storage.conf" "[storage]
driver = \"overlay\"
graphroot = \"$out/podman/root\"
runroot = \"$out/podman/run\""
run_podman() {
  CONTAINERS_CONF=$out/podman/containers.conf CONTAINERS_STORAGE_CONF=$out/podman/storage.conf \
    podman --runtime runc --cgroup-manager cgroupfs "$@"
}
if [ "${1:-}" = podman ]; then
  shift
  run_podman "$@"
  exit
fi
[ $# -eq 0 ] || { echo "usage: image.sh | image.sh podman ARG…" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "image.sh: run as root (debootstrap and podman import need it)" >&2; exit 1; }
for tool in podman runc debootstrap; do
  command -v "$tool" >/dev/null || { echo "image.sh: $tool is missing: run tests/setup.sh" >&2; exit 1; }
done
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
image=localhost/shark-agent:$version

# 1. The release binary, stripped, as the Dockerfile's build stage makes it (SHARK_AGENT_BINARY=PATH
#    takes a binary built already instead, e.g. a debug build while working on the image).
binary=${SHARK_AGENT_BINARY:-}
if [ -z "$binary" ]; then
  cargo build --manifest-path "$root/Cargo.toml" --release --locked -p shark-agent --bin shark-agent
  binary=$root/target/release/shark-agent
fi
staging=$out/staging
rm -rf "$staging" && mkdir -p "$staging$(dirname "$entrypoint")"
strip -o "$staging$entrypoint" "$binary"
chmod 0755 "$staging$entrypoint"

# 2. The base: Debian's packages, trimmed as the slim images are (no docs but copyrights, no man
#    pages or locales) and without apt's lists, as the Dockerfile's `rm -rf /var/lib/apt/lists/*`.
base=$out/base-$suite.tar
if [ ! -s "$base" ]; then
  mirror=${SHARK_DEBIAN_MIRROR:-}
  if [ -z "$mirror" ]; then
    mirror=$( (cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true) \
      | grep -oE 'https?://[^ ]*/debian/?( |$)' | grep -v security | head -1 | tr -d ' ' || true)
  fi
  mirror=${mirror:-http://deb.debian.org/debian}
  dir=$out/base-$suite.d
  rm -rf "$dir"
  echo "image.sh: making the $suite base from $mirror (cached in $base)" >&2
  debootstrap --variant=minbase --include="$packages" "$suite" "$dir" "$mirror" >"$out/debootstrap.log" 2>&1 \
    || { echo "image.sh: debootstrap failed; see $out/debootstrap.log" >&2; exit 1; }
  find "$dir/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
  find "$dir/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$dir"/usr/share/{man,info,locale,groff,lintian,linda}/* "$dir"/var/lib/apt/lists/* \
    "$dir"/var/cache/apt/* "$dir"/var/cache/debconf/*-old "$dir"/var/log/* "$dir"/tmp/*
  tar -C "$dir" --numeric-owner -cf "$base.part" .
  mv "$base.part" "$base"
  rm -rf "$dir"
fi

# 3. The image: the base plus the binary, one layer; the Dockerfile's entrypoint, PATH and user (root).
rootfs=$out/rootfs.tar
cp "$base" "$rootfs"
tar -C "$staging" --numeric-owner --owner=0 --group=0 -rf "$rootfs" ".$entrypoint"
# podman's progress goes to a log, shown when a step fails.
quiet() { "$@" >"$out/podman.log" 2>&1 || { cat "$out/podman.log" >&2; echo "image.sh: failed: $*" >&2; exit 1; }; }
run_podman rmi -f "$image" >/dev/null 2>&1 || true
quiet run_podman import \
  --change "ENTRYPOINT [\"$entrypoint\"]" \
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "LABEL org.opencontainers.image.title=shark-agent" \
  --change "LABEL org.opencontainers.image.version=$version" \
  --change "LABEL org.opencontainers.image.source=https://github.com/kubectl-shark/kubectl-shark" \
  "$rootfs" "$image"
rm -f "$rootfs"
archive=$out/shark-agent-$version.oci.tar
rm -f "$archive"
quiet run_podman save --format oci-archive -o "$archive" "$image"
# The manifest's digest, as a registry names the image once pushed as it is (skopeo copy).
digest=$(tar -xOf "$archive" index.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifests"][0]["digest"])')
echo "$digest" > "$archive.digest"
echo "image.sh: $image in $archive ($(du -m "$archive" | cut -f1) MiB), digest $digest"
