# Shared helpers for test/e2e/install/*.sh: `source "$(dirname "$0")/lib/common.sh"`.
# Everything is cached outside the repo so a fresh clone on the same machine reuses earlier builds.

DNS01_CACHE="${DNS01_CACHE:-/var/cache/dns01-webhook}"
DNS01_BIN="${DNS01_BIN:-$DNS01_CACHE/bin}"
DNS01_LOGS="$DNS01_CACHE/logs"
mkdir -p "$DNS01_BIN" "$DNS01_LOGS"

log() { printf '[e2e-install] %s\n' "$*" >&2; }

# Installs Debian packages that are missing. Tries the existing package lists first and runs
# `apt-get update` only when that fails (an update is slow and hits the network).
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  local apt=(flock /tmp/apt.lock apt-get -o DPkg::Lock::Timeout=600 -y -qq --no-install-recommends)
  export DEBIAN_FRONTEND=noninteractive
  "${apt[@]}" install "${missing[@]}" >"$DNS01_LOGS/apt.log" 2>&1 && return 0
  "${apt[@]}" update >>"$DNS01_LOGS/apt.log" 2>&1 && "${apt[@]}" install "${missing[@]}" >>"$DNS01_LOGS/apt.log" 2>&1 \
    || { tail -20 "$DNS01_LOGS/apt.log" >&2; return 1; }
}

# Succeeds when "$1" exists and answers its version flag(s) "${@:2}".
runs() { [ -x "$1" ] && "$1" "${@:2}" >/dev/null 2>&1; }
