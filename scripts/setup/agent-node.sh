#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What a node needs to run the agent, and nothing of tests or compilers: the preconditions
# set-up cannot fix (root, Linux, BTF), the Debian packages of agent-node.list, and the
# kernel file systems the agent uses (bpffs, tracefs, cgroup v2). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/setup/lib.sh

[ "$(id -u)" = 0 ] || die "must run as root: loading eBPF programs and creating network namespaces need CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN (try: sudo npm test)"
[ "$(uname -s)" = Linux ] || die "Linux is required"
[ -r /sys/kernel/btf/vmlinux ] || die "the kernel has no BTF (/sys/kernel/btf/vmlinux missing): CO-RE programs need a kernel built with CONFIG_DEBUG_INFO_BTF=y"

install_missing scripts/setup/agent-node.list

if ! grep -q ' /sys/fs/bpf bpf ' /proc/mounts; then
  say "mounting bpffs on /sys/fs/bpf"
  mount -t bpf bpf /sys/fs/bpf || die "cannot mount bpffs on /sys/fs/bpf"
fi
if ! grep -qE ' (/sys/kernel/tracing|/sys/kernel/debug/tracing) tracefs ' /proc/mounts; then
  say "mounting tracefs on /sys/kernel/tracing"
  mount -t tracefs tracefs /sys/kernel/tracing || die "cannot mount tracefs on /sys/kernel/tracing (tracepoints need it)"
fi
if ! grep -q ' cgroup2 ' /proc/mounts; then
  say "mounting cgroup v2 on /sys/fs/cgroup/unified"
  mkdir -p /sys/fs/cgroup/unified
  mount -t cgroup2 none /sys/fs/cgroup/unified || die "cannot mount cgroup v2 (cgroup eBPF programs need it)"
fi
