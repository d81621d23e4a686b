#!/usr/bin/env bash
# Stops a cluster started with `up.sh --detach` (everything it started, the netns and temp dirs).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../../.."
exec node --conditions=source --import tsx "$here/cli.ts" down
