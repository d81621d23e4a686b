#!/usr/bin/env bash
# Installs what the image test (test/e2e/image.test.ts) builds and runs containers with: buildah (builds the
# Dockerfile), podman + runc (runs the image like the chart's pod), debootstrap (the build base image stand-in,
# test/e2e/image/base-images.sh) — all Debian packages. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib/common.sh"

apt_install buildah podman runc debootstrap
for b in buildah podman runc debootstrap; do
  command -v "$b" >/dev/null || { log "$b is not on PATH after installing it"; exit 1; }
done
