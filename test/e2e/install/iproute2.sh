#!/usr/bin/env bash
# Installs iproute2 (`ip netns`, veth) for the network-namespace test host.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib/common.sh"

command -v ip >/dev/null && ip netns list >/dev/null 2>&1 && exit 0
apt_install iproute2
