/**
 * A real Prometheus (Debian's package) scrapes the control plane's and the
 * agent's /metrics, and its PromQL answers equal the JSON API's numbers and
 * the packets sent. The agent runs with the Deno permissions of its systemd
 * unit (scripts/systemd/ebpf-k8s-agent.service), so they are shown to suffice.
 * Everything binds to loopback or the lab's own addresses; Prometheus, the
 * control plane and the agent are stopped by pid, their dirs removed, also on failure.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_APP_SETTINGS } from "../../control/config.ts";
import { type ApiIf, Cluster, ping } from "../cluster.ts";
import { kernelMissing } from "../e2e/kernel.ts";
import { podsFilePath } from "../lab/pods-file.ts";
import { agentArgv, type Proc, start, waitFor } from "../procs.ts";
import { toolMissing } from "./tools.ts";
import { agentUnitDenoFlags } from "./units.ts";
import { METRIC_LABELS, PROMETHEUS_LABELS } from "../../control/wire/metric-labels.ts";

const PROMETHEUS = "/usr/bin/prometheus";
const prometheusMissing = () => toolMissing(PROMETHEUS, "prometheus");
const missing = kernelMissing() ?? prometheusMissing();

const N = 20;
const SIZE = 200;
const AGENT_METRICS_PORT = 9810;
/** Labels Prometheus may see on our series: ours (bounded) and those it adds. */
const ALLOWED_LABELS: readonly string[] = [...PROMETHEUS_LABELS, ...METRIC_LABELS];

interface PromVector {
  metric: Record<string, string>;
  value: [number, string];
}

