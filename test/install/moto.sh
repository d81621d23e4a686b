#!/usr/bin/env bash
# Installs moto's standalone server (a third-party Route 53 implementation the route53 tests run against)
# into a venv outside the repo. Idempotent and quiet: a second run only checks that moto_server exists.
set -euo pipefail
cache="${DNS01_CACHE:-/var/cache/dns01-webhook}"
venv="$cache/moto-venv"
# Pinned so CI runs against the moto the tests were written for.
moto_version="${MOTO_VERSION:-5.1.*}"
if [ -x "$venv/bin/moto_server" ] && "$venv/bin/python" -c 'import moto.server' 2>/dev/null; then
  echo "moto: present ($("$venv/bin/python" -c 'import moto; print(moto.__version__)')) in $venv"
  exit 0
fi
python="$(command -v python3 || true)"
if [ -z "$python" ]; then
  echo "moto: python3 is required (apt-get install -y python3 python3-venv)" >&2
  exit 1
fi
mkdir -p "$cache"
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$moto_version"
"$venv/bin/python" -c 'import moto.server'
echo "moto: installed $("$venv/bin/python" -c 'import moto; print(moto.__version__)') in $venv"
