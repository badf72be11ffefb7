#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs ebpf-k8s on a cluster (kubectl must reach it; on the first node after
# cluster-init.sh it does): the tokens Secret, the manifests (k8s/base, or the
# external-libsql overlay), a join token for the agents, then waits for both to run.
#
#   bash k8s/scripts/install.sh [--registry REG] [--libsql-url URL [--libsql-token-file F]]
#   bash k8s/scripts/install.sh --rotate-join-token
#
#   --registry REG          pull ebpf-k8s/agent and ebpf-k8s/control from REG (pushed there by
#                           build-images.sh --push REG); default: images already on the nodes
#   --libsql-url URL        the control plane on a shared libSQL server (two replicas) instead
#                           of the embedded file on a PersistentVolumeClaim
#   --libsql-token-file F   that server's auth token
#   --rotate-join-token     only replace the agents' join token: a new one in the Secret, then the
#                           old one revoked (joined nodes keep their own credentials)
#
# The admin token is generated once, kept in the Secret ebpf-k8s-tokens (key admin-token) and
# printed at the end. The agents' join token never expires (nodes added later join with it) and
# is kept in the same Secret (join-token, join-token-id); running the script again keeps it.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
K8S=$(cd "$HERE/.." && pwd)
NS=ebpf-k8s
REGISTRY=""
LIBSQL_URL=""
LIBSQL_TOKEN_FILE=""
ROTATE_JOIN_TOKEN=""

say() { echo "install: $*" >&2; }
die() { echo "install: ERROR: $*" >&2; exit 1; }
usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [ $# -gt 0 ]; do
  case $1 in
    --registry) REGISTRY=${2:?}; shift 2 ;;
    --libsql-url) LIBSQL_URL=${2:?}; shift 2 ;;
    --libsql-token-file) LIBSQL_TOKEN_FILE=${2:?}; shift 2 ;;
    --rotate-join-token) ROTATE_JOIN_TOKEN=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
done

[ -z "$ROTATE_JOIN_TOKEN" ] || { [ -z "$REGISTRY" ] && [ -z "$LIBSQL_URL" ]; } ||
  die "--rotate-join-token goes alone (it changes nothing but the join token)"
command -v kubectl >/dev/null || die "kubectl not found"
kubectl version >/dev/null 2>&1 || die "kubectl cannot reach a cluster (KUBECONFIG?)"
[ -z "$LIBSQL_TOKEN_FILE" ] || [ -n "$LIBSQL_URL" ] || die "--libsql-token-file goes with --libsql-url"

random_token() { head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }

# join-token.mjs inside the control plane's pod: its own Node, the admin token from its environment.
join_token() {
  kubectl -n "$NS" exec deployment/ebpf-k8s-control -c control -- node --input-type=module \
    -e "$(cat "$HERE/join-token.mjs")
await main(process.argv.slice(1), process.env, fetch);" "$@"
}

# The agents' join token: kept while it is live and never expires (ensure), or replaced (rotate): the new one goes
# into the Secret before the old ones are revoked, so a node that joins meanwhile finds a valid one.
agents_join_token() {
  local current answer id token
  current=$(kubectl -n "$NS" get secret ebpf-k8s-tokens -o jsonpath='{.data.join-token-id}' | base64 -d)
  answer=$(join_token "$1" "$current") || die "the control plane did not answer for the join token"
  case $answer in
    keep) say "keeping the agents' join token $current (never expires)" ;;
    "new "*)
      read -r _ id token <<<"$answer"
      kubectl -n "$NS" patch secret ebpf-k8s-tokens --type merge \
        -p "{\"stringData\":{\"join-token\":\"$token\",\"join-token-id\":\"$id\"}}" >/dev/null
      say "the agents' join token is now $id (never expires; Secret ebpf-k8s-tokens, key join-token)"
      answer=$(join_token revoke-others "$id") || die "revoking the old join tokens failed"
      say "old join tokens: ${answer}" ;;
    *) die "unexpected answer about the join token: $answer" ;;
  esac
}

if [ -n "$ROTATE_JOIN_TOKEN" ]; then
  kubectl -n "$NS" get secret ebpf-k8s-tokens >/dev/null 2>&1 || die "no Secret ebpf-k8s-tokens: install first"
  agents_join_token rotate
  say "done: joined nodes keep their credentials; pods started from now on join with the new token"
  exit 0
fi

kubectl apply -f "$K8S/base/namespace.yaml"

if ! kubectl -n "$NS" get secret ebpf-k8s-tokens >/dev/null 2>&1; then
  say "generating the admin and read tokens (Secret ebpf-k8s-tokens)"
  kubectl -n "$NS" create secret generic ebpf-k8s-tokens --from-literal=admin-token="$(random_token)" \
    --from-literal=read-token="$(random_token)"
elif [ -z "$(kubectl -n "$NS" get secret ebpf-k8s-tokens -o jsonpath='{.data.read-token}')" ]; then
  say "adding a read token to the Secret ebpf-k8s-tokens (reads now need a token)"
  kubectl -n "$NS" patch secret ebpf-k8s-tokens --type merge -p "{\"stringData\":{\"read-token\":\"$(random_token)\"}}" >/dev/null
fi

overlay="$K8S/base"
if [ -n "$LIBSQL_URL" ]; then
  say "control plane on the libSQL server ${LIBSQL_URL%%\?*} (Secret ebpf-k8s-libsql)"
  args=(--from-literal=url="$LIBSQL_URL")
  [ -z "$LIBSQL_TOKEN_FILE" ] || args+=(--from-file=auth-token="$LIBSQL_TOKEN_FILE")
  kubectl -n "$NS" create secret generic ebpf-k8s-libsql "${args[@]}" --dry-run=client -o yaml | kubectl apply -f -
  overlay="$K8S/overlays/external-libsql"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# kubectl's built-in kustomize, on a throw-away overlay that only renames the images
cat > "$work/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $overlay
YAML
if [ -n "$REGISTRY" ]; then
  cat >> "$work/kustomization.yaml" <<YAML
images:
  - name: ebpf-k8s/agent
    newName: $REGISTRY/ebpf-k8s/agent
  - name: ebpf-k8s/control
    newName: $REGISTRY/ebpf-k8s/control
YAML
fi
say "applying $overlay"
kubectl apply -k "$work"

say "waiting for the control plane"
kubectl -n "$NS" rollout status deployment/ebpf-k8s-control --timeout=300s

agents_join_token ensure

say "waiting for the agents on every node"
kubectl -n "$NS" rollout restart daemonset/ebpf-k8s-agent >/dev/null
kubectl -n "$NS" rollout status daemonset/ebpf-k8s-agent --timeout=600s

admin=$(kubectl -n "$NS" get secret ebpf-k8s-tokens -o jsonpath='{.data.admin-token}' | base64 -d)
read=$(kubectl -n "$NS" get secret ebpf-k8s-tokens -o jsonpath='{.data.read-token}' | base64 -d)
cat >&2 <<MSG
install: done.
  dashboard:   kubectl -n $NS port-forward service/ebpf-k8s-control 8080:8080   then http://localhost:8080/login
  admin token: $admin
  read token:  $read   (pages, JSON API and the control plane's /metrics: Authorization: Bearer …)
  metrics:     control plane :8080/metrics (Service ebpf-k8s-control, with the read token), agents :9810/metrics on every node
MSG
