#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# npm run demo: set up this machine, then run the system with a lab cluster.
set -euo pipefail
cd "$(dirname "$0")/.." || exit 1
bash scripts/setup.sh
exec node_modules/.bin/tsx scripts/demo.ts
