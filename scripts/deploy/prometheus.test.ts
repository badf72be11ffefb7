// SPDX-License-Identifier: Apache-2.0
/**
 * A real Prometheus (Debian's package) scrapes the control plane's and the
 * agent's /metrics, and its PromQL answers equal the JSON API's numbers and
 * the packets sent. The agent runs with the Deno permissions of its systemd
 * unit (scripts/systemd/ebpf-k8s-agent.service), so they are shown to suffice.
 * Every PromQL expression of the shipped Grafana dashboards (k8s/dashboards/) and
 * the value of every alert of the shipped rules (k8s/alerts/) returns data, after
 * traffic made for them: refused connections and dropped datagrams counted exactly,
 * a NodePort with no backend whose packets the gateway drops, a service with backends;
 * the failed-connections and drops alerts go pending on that traffic, the silent-agent
 * alert once the agent stopped, and promtool accepts the rule file.
 * Everything binds to loopback or the lab's own addresses; Prometheus, the
 * control plane and the agent are stopped by pid, their dirs removed, also on failure.
 */
import { execFileSync } from "node:child_process";
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
import { parseExposition, type Sample, valueOf } from "../../control/metrics/parse.test-support.ts";
import { ROOT, RULES_FILE } from "../dashboards/build.ts";
import { alertRules, dashboardQueries, fillIn } from "../dashboards/queries.ts";
import { inPod, run } from "../lab/traffic.ts";
import { inNetns } from "../lab/shell.ts";

const PROMETHEUS = "/usr/bin/prometheus";
const PROMTOOL = "/usr/bin/promtool";
const prometheusMissing = () => toolMissing(PROMETHEUS, "prometheus");
const missing = kernelMissing() ?? prometheusMissing();

