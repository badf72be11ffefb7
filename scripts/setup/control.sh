#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What the control plane needs to run: Node 20 or newer, the Debian packages of control.list
# and the production npm packages (npm ci --omit=dev). scripts/setup.sh sets
# EBPF_K8S_SETUP_DEV=1, which installs the development packages too (one npm ci for both).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/setup/lib.sh

command -v node >/dev/null || die "Node 20 or newer is needed (node not found)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
  || die "Node 20 or newer is needed (this is $(node --version))"
command -v npm >/dev/null || die "npm is needed"

[ "$(id -u)" = 0 ] && install_missing scripts/setup/control.list

omit=(--omit=dev)
[ "${EBPF_K8S_SETUP_DEV:-}" = 1 ] && omit=()
# The lock file of the last install records whether dev packages were in it.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
  || { [ ${#omit[@]} = 0 ] && [ ! -d node_modules/typescript ]; }; then
  say "installing npm packages (npm ci ${omit[*]-})"
  npm ci "${omit[@]}" --no-audit --no-fund --loglevel=error >/dev/null || die "npm ci failed"
fi
