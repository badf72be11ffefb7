#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# npm run bench: every benchmark, each reporting ratios against a baseline
# measured side by side in the same run (the machine is noisy).
set -uo pipefail
# One benchmark missing its target or failing does not stop the others; each says so itself.
cd "$(dirname "$0")/.." || exit 1
bash scripts/setup.sh || exit 1
export PATH="$PWD/node_modules/.bin:$PATH"
echo "== eBPF programs (BPF_PROG_TEST_RUN) =="
deno run --allow-ffi --allow-read --allow-env agent/bench/tc_programs.ts
deno run --allow-ffi --allow-read --allow-env agent/bench/flows_program.ts
echo
echo "== monitoring overhead and agent footprint (lab namespaces) =="
deno run --allow-all agent/bench/monitoring_overhead.ts
deno run --allow-all agent/bench/agent_footprint.ts
tsx scripts/footprint/footprint.ts   # control plane and agents under the demo's load (README "Resource use")
echo
echo "== DNS visibility: ns/packet next to an empty tc program; iperf3 and dnsperf with the dns module on and off (lab namespaces) =="
deno run --allow-ffi --allow-read --allow-env agent/bench/dns.ts
deno run --allow-all agent/bench/dns_overhead.ts
echo
echo "== service load balancing: connection set-up rate, socket LB vs iptables DNAT (lab namespaces) =="
deno run --allow-all agent/bench/lb_connect_rate.ts
echo
echo "== socket acceleration: Redis and Nginx pod to pod on one node, accelerated vs plain (lab namespaces) =="
deno run --allow-all agent/bench/accel.ts
echo
echo "== gateway (XDP): ns/packet next to an empty XDP program; iperf3 through the gateway vs straight (lab namespaces) =="
deno run --allow-all agent/bench/gateway.ts
echo
echo "== control plane ingest (simulated agents, embedded libSQL; control plane under Node and Deno; 5,000 nodes for 12.5 minutes) =="
tsx control/bench/ingest.ts
echo
echo "== flow stream fan-out (1,000 simulated nodes without and with 50 followers of /api/v1/flows/stream) =="
tsx control/bench/flow-stream.ts
echo
echo "== page render (overview and host page over a day of rollups of 1,000 nodes) =="
tsx control/bench/render.ts
echo
echo "== flow explorer (GET /api/v1/flows with verdicts, against the plain flows query; 200 nodes, 5 minutes raw) =="
tsx control/bench/flow-explorer.ts
echo
echo "== images (podman, bases from this machine's Debian packages): build both, their sizes, run them on a lab node =="
tsx scripts/deploy/images.bench.ts