const N = 20;
const SIZE = 200;
const AGENT_METRICS_PORT = 9810;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Refused connections: over 60, so above the failed-connections alert's 1/s over its minute. */
const REFUSED = 100;
/** Datagrams to a closed port, each dropped by the kernel: over 6,000, above the drops alert's 100/s over its minute. */
const DATAGRAMS = 8_000;
/** Datagrams from outside the cluster to a NodePort with no backend: the gateway drops each (noBackend). */
const TO_NODE_PORT = 20;
const NODE_PORT = 30_081;
/** Grafana's $__rate_interval: four scrapes at least (here 1 s apart), with a margin. */
const RATE_INTERVAL = "15s";
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
  const api = async <T>(path: string): Promise<T> =>
    ((await (await fetch(`${promUrl}${path}`)).json()) as { data: T }).data;
  /** The alerting rules as Prometheus evaluates them. */
  const rules = async () =>
    (await api<{ groups: { rules: { name: string; health: string; lastEvaluation: string }[] }[] }>("/api/v1/rules"))
      .groups.flatMap((g) => g.rules);
  /** Alerts pending or firing. */
  const alerts = async () =>
    (await api<{ alerts: { labels: Record<string, string>; state: string }[] }>("/api/v1/alerts")).alerts;

  beforeAll(async () => {
    c = new Cluster({
      name: "prom",
      index: 5,
      nodes: 1,
      pods: 2,
      outside: true,
      port: 21_500 + (process.pid % 400),
      interval: 0.5,
      // A silent agent is Stale (not Ready) after 3 s; thresholds are judged every second.
      controlEnv: { EBPF_K8S_STALE_AFTER: "3", EBPF_K8S_LOST_AFTER: "6", EBPF_K8S_ALERT_INTERVAL: "1s" },
    });
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
    // The gateway on the node's eth0 (in the lab node's netns), for the NodePort the outside client sends to.
    agent = start("agent", argv, { EBPF_K8S_GATEWAY_INTERFACES: "eth0", EBPF_K8S_GATEWAY_ADDRESSES: node.ip });
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
        `rule_files: ["${ROOT}${RULES_FILE}"]`,
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
  }, 180_000);

  it("promtool accepts the alert rules; Prometheus loaded them, healthy", async () => {
    expect(execFileSync(PROMTOOL, ["check", "rules", `${ROOT}${RULES_FILE}`], { encoding: "utf8" })).toMatch(
      /SUCCESS: \d+ rules found/,
    );
    const alerts = alertRules().map((a) => a.alert).sort();
    const loaded = await waitFor("the rules evaluated", async () => {
      const r = await rules();
      return r.length === alerts.length && r.every((x) => x.lastEvaluation !== "0001-01-01T00:00:00Z") ? r : null;
    }, 20_000);
    expect(loaded.map((r) => r.name).sort()).toEqual(alerts);
    expect(loaded.filter((r) => r.health !== "ok")).toEqual([]);
  });

  it("failed connections and drops counted exactly; every dashboard query and alert value returns data", async () => {
    const node = c.node(0);
    const [p1, p2] = node.pods;
    const nodeName = c.nodeName(node);
    const agentUrl = `http://${node.ip}:${AGENT_METRICS_PORT}/metrics`;
    const agentSamples = async () => parseExposition(await (await fetch(agentUrl)).text()).samples;
    const failed = (s: Sample[]) => valueOf(s, "ebpf_k8s_agent_tcp_connections_failed_total", { reason: "refused" });
    const dropped = (s: Sample[]) => valueOf(s, "ebpf_k8s_agent_dropped_packets_total");
    for (const m of ["tcp", "drops"]) {
      expect(await scalar(`ebpf_k8s_agent_module_enabled{node="${nodeName}",module="${m}"}`), m).toBe(1);
    }

    // A service with backends (the services dashboard's backends), and a NodePort with none (the gateway's).
    for (
      const svc of [
        {
          namespace: "shop",
          name: "web",
          vip: "10.96.0.10",
          port: 80,
          protocol: "TCP",
          backends: [p1, p2].map((p) => ({ ip: p.ip, port: 8080 })),
        },
        {
          namespace: "shop",
          name: "gone",
          type: "NodePort",
          vip: "10.96.0.11",
          port: 53,
          nodePort: NODE_PORT,
          protocol: "UDP",
        },
      ]
    ) {
      const res = await c.admin("POST", "/api/v1/services", svc);
      expect(res.ok, await res.text()).toBe(true);
    }
    // A threshold every node crosses at once (the cluster dashboard's active alerts).
    const t = await c.admin("POST", "/api/v1/thresholds", {
      metric: "heartbeatAgeSeconds",
      scope: { kind: "all" },
      upper: 0,
      holdSeconds: 0,
    });
    expect(t.ok, await t.text()).toBe(true);

    // Refused connections (each SYN also dropped NO_SOCKET at p2), then datagrams to a port nothing listens on.
    const t0 = Date.now();
    const before = await agentSamples();
    await run(
      inPod(p1, ["bash", "-c", `for i in $(seq ${REFUSED}); do nc -z -w 2 ${p2.ip} 81 && exit 1; done; exit 0`]),
    );
    await run(inPod(p1, [
      "python3",
      "-c",
      `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n` +
      `for _ in range(${DATAGRAMS}): s.sendto(b"x", ("${p2.ip}", 9))`,
    ]));
    const counted = await waitFor("the agent to count them", async () => {
      const s = await agentSamples();
      return failed(s) - failed(before) === REFUSED && dropped(s) - dropped(before) >= REFUSED + DATAGRAMS ? s : null;
    }, 30_000).catch(async (e) => {
      const s = await agentSamples();
      throw new Error(`${e.message}: failed +${failed(s) - failed(before)}, dropped +${dropped(s) - dropped(before)}`);
    });
    await sleep(2_000); // a few more intervals: nothing more comes
    const settled = await agentSamples();
    expect(failed(settled) - failed(before)).toBe(REFUSED);
    const byReason = await c.get<{ byReason: unknown[]; drops: unknown[] }>(
      `/api/v1/drops?since=${new Date(t0).toISOString()}`,
    );
    expect(dropped(settled) - dropped(before), JSON.stringify(byReason)).toBe(REFUSED + DATAGRAMS);
    expect(dropped(settled)).toBe(dropped(counted));
    // Prometheus holds the agent's numbers.
    await waitFor(
      "Prometheus to hold the agent's failed connections",
      async () =>
        (await scalar(`ebpf_k8s_agent_tcp_connections_failed_total{node="${nodeName}",reason="refused"}`)) ===
          failed(settled),
      20_000,
    );

    // The outside client's datagrams to the NodePort with no backend: each dropped by the gateway, counted. The
    // gateway is switched on only now: attaching to eth0 costs a frame or two (NOT_SPECIFIED drops) that would
    // blur the exact drop count above.
    const gatewayOn = await c.admin("PUT", `/api/v1/nodes/${nodeName}/modules/gateway`, { enabled: true });
    expect(gatewayOn.ok, await gatewayOn.text()).toBe(true);
    const X = c.lab.topology.outside!;
    const sendToNodePort = (n: number) =>
      run(inNetns(X.netns, [
        "timeout",
        "10",
        "bash",
        "-c",
        `for i in $(seq ${n}); do echo x > /dev/udp/${node.ip}/${NODE_PORT}; done`,
      ]));
    const noBackend = `ebpf_k8s_gateway_no_backend_packets_total{job="control",namespace="shop",service="gone"}`;
    // Until the gateway has the service (a datagram before it is not the gateway's), one at a time.
    await waitFor("the gateway to drop a first datagram", async () => {
      await sendToNodePort(1);
      await sleep(1_000);
      return ((await scalar(noBackend)) ?? 0) > 0;
    }, 60_000);
    // Then settled (the last probes may still be on their way: an agent interval, a scrape), unchanged over 3 s.
    const first = await waitFor("the count of the probes to settle", async () => {
      const a = await scalar(noBackend);
      await sleep(3_000);
      return a === (await scalar(noBackend)) ? a! : null;
    }, 30_000);
    await sendToNodePort(TO_NODE_PORT);
    await waitFor(
      `${TO_NODE_PORT} more dropped for no backend`,
      async () => (await scalar(noBackend)) === first + TO_NODE_PORT,
      30_000,
    )
      .catch(async (e) => {
        throw new Error(`${e.message}: ${await scalar(noBackend)} after ${first}`);
      });
    await sleep(5_000); // rate() over RATE_INTERVAL: several scrapes past the traffic

    // Every dashboard's variables have values, and every panel query returns data with them.
    const empty: string[] = [];
    for (const d of dashboardQueries()) {
      const values: Record<string, string[]> = {};
      for (const v of d.variables) {
        const selector = fillIn(v.selector, values, RATE_INTERVAL);
        const res = await fetch(`${promUrl}/api/v1/label/${v.label}/values?match[]=${encodeURIComponent(selector)}`);
        values[v.name] = ((await res.json()) as { data: string[] }).data;
        if (values[v.name]!.length === 0) empty.push(`${d.name} $${v.name}: ${selector}`);
      }
      if (d.name === "node") expect(values.node).toContain(nodeName);
      if (d.name === "services") expect(values.service?.sort()).toEqual(["gone", "web"]);
      for (const expr of d.exprs) {
        const filled = fillIn(expr, values, RATE_INTERVAL);
        if ((await query(filled)).length === 0) empty.push(`${d.name}: ${filled}`);
      }
    }
    // Every alert's value (its expression before the comparison with its threshold).
    for (const a of alertRules()) if ((await query(a.value)).length === 0) empty.push(`alert ${a.alert}: ${a.value}`);
    expect(empty).toEqual([]);

    // The traffic above crosses two alerts' thresholds: they are pending (held for their `for`) or firing.
    await waitFor("the failed-connections and drops alerts", async () => {
      const active = (await alerts()).filter((a) => a.labels.node === nodeName).map((a) => a.labels.alertname);
      return active.includes("EbpfK8sFailedConnections") && active.includes("EbpfK8sDrops") ? active : null;
    }, 20_000);
  }, 180_000);

  it("the silent-agent alert once the agent stopped (under the unit's permissions, cleanly)", async () => {
    const nodeName = c.nodeName(c.node(0));
    const silent = async () =>
      (await alerts()).find((a) => a.labels.alertname === "EbpfK8sAgentSilent" && a.labels.node === nodeName);
    expect(await silent()).toBeUndefined();
    expect(await agent!.stop(15_000), agent!.output()).toBe(0);
    await waitFor("EbpfK8sAgentSilent for the node", silent, 30_000);
  }, 60_000);
});
