// SPDX-License-Identifier: Apache-2.0
/** GET /metrics of the control plane: the text format, the numbers of the JSON API, bounded labels, read protection. */
import { describe, expect, it } from "vitest";
import {
  AS_ADMIN,
  batch,
  bearer,
  getJson,
  iface,
  postBatch,
  READ_TOKEN,
  send,
  testApp,
  useTestDb,
} from "../test-support.ts";
import { exposition } from "../wire/exposition.ts";
import { METRIC_LABELS } from "../wire/metric-labels.ts";
import { parseExposition, valueOf } from "./parse.test-support.ts";

const s = useTestDb();

const ALLOWED_LABELS = new Set<string>(METRIC_LABELS);

describe("GET /metrics (control plane)", () => {
  it("says the nodes by status and each interface's counters, equal to the JSON API", async () => {
    const { app, clock } = testApp(s.db);
    await postBatch(
      app,
      batch({
        node: "node-a",
        interfaces: [iface({ ifname: "eth1", rxBytes: 12_345, rxPackets: 10, txBytes: 999, txPackets: 3, drops: 2 })],
      }),
    );
    await postBatch(app, batch({ node: "node-b", interfaces: [iface({ ifname: "cni0", rxBytes: 7 })] }));
    clock.now += 31_000;
    await postBatch(
      app,
      batch({
        node: "node-a",
        seq: 2,
        ts: clock.now,
        interfaces: [iface({ ifname: "eth1", rxBytes: 20_000, rxPackets: 20, txBytes: 1_000, txPackets: 4, drops: 2 })],
      }),
    );

    const res = await app.request("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const { samples, types } = parseExposition(await res.text());

    expect(valueOf(samples, "ebpf_k8s_nodes", { status: "Ready" })).toBe(1);
    expect(valueOf(samples, "ebpf_k8s_nodes", { status: "Stale" })).toBe(1);
    expect(valueOf(samples, "ebpf_k8s_nodes", { status: "Lost" })).toBe(0);
    expect(valueOf(samples, "ebpf_k8s_node_ready", { node: "node-a" })).toBe(1);
    expect(valueOf(samples, "ebpf_k8s_node_ready", { node: "node-b" })).toBe(0);
    expect(types.get("ebpf_k8s_interface_rx_bytes_total")).toBe("counter");

    const api = (await getJson(app, "/api/v1/nodes/node-a/interfaces")).body as {
      ifname: string;
      rxBytes: number;
      txPackets: number;
      drops: number;
    }[];
    const eth1 = api.find((i) => i.ifname === "eth1")!;
    expect(valueOf(samples, "ebpf_k8s_interface_rx_bytes_total", { node: "node-a", interface: "eth1" })).toBe(
      eth1.rxBytes,
    );
    expect(eth1.rxBytes).toBe(20_000);
    expect(valueOf(samples, "ebpf_k8s_interface_tx_packets_total", { node: "node-a", interface: "eth1" })).toBe(
      eth1.txPackets,
    );
    expect(valueOf(samples, "ebpf_k8s_interface_dropped_packets_total", { node: "node-a", interface: "eth1" })).toBe(
      eth1.drops,
    );
    expect(valueOf(samples, "ebpf_k8s_interface_rx_bytes_total", { node: "node-b", interface: "cni0" })).toBe(7);

    for (const sample of samples) {
      for (const k of Object.keys(sample.labels)) expect(ALLOWED_LABELS, `${sample.name} label ${k}`).toContain(k);
    }
  });

  it("counts service backends by state and services by source, labelled by service name only", async () => {
    const { app } = testApp(s.db);
    const created = await send(app, "POST", "/api/v1/services", {
      namespace: "default",
      name: "web",
      portName: "http",
      vip: "10.96.0.10",
      port: 80,
      protocol: "TCP",
      backends: [{ ip: "10.244.1.5", port: 8080 }, { ip: "10.244.2.7", port: 8080, state: "terminating" }],
    }, AS_ADMIN);
    expect(created.status).toBe(201);
    const { samples } = parseExposition(await (await app.request("/metrics")).text());
    expect(valueOf(samples, "ebpf_k8s_services", { source: "api" })).toBe(1);
    const web = { namespace: "default", service: "web", port_name: "http" };
    expect(valueOf(samples, "ebpf_k8s_service_backends", { ...web, state: "active" })).toBe(1);
    expect(valueOf(samples, "ebpf_k8s_service_backends", { ...web, state: "terminating" })).toBe(1);
    expect(samples.some((x) => Object.values(x.labels).some((v) => v.startsWith("10.")))).toBe(false);
  });

  it("needs the read token when reads do", async () => {
    const { app } = testApp(s.db, { settings: { readAuth: "token" } });
    expect((await app.request("/metrics")).status).toBe(401);
    expect((await app.request("/metrics", { headers: bearer(READ_TOKEN) })).status).toBe(200);
  });
});

describe("exposition", () => {
  it("escapes label values and help text, and refuses bad names", () => {
    const text = exposition([{
      name: "x_total",
      help: "a\\b\nc",
      type: "counter",
      samples: [{ labels: { a: 'q"\\\n' }, value: 1.5 }, { value: Infinity }],
    }]);
    expect(text).toBe(
      '# HELP x_total a\\\\b\\nc\n# TYPE x_total counter\nx_total{a="q\\"\\\\\\n"} 1.5\nx_total +Inf\n',
    );
    expect(() => exposition([{ name: "bad-name", help: "h", type: "gauge", samples: [] }])).toThrow(/bad metric name/);
  });
});
