#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# npm test: set up this machine, then run every test: the static checks (tsc,
# deno fmt --check, deno lint), vitest (control plane, web, schemas, lab,
# end-to-end) and deno test (the agent's FFI and kernel side).
# All three always run; the exit code is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
bash scripts/setup.sh || exit 1
mkdir -p artifacts
export PATH="$PWD/node_modules/.bin:$PATH"

status=0
echo "== static checks ==" >&2
node scripts/static-checks.mjs artifacts/static-junit.xml || status=1
echo "== vitest ==" >&2
vitest run --reporter=default --reporter=junit --outputFile.junit=artifacts/vitest-junit.xml || status=1
echo "== deno test (agent, real kernel) ==" >&2
deno test --allow-all --junit-path=artifacts/deno-junit.xml agent/ || status=1

node scripts/test-summary.mjs artifacts/static-junit.xml artifacts/vitest-junit.xml artifacts/deno-junit.xml || status=1
exit $status
