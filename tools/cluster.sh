#!/usr/bin/env bash
# Starts and stops the local Kubernetes control plane used by the demo, the end-to-end tests
# and the benchmarks: kube-apiserver, kube-controller-manager, kube-scheduler and etcd run as
# real processes on 127.0.0.1, kwok simulates the nodes and the containers on them.
#
#   cluster.sh up       start the cluster, or reuse it when it already answers
#   cluster.sh down     stop every process of the cluster and remove its state
#   cluster.sh env      print shell exports for the cluster (KUBECONFIG, PATH to the tools)
#   cluster.sh status   exit 0 when the cluster answers
#   cluster.sh restart-apiserver  kill kube-apiserver and start it again (tests of API server outages)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
name=${CONVERGE_CLUSTER_NAME:-converge-test}
state=${CONVERGE_CLUSTER_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-converge/cluster/$name}
nodes=${CONVERGE_CLUSTER_NODES:-4}
pods_per_node=${CONVERGE_CLUSTER_PODS_PER_NODE:-250}
kubeconfig="$state/kubeconfig"
export KWOK_WORKDIR="$state/kwok"

log() { printf '[cluster] %s\n' "$*" >&2; }

# alive PID: the process exists and has not exited (an exited process waiting to be reaped
# by its parent is a zombie, state Z, and holds no ports).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

tools_bin() { "$here/build-tools.sh"; }

answers() {
  [ -s "$kubeconfig" ] || return 1
  "$1/kubectl" --kubeconfig "$kubeconfig" --request-timeout 5s get --raw /readyz >/dev/null 2>&1
}

pids_of_cluster() {
  local dir="$KWOK_WORKDIR/clusters/$name/pids"
  [ -d "$dir" ] || return 0
  local f
  # kwokctl writes the PID files without a trailing newline.
  for f in "$dir"/*.pid; do
    [ -f "$f" ] && echo "$(<"$f")"
  done
  return 0
}

config_hash() {
  cat "$here/versions.env" "$here/cluster.sh" "$here/cluster/"*.yaml "$here/cluster/logs/"* | sha256sum | cut -c1-16
}

up() {
  local bin; bin=$(tools_bin)
  local want; want=$(config_hash)
  if answers "$bin"; then
    if [ "$(cat "$state/config.hash" 2>/dev/null)" = "$want" ]; then
      log "cluster $name already running (KUBECONFIG=$kubeconfig)"
      return
    fi
    log "cluster $name runs an older configuration; restarting it"
  fi
  # Leftovers of a cluster that no longer answers would hold its ports.
  down_quietly "$bin"
  mkdir -p "$state/logs"
  cp "$here/cluster/logs/"*.log "$state/logs/"
  local config="$state/kwokctl.yaml"
  {
    cat <<CONF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  bindAddress: 127.0.0.1
  kubeVersion: $(source "$here/versions.env"; echo "$KUBERNETES_VERSION")
  kubeApiserverBinary: $bin/kube-apiserver
  kubeControllerManagerBinary: $bin/kube-controller-manager
  kubeSchedulerBinary: $bin/kube-scheduler
  kubectlBinary: $bin/kubectl
  etcdBinary: $bin/etcd
  kwokControllerBinary: $bin/kwok
  disableQPSLimits: true
# One controller manager and one scheduler need no leader election; without it they ride out
# an API server restart instead of exiting when their lease cannot be renewed.
componentsPatches:
- name: kube-controller-manager
  extraArgs:
  - key: leader-elect
    value: "false"
- name: kube-scheduler
  extraArgs:
  - key: leader-elect
    value: "false"
---
CONF
    cat "$here/cluster/nodes.yaml"
    echo "---"
    cat "$here/cluster/stages.yaml"
    echo "---"
    sed "s|@LOGS_DIR@|$state/logs|g" "$here/cluster/logs.yaml"
  } > "$config"
  log "starting cluster $name (state in $state)"
  local start=$SECONDS
  local kwokctl_log="$state/logs/kwokctl.log"
  if ! "$bin/kwokctl" --config "$config" create cluster --name "$name" --runtime binary \
      --kubeconfig "$kubeconfig" --wait 120s --timeout 180s >"$kwokctl_log" 2>&1 ||
    ! "$bin/kwokctl" --config "$config" --name "$name" scale node --replicas "$nodes" \
      --param ".pods=$pods_per_node" >>"$kwokctl_log" 2>&1; then
    cat "$kwokctl_log" >&2
    log "starting cluster $name failed; component logs are in $KWOK_WORKDIR/clusters/$name/logs"
    exit 1
  fi
  "$bin/kubectl" --kubeconfig "$kubeconfig" wait --for=condition=Ready node --all --timeout=60s >&2
  # Pods need the namespace's default ServiceAccount, which the controller manager creates.
  for _ in $(seq 1 60); do
    "$bin/kubectl" --kubeconfig "$kubeconfig" -n default get serviceaccount default >/dev/null 2>&1 && break
    sleep 0.5
  done
  echo "$want" > "$state/config.hash"
  log "cluster $name ready in $((SECONDS - start))s with $nodes nodes (KUBECONFIG=$kubeconfig)"
}

down_quietly() {
  local bin=$1
  if [ -d "$KWOK_WORKDIR/clusters/$name" ]; then
    "$bin/kwokctl" --name "$name" delete cluster --kubeconfig "$kubeconfig" >/dev/null 2>&1 || true
  fi
  # kwokctl stops what it started; anything that survived is ended by its recorded PID.
  local pid
  for pid in $(pids_of_cluster); do
    kill "$pid" 2>/dev/null || true
  done
  rm -rf "$KWOK_WORKDIR/clusters/$name" "$kubeconfig"
}

down() {
  local bin; bin=$(tools_bin)
  local pids; pids=$(pids_of_cluster | tr '\n' ' ')
  down_quietly "$bin"
  local pid
  for pid in $pids; do
    for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$state"
  log "cluster $name stopped"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  env)
    bin=$(tools_bin)
    printf 'export KUBECONFIG=%q\nexport PATH=%q:"$PATH"\n' "$kubeconfig" "$bin"
    ;;
  status) answers "$(tools_bin)" ;;
  restart-apiserver)
    # Kill kube-apiserver and start it again with the same command line, as a crash and a
    # supervisor restart would; the other components keep running and must reconnect.
    bin=$(tools_bin)
    pidfile="$KWOK_WORKDIR/clusters/$name/pids/kube-apiserver.pid"
    pid=$(<"$pidfile")
    mapfile -d '' -t argv < "/proc/$pid/cmdline"
    cwd=$(readlink "/proc/$pid/cwd")
    kill "$pid"
    for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
    # The new process writes its own PID and becomes kube-apiserver (exec), detached from us.
    cd "$cwd"
    setsid bash -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "${argv[@]}" \
      >>"$KWOK_WORKDIR/clusters/$name/logs/kube-apiserver.log" 2>&1 </dev/null &
    disown
    cd - >/dev/null
    for _ in $(seq 1 120); do answers "$bin" && break; sleep 0.5; done
    answers "$bin"
    ;;
  *) echo "usage: $0 up|down|env|status|restart-apiserver" >&2; exit 2 ;;
esac
