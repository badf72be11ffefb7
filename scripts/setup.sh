#!/usr/bin/env bash
# Makes this machine ready to build, run and test ebpf-k8s.
# Idempotent and quiet when nothing is missing; says exactly what is missing
# when it cannot fix it itself (not root, no BTF, no bpf()).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*" >&2; }
die() { echo "setup: ERROR: $*" >&2; exit 1; }

# --- preconditions that set-up cannot fix ---------------------------------
[ "$(id -u)" = 0 ] || die "must run as root: loading eBPF programs and creating network namespaces need CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN (try: sudo npm test)"
[ -r /sys/kernel/btf/vmlinux ] || die "the kernel has no BTF (/sys/kernel/btf/vmlinux missing): CO-RE programs need a kernel built with CONFIG_DEBUG_INFO_BTF=y"
[ "$(uname -s)" = Linux ] || die "Linux is required"

# --- Debian packages ---------------------------------------------------------
# command -> package; only what is missing is installed.
APT_NEEDS=(
  clang:clang llc:llvm bpftool:bpftool tc:iproute2 ip:iproute2
  ping:iputils-ping nc:netcat-openbsd iperf3:iperf3
  /usr/include/bpf/libbpf.h:libbpf-dev /usr/lib/x86_64-linux-gnu/libbpf.so.1:libbpf1
  /usr/bin/python3:python3    # servers and clients of the lb kernel tests (agent/modules/lb/lb_lab.ts)
  iptables:iptables           # the kube-proxy baseline of the load-balancing bench (in lab namespaces only)
  redis-server:redis-server redis-cli:redis-tools redis-benchmark:redis-tools   # socket acceleration tests and bench (agent/modules/accel)
  nginx:nginx wrk:wrk curl:curl                                                  # (the tests run their own instances on lab addresses only)
  /usr/bin/chromium:chromium   # browser tests (scripts/browser/): Debian's build, driven by playwright-core; npm never downloads one
  /usr/bin/prometheus:prometheus  # scrapes the control plane's and the agent's /metrics in scripts/deploy/prometheus.test.ts (loopback only)
  shellcheck:shellcheck        # lints the cluster set-up and install scripts (scripts/deploy/scripts.test.ts)
  systemd-analyze:systemd      # verifies the systemd units (scripts/deploy/systemd.test.ts)
  /usr/sbin/dnsmasq:dnsmasq-base dig:bind9-dnsutils   # DNS kernel tests (agent/modules/dns): a resolver and clients in lab pods;
                               # dnsmasq-base is the binary alone: no system dnsmasq service is installed or started
  dnsperf:dnsperf              # queries/s through a lab resolver, dns module on and off (agent/bench/dns_overhead.ts)
)
missing=()
for pair in "${APT_NEEDS[@]}"; do
  what=${pair%%:*}; pkg=${pair#*:}
  if [[ $what == /* ]]; then [ -e "$what" ] && continue; else command -v "$what" >/dev/null 2>&1 && continue; fi
  [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
fi

# --- npm packages (Deno comes from the npm 'deno' package) -----------------------
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null || die "npm ci failed"
fi
[ -x node_modules/.bin/deno ] || die "node_modules/.bin/deno missing after npm ci"

# --- kernel file systems ---------------------------------------------------------
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

# bpf() must work: bpftool asks the kernel for its programs.
bpftool prog show >/dev/null 2>&1 || die "the bpf() system call is not permitted here (bpftool prog show failed): need CONFIG_BPF_SYSCALL and CAP_BPF/CAP_SYS_ADMIN, and no seccomp filter blocking bpf()"

# --- eBPF objects ----------------------------------------------------------------
mkdir -p build/include build/bpf
VMLINUX=build/include/vmlinux.h
if [ ! -s "$VMLINUX" ] || [ /sys/kernel/btf/vmlinux -nt "$VMLINUX" ]; then
  say "generating $VMLINUX from /sys/kernel/btf/vmlinux"
  bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$VMLINUX.tmp" && mv "$VMLINUX.tmp" "$VMLINUX"
fi
bash scripts/build-bpf.sh
bash scripts/build-tools.sh
