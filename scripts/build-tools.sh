#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Compiles the test and bench tools in scripts/tools/*.c into build/tools/.
# Rebuilds a tool only when its source is newer than the binary.
set -euo pipefail
cd "$(dirname "$0")/.." || exit 1
mkdir -p build/tools
for src in scripts/tools/*.c; do
  bin=build/tools/$(basename "${src%.c}")
  if [ -x "$bin" ] && [ "$bin" -nt "$src" ]; then continue; fi
  echo "build-tools: $src -> $bin" >&2
  clang -O2 -Wall -Werror -o "$bin.tmp" "$src"
  mv "$bin.tmp" "$bin"
done
