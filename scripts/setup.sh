#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Makes this machine ready to build, run and test ebpf-k8s: all three parts of scripts/setup/,
# which a machine that only runs a part uses alone:
#   scripts/setup/agent-node.sh  a node that runs the agent (libbpf1, kernel file systems; no compiler, no test tool)
#   scripts/setup/control.sh     a machine that runs the control plane (Node 20+, production npm packages)
#   scripts/setup/dev.sh         development, tests and benchmarks (clang, bpftool, lab and test tools, build/)
# Idempotent and quiet when nothing is missing; says exactly what is missing when it cannot
# fix it itself (not root, no BTF, no bpf()).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup/agent-node.sh
EBPF_K8S_SETUP_DEV=1 bash scripts/setup/control.sh
bash scripts/setup/dev.sh
