#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The first node of a cluster whose machines share one subnet: prepares the machine
# (node-prep.sh), runs kubeadm init, installs the CNI (Flannel with the host-gw backend:
# plain routes between the nodes, no encapsulation, which a single subnet allows) and
# writes the join command for the other nodes to JOIN_FILE.
#
#   bash k8s/scripts/cluster-init.sh [--advertise-address IP] [--pod-cidr CIDR] [--join-file PATH]
#
# Then on each other node: bash k8s/scripts/cluster-join.sh "$(cat JOIN_FILE)"
# And the project: bash k8s/scripts/install.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

POD_CIDR=10.244.0.0/16
SERVICE_CIDR=10.96.0.0/12
ADVERTISE=""
JOIN_FILE=/root/ebpf-k8s-join.txt
FLANNEL_VERSION=${FLANNEL_VERSION:-v0.27.4}
# Control-plane nodes run the agent too: leave them schedulable in a small cluster.
UNTAINT=1

say() { echo "cluster-init: $*" >&2; }
die() { echo "cluster-init: ERROR: $*" >&2; exit 1; }
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [ $# -gt 0 ]; do
  case $1 in
    --advertise-address) ADVERTISE=${2:?}; shift 2 ;;
    --pod-cidr) POD_CIDR=${2:?}; shift 2 ;;
    --service-cidr) SERVICE_CIDR=${2:?}; shift 2 ;;
    --join-file) JOIN_FILE=${2:?}; shift 2 ;;
    --keep-taint) UNTAINT=0; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
done

[ "$(id -u)" = 0 ] || die "run as root"
bash "$HERE/node-prep.sh"

if [ -z "$ADVERTISE" ]; then
  # the address of the default route's interface: the subnet the nodes share
  ADVERTISE=$(ip -4 route get 1.1.1.1 | awk '{for (i = 1; i < NF; i++) if ($i == "src") print $(i + 1)}')
fi
[ -n "$ADVERTISE" ] || die "cannot tell this node's address: pass --advertise-address"

if [ ! -f /etc/kubernetes/admin.conf ]; then
  say "kubeadm init on $ADVERTISE (pods $POD_CIDR, services $SERVICE_CIDR)"
  kubeadm init --apiserver-advertise-address "$ADVERTISE" --pod-network-cidr "$POD_CIDR" --service-cidr "$SERVICE_CIDR"
else
  say "kubeadm init already done (/etc/kubernetes/admin.conf exists)"
fi
mkdir -p /root/.kube
cp /etc/kubernetes/admin.conf /root/.kube/config
export KUBECONFIG=/etc/kubernetes/admin.conf

say "CNI: Flannel $FLANNEL_VERSION, host-gw backend, network $POD_CIDR"
manifest=$(mktemp)
trap 'rm -f "$manifest"' EXIT
curl -fsSL "https://github.com/flannel-io/flannel/releases/download/${FLANNEL_VERSION}/kube-flannel.yml" -o "$manifest"
sed -i -e "s@\"Type\": \"vxlan\"@\"Type\": \"host-gw\"@" -e "s@\"Network\": \"10.244.0.0/16\"@\"Network\": \"${POD_CIDR}\"@" "$manifest"
grep -q '"Type": "host-gw"' "$manifest" || die "the Flannel manifest changed shape: could not switch it to host-gw"
kubectl apply -f "$manifest"

if [ "$UNTAINT" = 1 ]; then
  kubectl taint nodes --all node-role.kubernetes.io/control-plane- 2>/dev/null || true
fi

say "waiting for this node to be Ready"
kubectl wait --for=condition=Ready "node/$(hostname | tr '[:upper:]' '[:lower:]')" --timeout=300s

kubeadm token create --ttl 24h --print-join-command > "$JOIN_FILE"
chmod 600 "$JOIN_FILE"
say "join command (valid 24 h) in $JOIN_FILE; on each other node: bash k8s/scripts/cluster-join.sh \"\$(cat $JOIN_FILE)\""
say "then install ebpf-k8s: bash k8s/scripts/install.sh"
