#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What development, tests and benchmarks need, after agent-node.sh and control.sh: the
# compilers of bpf-build.list, the test tools of dev.list, Deno (the npm package `deno`, a dev
# dependency), a working bpf(), and bpf/ and scripts/tools/ compiled into build/.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/setup/lib.sh

install_missing scripts/setup/bpf-build.list scripts/setup/dev.list
[ -x node_modules/.bin/deno ] || die "node_modules/.bin/deno missing after npm ci"

# bpf() must work: bpftool asks the kernel for its programs.
bpftool prog show >/dev/null 2>&1 || die "the bpf() system call is not permitted here (bpftool prog show failed): need CONFIG_BPF_SYSCALL and CAP_BPF/CAP_SYS_ADMIN, and no seccomp filter blocking bpf()"

bash scripts/build-bpf.sh
bash scripts/build-tools.sh
