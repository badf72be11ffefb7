// SPDX-License-Identifier: Apache-2.0
/** The agent's /metrics, /healthz and /readyz, served on loopback before and without a started agent. */
import { assertEquals, assertMatch } from "./testing/assert.ts";
import { agentMetrics, readyWithinMs, serveMetrics } from "./metrics.ts";
import { exposition } from "../control/wire/exposition.ts";
import { parseConfig } from "./config.ts";
import { METRIC_LABELS } from "../control/wire/metric-labels.ts";

Deno.test("metrics: probes answer before the agent started: alive, not ready; /metrics says started 0", async () => {
  const logs: string[] = [];
  const server = await serveMetrics(
    { address: "127.0.0.1", port: 0, node: "n1", interval: 1 },
    () => undefined,
    (m) => logs.push(m),
  );
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const health = await fetch(`${base}/healthz`);
    assertEquals(health.status, 200);
    await health.body?.cancel();
    const ready = await fetch(`${base}/readyz`);
    assertEquals(ready.status, 503);
    assertEquals((await ready.json()).reason, "starting");
    const metrics = await fetch(`${base}/metrics`);
    assertEquals(metrics.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const text = await metrics.text();
    assertMatch(text, /^ebpf_k8s_agent_started\{node="n1"\} 0$/m);
    assertMatch(text, /^ebpf_k8s_agent_module_enabled\{node="n1",module="lb"\} 0$/m);
    const missing = await fetch(`${base}/nope`);
    assertEquals(missing.status, 404);
    await missing.body?.cancel();
    assertMatch(logs.join("\n"), /metrics and probes on http:\/\/127\.0\.0\.1:\d+/);
  } finally {
    await server.close();
  }
});

Deno.test("metrics: families are the documented ones, labels bounded to node, interface, module, reason, version, encoding", () => {
  const text = exposition(agentMetrics("n1", undefined));
  const labels = new Set([...text.matchAll(/[{,]([a-z_]+)="/g)].map((m) => m[1]));
  assertEquals([...labels].sort(), ["encoding", "module", "node", "reason", "version"]);
  // And every one in the contract's list, which Prometheus's test holds all our series to.
  for (const l of labels) assertEquals((METRIC_LABELS as readonly string[]).includes(l!), true, `label ${l}`);
  assertMatch(text, /^ebpf_k8s_agent_batches_refused_total\{node="n1",reason="version"\} 0$/m);
  assertMatch(text, /^ebpf_k8s_agent_batch_bytes_total\{node="n1",encoding="compact"\} 0$/m);
  assertMatch(text, /^ebpf_k8s_agent_tcp_connections_failed_total\{node="n1",reason="timeout"\} 0$/m);
  assertMatch(text, /^ebpf_k8s_agent_dropped_packets_total\{node="n1"\} 0$/m);
  assertEquals(readyWithinMs(0.5), 30_000);
  assertEquals(readyWithinMs(60), 180_000);
});

Deno.test("metrics: --metrics-port and --metrics-address with their environment variables and defaults", () => {
  const base = ["--control", "http://127.0.0.1:1", "--node", "n1"];
  const d = parseConfig(base, () => undefined);
  assertEquals([d.metricsAddress, d.metricsPort], ["0.0.0.0", 9810]);
  const f = parseConfig([...base, "--metrics-port", "0", "--metrics-address", "127.0.0.1"], () => undefined);
  assertEquals([f.metricsAddress, f.metricsPort], ["127.0.0.1", 0]);
  const env: Record<string, string> = { EBPF_K8S_METRICS_PORT: "9911", EBPF_K8S_METRICS_ADDRESS: "::1" };
  const e = parseConfig(base, (k) => env[k]);
  assertEquals([e.metricsAddress, e.metricsPort], ["::1", 9911]);
});