describe.skipIf(missing)("Prometheus scrapes the control plane and the agent", () => {
  let c: Cluster;
  let agent: Proc | undefined;
  let prom: Proc | undefined;
  const promDir = mkdtempSync(`${tmpdir()}/ek8s-prometheus-`);
  const promPort = 21_000 + (process.pid % 400);
  const promUrl = `http://127.0.0.1:${promPort}`;

  const query = async (q: string): Promise<PromVector[]> => {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as {
      status: string;
      data: { resultType: string; result: PromVector[] };
      error?: string;
    };
    if (body.status !== "success") throw new Error(`PromQL ${q}: ${body.error}`);
    return body.data.result;
  };
  const scalar = async (q: string): Promise<number | undefined> => {
    const r = await query(q);
    return r.length === 1 ? Number(r[0]!.value[1]) : undefined;
  };

  beforeAll(async () => {
    c = new Cluster({ name: "prom", index: 5, nodes: 1, pods: 2, port: 21_500 + (process.pid % 400), interval: 0.5 });
    await c.startControl();
    await c.createJoinToken();
  }, 60_000);

  afterAll(async () => {
    await prom?.stop(5_000);
    await agent?.stop();
    await c?.down();
    rmSync(promDir, { recursive: true, force: true });
  });

  it("PromQL answers equal the JSON API and the packets sent; labels stay bounded", async () => {
    const node = c.node(0);
    const [p1, p2] = node.pods;
    const nodeName = c.nodeName(node);

    // The agent as its systemd unit runs it: the unit's permission flags, paths moved to this test's dirs.
    const flags = agentUnitDenoFlags().map((f) => f.replaceAll("/var/lib/ebpf-k8s", c.dir));
    const argv = agentArgv({
      netns: node.netns,
      control: `http://${c.lab.topology.hostIp}:${c.port}`,
      node: nodeName,
      interfaces: [p1.hostVeth, p2.hostVeth],
      interval: 0.5,
      joinToken: c.joinToken,
      stateDir: `${c.dir}/state-${node.name}`,
      pinDir: c.pinDir,
      // read under /run/ebpf-k8s: the unit's --allow-read must cover it
      podsFile: podsFilePath(c.name, node.name),
    });
    const run = argv.indexOf("run");
    argv.splice(run + 1, argv.indexOf("agent/main.ts") - run - 1, ...flags);
    argv.push("--metrics-address", node.ip, "--metrics-port", String(AGENT_METRICS_PORT));
    agent = start("agent", argv);
    await waitFor(
      "the agent's first batch",
      async () => (await c.interfaces(node).catch(() => ({}) as Record<string, ApiIf>))[p2.hostVeth],
      60_000,
    )
      .catch((e) => {
        throw new Error(`${e.message}\n${c.logs()}\n${agent!.output()}`);
      });

    writeFileSync(
      `${promDir}/prometheus.yml`,
      [
        "global:",
        "  scrape_interval: 1s",
        "  evaluation_interval: 1s",
        "scrape_configs:",
        "  - job_name: control",
        `    static_configs: [{ targets: ["127.0.0.1:${c.port}"] }]`,
        "  - job_name: agent",
        `    static_configs: [{ targets: ["${node.ip}:${AGENT_METRICS_PORT}"] }]`,
        "",
      ].join("\n"),
    );
    prom = start("prometheus", [
      PROMETHEUS,
      `--config.file=${promDir}/prometheus.yml`,
      `--storage.tsdb.path=${promDir}/data`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      "--storage.tsdb.retention.time=1h",
    ]);
    await waitFor("both targets up", async () => (await scalar('sum(up{job=~"control|agent"})')) === 2, 60_000)
      .catch((e) => {
        throw new Error(`${e.message}\n${prom!.output().slice(-3000)}`);
      });

    ping(p1, p2.ip, N, SIZE);
    // Counters settle once the traffic stopped: the API's value, unchanged over a few agent intervals.
    const settled = await waitFor("the API totals to settle", async () => {
      const a = (await c.interfaces(node))[p1.hostVeth]!;
      await new Promise((r) => setTimeout(r, 1_500));
      const b = (await c.interfaces(node))[p1.hostVeth]!;
      return a.rxBytes === b.rxBytes && a.txBytes === b.txBytes && b.rxPackets >= N ? b : null;
    }, 30_000);
    expect(settled.rxPackets).toBe(N); // echo requests into the host side of pod 1's veth
    expect(settled.rxBytes).toBe(N * (SIZE + 8 + 20 + 14));

    const ifSel = `node="${nodeName}",interface="${p1.hostVeth}"`;
    // The control plane's series, as Prometheus stored it, equals the JSON API.
    const fromControl = await waitFor("Prometheus to hold the settled control-plane value", async () => {
      const v = await scalar(`ebpf_k8s_interface_rx_bytes_total{job="control",${ifSel}}`);
      return v === settled.rxBytes ? v : null;
    }, 20_000);
    expect(fromControl).toBe(settled.rxBytes);
    expect(await scalar(`ebpf_k8s_interface_tx_packets_total{job="control",${ifSel}}`)).toBe(settled.txPackets);
    // The agent's own series says the same.
    const fromAgent = await waitFor("Prometheus to hold the agent's value", async () => {
      const v = await scalar(`ebpf_k8s_agent_interface_rx_bytes_total{job="agent",${ifSel}}`);
      return v === settled.rxBytes ? v : null;
    }, 20_000);
    expect(fromAgent).toBe(settled.rxBytes);

    // Nodes: the PromQL count of Ready nodes equals the API's.
    const nodes = await c.get<{ name: string; status: string }[]>("/api/v1/nodes");
    expect(await scalar('sum(ebpf_k8s_nodes{job="control"})')).toBe(nodes.length);
    expect(await scalar('ebpf_k8s_nodes{job="control",status="Ready"}')).toBe(
      nodes.filter((n) => n.status === "Ready").length,
    );
    expect(await scalar(`ebpf_k8s_node_ready{node="${nodeName}"}`)).toBe(1);
    expect(await scalar(`ebpf_k8s_agent_module_enabled{node="${nodeName}",module="ifstats"}`)).toBe(1);
    expect(await scalar(`ebpf_k8s_agent_started{node="${nodeName}"}`)).toBe(1);
    expect(await scalar(`ebpf_k8s_agent_pods{node="${nodeName}"}`)).toBe(2); // from the pods file
    expect(await scalar(`ebpf_k8s_pods{node="${nodeName}"}`)).toBe(2);
    // The ingest load, a histogram among them, as Prometheus read it: every wait observed, the admitted batches' and
    // those of batches refused after waiting (two agents may post in the same instant: one of them may wait, even be
    // refused and send again; the totals above are exact either way).
    expect(await scalar('ebpf_k8s_ingest_in_flight_limit{job="control"}')).toBe(
      DEFAULT_APP_SETTINGS.ingestAdmission.maxInFlight,
    );
    expect(await scalar('ebpf_k8s_ingest_admitted_total{job="control"}')).toBeGreaterThan(0);
    // One query, so that all three come from the same scrape.
    expect(
      await scalar(
        'ebpf_k8s_ingest_queue_wait_seconds_bucket{job="control",le="+Inf"} ' +
          '- ignoring(le) ebpf_k8s_ingest_admitted_total{job="control"} ' +
          '- ignoring(le, reason) ebpf_k8s_ingest_shed_total{job="control",reason="queue_timeout"}',
      ),
    ).toBe(0);

    // Bounded labels: no label of any of our series is outside the documented set.
    const labels =
      (await (await fetch(`${promUrl}/api/v1/labels?match[]=${encodeURIComponent('{__name__=~"ebpf_k8s_.+"}')}`))
        .json()) as { data: string[] };
    expect(labels.data.filter((l) => !ALLOWED_LABELS.includes(l))).toEqual([]);
    // The agent's probes.
    expect((await fetch(`http://${node.ip}:${AGENT_METRICS_PORT}/readyz`)).status).toBe(200);
    expect((await fetch(`http://${node.ip}:${AGENT_METRICS_PORT}/healthz`)).status).toBe(200);

    // It stops cleanly under the unit's permissions too.
    expect(await agent.stop(15_000), agent.output()).toBe(0);
  }, 180_000);
});
