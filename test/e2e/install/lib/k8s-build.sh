# Builds Kubernetes commands (kube-apiserver, kubectl) from the k8s.io/kubernetes module served by the Go
# module proxy. Sourced after common.sh.
#
# Why a wrapper module: k8s.io/kubernetes's go.mod points every k8s.io/* staging module at ./staging, which a
# module download does not contain, so a consumer must `replace` each of them with its published v0.X.Y twin.
# The list is read from the served go.mod itself, so a version bump needs no edit here.

K8S_VERSION="${K8S_VERSION:-1.37.2}"
# What a node of the single-node cluster needs besides kube-apiserver/kubectl (built in the same pass).
K8S_NODE_CMDS=(kubelet kube-controller-manager kube-scheduler)
# Installed as $DNS01_BIN/<cmd>$K8S_BIN_SUFFIX: a second Kubernetes version (e.g. the oldest the chart claims)
# lives next to the default one as kube-apiserver-v1.32.13.
K8S_BIN_SUFFIX="${K8S_BIN_SUFFIX:-}"
# Go toolchain for the build: "local" (the machine's go), or e.g. go1.23.12, which the go command fetches from
# the Go module proxy (golang.org/toolchain) when an old Kubernetes does not compile with the local Go.
K8S_GOTOOLCHAIN="${K8S_GOTOOLCHAIN:-local}"

# True when $DNS01_BIN/CMD runs and reports K8S_VERSION (a version bump rebuilds).
k8s_cmd_current() {
  local out bin="$DNS01_BIN/$1$K8S_BIN_SUFFIX"
  case "$1" in
    kubectl) out="$("$bin" version --client 2>/dev/null)" ;;
    *) out="$("$bin" --version 2>/dev/null)" ;;
  esac
  grep -q "v$K8S_VERSION\b" <<<"$out"
}

# build_k8s_cmds CMD... : builds each k8s.io/kubernetes/cmd/CMD into $DNS01_BIN/CMD, in one `go build`
# (the commands share most packages, so building them together is much cheaper than one after the other).
build_k8s_cmds() {
  local staging="v0.${K8S_VERSION#*.}"
  local mod="$DNS01_CACHE/src/k8s-$K8S_VERSION"
  local logf="$DNS01_LOGS/k8s-build-$K8S_VERSION.log"
  mkdir -p "$mod"
  export GOFLAGS=-mod=mod GOTOOLCHAIN="$K8S_GOTOOLCHAIN" GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"
  (
    cd "$mod" || exit 1
    if [ ! -f go.mod ] || ! grep -q "k8s.io/kubernetes v$K8S_VERSION" go.mod; then
      rm -f go.mod go.sum
      go mod init dns01-webhook.test/k8s-build >/dev/null 2>&1 || exit 1
      local kmod
      kmod="$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')"
      [ -f "$kmod" ] || { echo "cannot download k8s.io/kubernetes@v$K8S_VERSION go.mod" >&2; exit 1; }
      local args=(-require "k8s.io/kubernetes@v$K8S_VERSION")
      for m in $(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$kmod"); do
        args+=(-replace "$m=$m@$staging")
      done
      go mod edit "${args[@]}" || exit 1
    fi
  ) || return 1
  local pkgs=() c
  for c in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  local vpk=k8s.io/component-base/version cpk=k8s.io/client-go/pkg/version ld="-s -w"
  local minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"
  for p in $vpk $cpk; do
    ld+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  local out="$mod/out"
  rm -rf "$out" && mkdir -p "$out"
  log "building $* v$K8S_VERSION with $(go env GOVERSION) (10-25 min on 2 cores; log: $logf)"
  local t0=$SECONDS
  if ! (cd "$mod" && go get "${pkgs[@]/%/@v$K8S_VERSION}" && \
        nice -n 10 go build -trimpath -ldflags "$ld" -o "$out/" "${pkgs[@]}") >"$logf" 2>&1; then
    tail -30 "$logf" >&2
    return 1
  fi
  for c in "$@"; do mv -f "$out/$c" "$DNS01_BIN/$c$K8S_BIN_SUFFIX"; done
  log "built $* in $((SECONDS - t0)) s"
}
