#!/usr/bin/env bash
# Builds cert-manager-e2e (test/e2e/certmanager: cert-manager's real controllers and cainjector from the
# github.com/cert-manager/cert-manager module, out of cluster) into $DNS01_BIN, and copies that module's CRDs
# and Helm chart (for its RBAC) to $DNS01_CACHE/cert-manager/<version>. Rebuilt when the Go sources change
# (a hash of them is kept next to the binary); a few minutes cold on 2 cores.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib/common.sh"

src="$(cd "$here/../certmanager" && pwd)"
version="$(sed -n 's#^require github.com/cert-manager/cert-manager \(v[^ ]*\)$#\1#p; s#^\s*github.com/cert-manager/cert-manager \(v[^ ]*\)$#\1#p' "$src/go.mod" | head -1)"
[ -n "$version" ] || { log "cannot read the cert-manager version from $src/go.mod"; exit 1; }
out="$DNS01_BIN/cert-manager-e2e"
stamp="$DNS01_CACHE/cert-manager-e2e.sha256"
assets="$DNS01_CACHE/cert-manager/$version"
sum="$(cd "$src" && cat go.mod go.sum *.go | sha256sum | cut -d' ' -f1)"

current() {
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ] && runs "$out" version &&
    [ "$("$out" version)" = "cert-manager $version" ] && [ -f "$assets/crds/cert-manager.io_certificates.yaml" ] &&
    [ -f "$assets/chart/Chart.yaml" ]
}
current && exit 0
exec 9>"$DNS01_CACHE/.cert-manager-build.lock"
flock 9
current && exit 0

export GOFLAGS=-mod=mod GOTOOLCHAIN=local
logf="$DNS01_LOGS/cert-manager-e2e-build.log"
log "building cert-manager-e2e ($version controllers + cainjector; a few minutes on 2 cores; log: $logf)"
t0=$SECONDS
(cd "$src" && nice -n 10 go build -trimpath -ldflags "-s -w" -o "$out.tmp" .) >"$logf" 2>&1 || { tail -30 "$logf" >&2; exit 1; }
mv -f "$out.tmp" "$out"
mod="$(cd "$src" && go list -m -f '{{.Dir}}' github.com/cert-manager/cert-manager)"
rm -rf "$assets" && mkdir -p "$assets"
cp -r "$mod/deploy/crds" "$assets/crds"
cp -r "$mod/deploy/charts/cert-manager" "$assets/chart"
chmod -R u+w "$assets"
echo "$sum" >"$stamp"
current || { log "cert-manager-e2e built but does not report cert-manager $version"; exit 1; }
log "built cert-manager-e2e in $((SECONDS - t0)) s"
