#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Another node of the cluster (same subnet as the first): prepares the machine and joins
# with the command cluster-init.sh wrote (kubeadm token create --print-join-command).
#
#   bash k8s/scripts/cluster-join.sh "kubeadm join 10.0.0.10:6443 --token … --discovery-token-ca-cert-hash sha256:…"
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

say() { echo "cluster-join: $*" >&2; }
die() { echo "cluster-join: ERROR: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 \"kubeadm join HOST:PORT --token T --discovery-token-ca-cert-hash sha256:H\""
[ "$(id -u)" = 0 ] || die "run as root"
read -r -a join <<< "$1"
if [ "${join[0]:-}" != kubeadm ] || [ "${join[1]:-}" != join ]; then die "not a kubeadm join command: $1"; fi
[[ " $1 " == *" --token "* && " $1 " == *" --discovery-token-ca-cert-hash sha256:"* ]] ||
  die "the join command needs --token and --discovery-token-ca-cert-hash (kubeadm token create --print-join-command prints both)"

bash "$HERE/node-prep.sh"
if [ -f /etc/kubernetes/kubelet.conf ]; then
  say "already joined (/etc/kubernetes/kubelet.conf exists)"
  exit 0
fi
say "joining: ${join[2]:-?}"
"${join[@]}"
say "joined; the ebpf-k8s agent DaemonSet starts here by itself once install.sh has run"
