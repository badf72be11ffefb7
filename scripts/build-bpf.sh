#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Compiles every bpf/*.bpf.c into build/bpf/*.bpf.o (CO-RE, BTF included),
# and the variants below: a program built again with a define, for benchmarks.
# -mcpu=v3 (kernel 5.12+) for 32-bit ALU and atomic fetch-and-or.
# Rebuilds an object only when its source, a shared header or vmlinux.h is newer.
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=$(uname -m); case "$ARCH" in x86_64) ARCH=x86;; aarch64) ARCH=arm64;; esac
mkdir -p build/bpf build/include
# vmlinux.h from the building kernel's BTF (CO-RE: the objects then run on every kernel with BTF).
VMLINUX=build/include/vmlinux.h
if [ ! -s "$VMLINUX" ] || [ /sys/kernel/btf/vmlinux -nt "$VMLINUX" ]; then
  [ -r /sys/kernel/btf/vmlinux ] || { echo "build-bpf: ERROR: no $VMLINUX and no /sys/kernel/btf/vmlinux to generate it from" >&2; exit 1; }
  echo "build-bpf: generating $VMLINUX from /sys/kernel/btf/vmlinux" >&2
  # (an `a && b` list failing does not stop a set -e script: say it, and leave no stale or half file)
  if ! bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$VMLINUX.tmp"; then
    rm -f "$VMLINUX.tmp"
    echo "build-bpf: ERROR: bpftool could not dump /sys/kernel/btf/vmlinux" >&2
    exit 1
  fi
  mv "$VMLINUX.tmp" "$VMLINUX"
fi
newest_dep=$VMLINUX
for h in bpf/include/*.h; do [ "$h" -nt "$newest_dep" ] && newest_dep=$h; done

# build SRC OBJ [CLANG FLAGS...]
build() {
  local src=$1 obj=$2
  shift 2
  if [ -f "$obj" ] && [ "$obj" -nt "$src" ] && [ "$obj" -nt "$newest_dep" ]; then return; fi
  echo "build-bpf: $src $* -> $obj" >&2
  clang -target bpf -mcpu=v3 -O2 -g -Wall -Werror "-D__TARGET_ARCH_$ARCH" \
    -I build/include -I bpf/include "$@" -c "$src" -o "$obj.tmp"
  mv "$obj.tmp" "$obj"
}

for src in bpf/*.bpf.c; do
  build "$src" "build/bpf/$(basename "${src%.c}").o"
done
# The gateway without its per-packet expiry bookkeeping: agent/bench/gateway.ts measures what that costs.
build bpf/gateway.bpf.c build/bpf/gateway_noexpiry.bpf.o -DGW_NO_EXPIRY=1
