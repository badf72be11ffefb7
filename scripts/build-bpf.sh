#!/usr/bin/env bash
# Compiles every bpf/*.bpf.c into build/bpf/*.bpf.o (CO-RE, BTF included).
# -mcpu=v3 (kernel 5.12+) for 32-bit ALU and atomic fetch-and-or.
# Rebuilds an object only when its source, a shared header or vmlinux.h is newer.
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=$(uname -m); case "$ARCH" in x86_64) ARCH=x86;; aarch64) ARCH=arm64;; esac
mkdir -p build/bpf
newest_dep=build/include/vmlinux.h
for h in bpf/include/*.h; do [ "$h" -nt "$newest_dep" ] && newest_dep=$h; done
for src in bpf/*.bpf.c; do
  obj=build/bpf/$(basename "${src%.c}").o
  if [ -f "$obj" ] && [ "$obj" -nt "$src" ] && [ "$obj" -nt "$newest_dep" ]; then continue; fi
  echo "build-bpf: $src -> $obj" >&2
  clang -target bpf -mcpu=v3 -O2 -g -Wall -Werror "-D__TARGET_ARCH_$ARCH" \
    -I build/include -I bpf/include -c "$src" -o "$obj.tmp"
  mv "$obj.tmp" "$obj"
done
