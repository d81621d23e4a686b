#!/usr/bin/env bash
# watchdog.sh OWNER_PID CLEANUP_SCRIPT
# Runs detached from the test process. When the owner dies without stopping its cluster (crash, SIGKILL,
# vitest timeout), runs the cleanup script it left: kills etcd/kube-apiserver/webhook process groups and
# removes the network namespace, veth and temp dirs. A normal stop() kills this watchdog first.
# The owner is identified by pid *and* start time: pids wrap at 32768 here, and a watchdog that mistook a new
# process for its owner would run its cleanup (process-group kills) much later, when those numbers are reused.
owner="$1"
cleanup="$2"
started() { # start time of pid $1 (field 22 of /proc/PID/stat; the command name before it may hold spaces)
  local s
  s="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  s="${s##*) }"
  set -- $s
  echo "${20}"
}
since="$(started "$owner")"
while [ -n "$since" ] && [ "$(started "$owner")" = "$since" ]; do sleep 1; done
[ -f "$cleanup" ] && exec bash "$cleanup"
