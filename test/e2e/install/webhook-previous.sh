#!/usr/bin/env bash
# Builds the previous release of this repository (versions.env WEBHOOK_PREVIOUS_COMMIT) from this clone's git
# history into $DNS01_CACHE/webhook-builds/<commit>: `git archive` of that commit, `npm ci`, `npm run build`.
# The rollout test runs it as the "old" replicas, with that commit's own chart. Idempotent (a .built stamp).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.env"
source "$here/lib/common.sh"
root="$(cd "$here/../../.." && pwd)"

dir="$DNS01_CACHE/webhook-builds/$WEBHOOK_PREVIOUS_COMMIT"
[ -f "$dir/.built" ] && exit 0
exec 9>"$DNS01_CACHE/.webhook-build.lock"
flock 9
[ -f "$dir/.built" ] && exit 0
if ! git -C "$root" cat-file -e "$WEBHOOK_PREVIOUS_COMMIT^{commit}" 2>/dev/null; then
  log "commit $WEBHOOK_PREVIOUS_COMMIT (the previous release) is not in this clone's history; a shallow clone needs: git fetch --unshallow"
  exit 1
fi
logf="$DNS01_LOGS/webhook-build-$WEBHOOK_PREVIOUS_COMMIT.log"
t0=$SECONDS
rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
if ! { git -C "$root" archive "$WEBHOOK_PREVIOUS_COMMIT" | tar -x -C "$dir.tmp" &&
       (cd "$dir.tmp" && npm ci --no-audit --no-fund && npm run build); } >"$logf" 2>&1; then
  tail -20 "$logf" >&2
  exit 1
fi
rm -rf "$dir" && mv "$dir.tmp" "$dir" && touch "$dir/.built"
log "built the previous release $WEBHOOK_PREVIOUS_COMMIT in $((SECONDS - t0)) s"
