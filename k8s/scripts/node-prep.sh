#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Prepares one Debian 12 machine to be a Kubernetes node (run as root on every node, before
# cluster-init.sh or cluster-join.sh, which call it): kernel modules and sysctls, no swap,
# containerd with the systemd cgroup driver, bpffs mounted at boot, and kubeadm, kubelet and
# kubectl from the Kubernetes package repository (pkgs.k8s.io), held at K8S_VERSION.
#
#   K8S_VERSION=v1.33 bash k8s/scripts/node-prep.sh
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.33}

say() { echo "node-prep: $*" >&2; }
die() { echo "node-prep: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root"
[[ $K8S_VERSION =~ ^v1\.[0-9]+$ ]] || die "K8S_VERSION must look like v1.33 (a minor version), not '$K8S_VERSION'"
[ -r /sys/kernel/btf/vmlinux ] || die "the kernel has no BTF (/sys/kernel/btf/vmlinux): the ebpf-k8s agent needs CONFIG_DEBUG_INFO_BTF=y"
grep -q ' cgroup2 ' /proc/mounts || die "cgroup v2 is not mounted: boot with systemd.unified_cgroup_hierarchy=1"

say "kernel modules and sysctls for pod networking"
cat > /etc/modules-load.d/ebpf-k8s-kubernetes.conf <<'CONF'
overlay
br_netfilter
CONF
modprobe overlay
modprobe br_netfilter
cat > /etc/sysctl.d/90-ebpf-k8s-kubernetes.conf <<'CONF'
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward = 1
CONF
sysctl --system >/dev/null

say "swap off (kubelet refuses to start with swap by default)"
swapoff -a
sed -i -E 's@^([^#].*[[:space:]]swap[[:space:]].*)$@# \1  # disabled for kubelet@' /etc/fstab

say "bpffs on /sys/fs/bpf at every boot (the agent pins its maps there)"
cat > /etc/systemd/system/sys-fs-bpf.mount <<'UNIT'
[Unit]
Description=BPF file system (ebpf-k8s pins)
DefaultDependencies=no
Before=local-fs.target

[Mount]
What=bpffs
Where=/sys/fs/bpf
Type=bpf
Options=rw,nosuid,nodev,noexec,relatime,mode=700

[Install]
WantedBy=local-fs.target
UNIT
systemctl daemon-reload
if ! grep -q ' /sys/fs/bpf bpf ' /proc/mounts; then systemctl enable --now sys-fs-bpf.mount; fi

export DEBIAN_FRONTEND=noninteractive
say "containerd (Debian's), with the systemd cgroup driver"
apt-get update -qq
apt-get install -y -qq --no-install-recommends containerd apt-transport-https ca-certificates curl gpg conntrack socat ethtool
mkdir -p /etc/containerd
containerd config default > /etc/containerd/config.toml
sed -i 's/SystemdCgroup = false/SystemdCgroup = true/' /etc/containerd/config.toml
systemctl restart containerd
systemctl enable containerd >/dev/null

say "kubeadm, kubelet, kubectl $K8S_VERSION from pkgs.k8s.io"
install -d -m 755 /etc/apt/keyrings
curl -fsSL "https://pkgs.k8s.io/core:/stable:/${K8S_VERSION}/deb/Release.key" | gpg --dearmor --yes -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg
echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/${K8S_VERSION}/deb/ /" > /etc/apt/sources.list.d/kubernetes.list
apt-get update -qq
apt-get install -y -qq --no-install-recommends kubelet kubeadm kubectl
apt-mark hold kubelet kubeadm kubectl >/dev/null
systemctl enable kubelet >/dev/null
say "ready: $(kubeadm version -o short), containerd $(containerd --version | awk '{print $3}')"
