#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs CI as it runs at landing, N times back to back: each run in a fresh clone
# of the current commit (HEAD; uncommitted changes are not in it) with a
# read-only copy of ../shared beside it, as `CI=true bash .ci/run`.
# Prints each run's result and duration, keeps each run's log, removes each
# clone after its run, and exits non-zero if any run failed.
#
#   bash scripts/ci-repeat.sh [N=5] [--keep]     logs in $CI_REPEAT_DIR (default: a new dir under /tmp)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
REPO=$PWD
N=${1:-5}
KEEP=${2:-}
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "ci-repeat: N must be a positive whole number, got '$N'" >&2; exit 2; }
[ -z "$KEEP" ] || [ "$KEEP" = --keep ] || { echo "ci-repeat: unknown option '$KEEP' (--keep keeps the clones)" >&2; exit 2; }
SHARED=$(cd "$REPO/.." && pwd)/shared
[ -d "$SHARED" ] || { echo "ci-repeat: $SHARED missing: CI runs with shared/ beside the clone" >&2; exit 2; }
COMMIT=$(git rev-parse HEAD)
[ -z "$(git status --porcelain)" ] || echo "ci-repeat: note: uncommitted changes are not tested, only $COMMIT" >&2

OUT=${CI_REPEAT_DIR:-$(mktemp -d /tmp/ci-repeat.XXXXXX)}
mkdir -p "$OUT"
echo "ci-repeat: $N runs of $(git log -1 --format='%h %s' | cut -c1-80); logs in $OUT" >&2

failed=0
for i in $(seq 1 "$N"); do
  run="$OUT/run-$i"
  rm -rf "$run"
  mkdir -p "$run"
  if ! git clone -q --no-hardlinks "$REPO" "$run/main" || ! git -C "$run/main" checkout -q "$COMMIT"; then
    echo "ci-repeat: clone of $COMMIT failed" >&2
    exit 1
  fi
  cp -r "$SHARED" "$run/shared" && chmod -R a-w "$run/shared"
  started=$(date +%s)
  (cd "$run/main" && CI=true bash .ci/run </dev/null >"$OUT/run-$i.log" 2>&1)
  rc=$?
  took=$(($(date +%s) - started))
  summary=$(grep -aE '^tests: [0-9]+ passed' "$OUT/run-$i.log" | tail -1)
  if [ $rc -eq 0 ]; then verdict=passed; else verdict="FAILED (exit $rc)"; failed=$((failed + 1)); fi
  printf 'run %d/%d: %s in %dm%02ds  %s\n' "$i" "$N" "$verdict" $((took / 60)) $((took % 60)) "${summary:-no summary line}"
  if [ $rc -ne 0 ]; then
    sed 's/\x1b\[[0-9;]*m//g' "$OUT/run-$i.log" | grep -aE '(FAIL|×|FAILED|failed) ' | head -20 | sed 's/^/    /'
  fi
  if [ "$KEEP" != --keep ]; then
    chmod -R u+w "$run/shared"
    rm -rf "$run"
  fi
done
echo "ci-repeat: $((N - failed)) of $N runs passed" >&2
[ $failed -eq 0 ]
