#!/usr/bin/env bash
# watchdog.sh OWNER_PID CLEANUP_SCRIPT
# Runs detached from the test process. When the owner dies without stopping its cluster (crash, SIGKILL,
# vitest timeout), runs the cleanup script it left: kills etcd/kube-apiserver/webhook process groups and
# removes the network namespace, veth and temp dirs. A normal stop() kills this watchdog first.
owner="$1"
cleanup="$2"
while kill -0 "$owner" 2>/dev/null; do sleep 1; done
[ -f "$cleanup" ] && exec bash "$cleanup"
