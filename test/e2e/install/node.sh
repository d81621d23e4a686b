#!/usr/bin/env bash
# Installs what the single-node cluster (test/e2e/cluster/node.ts, pods.test.ts) runs besides the Kubernetes
# binaries (kubelet, kube-controller-manager, kube-scheduler: built by kube-apiserver.sh in the same go build):
# containerd + runc (Debian), the CNI bridge/host-local/loopback plugins (Debian containernetworking-plugins),
# iptables, and the pod sandbox ("pause") image. registry.k8s.io is not reachable, so the pause image is a
# stand-in: our static Go pause (test/e2e/node/pause) in a scratch image, saved as a docker-archive that
# node.ts imports into containerd. Rebuilt when its sources change; idempotent and quiet when current.
# Skipped with DNS01_E2E_PODS=0 (pods.test.ts opted out, see docs/e2e.md).
set -euo pipefail
[ "${DNS01_E2E_PODS:-1}" = 0 ] && exit 0
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib/common.sh"

apt_install containerd runc containernetworking-plugins iptables buildah
for b in containerd containerd-shim-runc-v2 ctr runc iptables buildah; do
  command -v "$b" >/dev/null || { log "$b is not on PATH after installing it"; exit 1; }
done
for p in bridge host-local loopback; do
  [ -x "/usr/lib/cni/$p" ] || { log "CNI plugin /usr/lib/cni/$p is missing (containernetworking-plugins)"; exit 1; }
done

src="$(cd "$here/../node/pause" && pwd)"
sum="$(cd "$src" && cat go.mod ./*.go | sha256sum | cut -c1-16)"
dir="$DNS01_CACHE/node"
archive="$dir/pause-$sum.tar"
[ -s "$archive" ] && exit 0
exec 9>"$DNS01_CACHE/.node-pause.lock"
flock 9
[ -s "$archive" ] && exit 0
mkdir -p "$dir"
work="$(mktemp -d /var/tmp/dns01-pause.XXXXXX)"
ctr=""
trap 'rm -rf "$work"; [ -n "$ctr" ] && buildah rm "$ctr" >/dev/null 2>&1; true' EXIT
(cd "$src" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$work/pause" .) \
  >"$DNS01_LOGS/pause-build.log" 2>&1 || { tail -20 "$DNS01_LOGS/pause-build.log" >&2; exit 1; }
ctr="$(buildah from --quiet scratch)"
buildah add --quiet --chmod 0755 "$ctr" "$work/pause" /pause >/dev/null
buildah config --entrypoint '["/pause"]' --user 65535:65535 --annotation "dns01.stamp=$sum" "$ctr"
name="localhost/dns01-e2e/pause:$sum"
buildah commit --quiet --rm "$ctr" "$name" >/dev/null
ctr=""
buildah push --quiet "$name" "docker-archive:$archive.tmp:$name" >/dev/null
mv -f "$archive.tmp" "$archive"
# Older stand-ins are superseded.
find "$dir" -maxdepth 1 -name 'pause-*.tar' ! -name "pause-$sum.tar" -delete
log "built the pause image stand-in $name"
