// SPDX-License-Identifier: Apache-2.0
/**
 * The gateway's flow events per frontend, from batches to the API and
 * /metrics: exact sums per minute over nodes, a resent batch once, rows of
 * unknown services nowhere, a batch of the wire version before (no
 * frontends) still taken; the service's JSON has them per frontend and
 * summed; /metrics has a counter per event with bounded labels (the first
 * frontends of a service by name, the rest and the gone ones as "other");
 * the minutes go with the retention, everything with the service.
 */
import { describe, expect, it } from "vitest";
import { MAX_FRONTEND_SERIES } from "../metrics/gateway.ts";
import { parseExposition, valueOf } from "../metrics/parse.test-support.ts";
import { DEFAULT_RETENTION } from "../monitoring/rollup.ts";
import { batch, getJson, postBatch, T0, useTestApp } from "../test-support.ts";
import { WIRE_VERSION } from "../wire/version.ts";
import type { GatewayCounters, GatewayFrontendRow } from "../wire/services.ts";
import { pruneLb } from "./counters.ts";
import { backends, service } from "./fixtures.test-support.ts";
import { createService, deleteService, replaceService } from "./model.ts";

const s = useTestApp();
/** T0 is 20 s into its minute: batches before T0 + 40 s fall into the minute starting here. */
const MINUTE = T0 - 20_000;
const EXT = ["203.0.113.7", "203.0.113.8"];
const WEB = service("web", "10.96.0.10", {
  portName: "http",
  type: "LoadBalancer",
  nodePort: 30080,
  externalIPs: EXT,
  backends: backends("10.244.1.5"),
});
const REF = { namespace: "default", name: "web", portName: "http" };

const gw = (frontends: GatewayFrontendRow[] | undefined, version = 1): GatewayCounters => ({
  version,
  services: [],
  flows: 0,
  evicted: 0,
  noBackend: 0,
  ...(frontends ? { frontends } : {}),
});

async function minuteRows() {
  const r = await s.db.$client.execute(
    "SELECT bucket, service_id, address, port, flows, evicted, snat_busy, no_backend, to_stack, expired " +
      "FROM gateway_frontend_stats ORDER BY bucket, address",
  );
  return r.rows.map((x) => Object.values(x));
}

async function metrics() {
  const res = await s.app.request("/metrics");
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
}

const web = (frontend: string) => ({ namespace: "default", service: "web", port_name: "http", frontend });
const EVENTS = [
  "flows",
  "flows_evicted",
  "snat_busy_packets",
  "no_backend_packets",
  "to_stack_packets",
  "flows_expired",
] as const;
const metricRow = (samples: ReturnType<typeof parseExposition>["samples"], frontend: string) =>
  EVENTS.map((e) => valueOf(samples, `ebpf_k8s_gateway_${e}_total`, web(frontend)));

describe("gateway frontend events", () => {
  it("sum per minute and frontend over nodes into the service's JSON and /metrics, exactly", async () => {
    await createService(s.db, WEB, T0);
    const a = batch({
      node: "node-a",
      seq: 1,
      ts: T0 + 10_000,
      gateway: gw([
        [1, EXT[0]!, 80, 20, 2, 1, 3, 4, 6],
        [1, "0.0.0.0", 30080, 12, 0, 0, 0, 0, 0],
        [42, EXT[0]!, 80, 9, 9, 9, 9, 9, 9],
      ]),
    });
    expect((await postBatch(s.app, a)).status).toBe(200);
    expect((await postBatch(s.app, a)).status).toBe(200); // resent after a lost ack: once
    const b = batch({ node: "node-b", seq: 1, ts: T0 + 20_000, gateway: gw([[1, EXT[0]!, 80, 5, 1, 0, 2, 0, 1]]) });
    expect((await postBatch(s.app, b)).status).toBe(200);
    // a batch without frontends (they are optional; agents before version 3 sent none): taken, adds nothing here
    const old = batch({ v: WIRE_VERSION - 1, node: "node-b", seq: 2, ts: T0 + 30_000, gateway: gw(undefined) });
    expect((await postBatch(s.app, old)).status).toBe(200);
    const c = batch({ node: "node-a", seq: 2, ts: T0 + 50_000, gateway: gw([[1, EXT[1]!, 80, 7, 0, 0, 0, 1, 0]]) });
    expect((await postBatch(s.app, c)).status).toBe(200);

    expect(await minuteRows()).toEqual([
      [MINUTE, 1, "0.0.0.0", 30080, 12, 0, 0, 0, 0, 0],
      [MINUTE, 1, EXT[0], 80, 25, 3, 1, 5, 4, 7],
      [MINUTE + 60_000, 1, EXT[1], 80, 7, 0, 0, 0, 1, 0],
    ]);

    s.clock.now = T0 + 60_000;
    const view = (await getJson(s.app, "/api/v1/services/default/web?since=1h")).body.services[0];
    expect(view.gateway.events).toEqual({ flows: 44, evicted: 3, snatBusy: 1, noBackend: 5, toStack: 5, expired: 7 });
    const counts = (
      flows: number,
      evicted: number,
      snatBusy: number,
      noBackend: number,
      toStack: number,
      expired: number,
    ) => ({
      flows,
      evicted,
      snatBusy,
      noBackend,
      toStack,
      expired,
    });
    expect(view.gateway.frontends).toEqual([
      { frontend: "nodePort:30080", address: null, port: 30080, ...counts(12, 0, 0, 0, 0, 0) },
      { frontend: `${EXT[0]}:80`, address: EXT[0], port: 80, ...counts(25, 3, 1, 5, 4, 7) },
      { frontend: `${EXT[1]}:80`, address: EXT[1], port: 80, ...counts(7, 0, 0, 0, 1, 0) },
    ]);

    const { samples, types } = await metrics();
    expect(types.get("ebpf_k8s_gateway_flows_total")).toBe("counter");
    expect(metricRow(samples, "nodePort:30080")).toEqual([12, 0, 0, 0, 0, 0]);
    expect(metricRow(samples, `${EXT[0]}:80`)).toEqual([25, 3, 1, 5, 4, 7]);
    expect(metricRow(samples, `${EXT[1]}:80`)).toEqual([7, 0, 0, 0, 1, 0]);
    expect(samples.filter((x) => x.name === "ebpf_k8s_gateway_flows_total")).toHaveLength(3);

    // the minutes go with the retention; /metrics' totals stay (counters only grow)
    const retention = { ...DEFAULT_RETENTION, "1m": 3_600_000 };
    await pruneLb(s.db, MINUTE + 120_000 + 3_600_000, retention);
    expect(await minuteRows()).toEqual([]);
    expect(metricRow((await metrics()).samples, `${EXT[0]}:80`)).toEqual([25, 3, 1, 5, 4, 7]);

    // everything goes with the service
    await deleteService(s.db, REF, T0);
    expect((await metrics()).samples.filter((x) => x.name.startsWith("ebpf_k8s_gateway_"))).toEqual([]);
  });

  it('bound /metrics to the first frontends of a service; the rest and the gone ones sum into frontend="other"', async () => {
    const many = Array.from({ length: 12 }, (_, i) => `198.51.100.${i + 1}`);
    await createService(s.db, { ...WEB, externalIPs: many }, T0);
    const rows = many.map((ip, i): GatewayFrontendRow => [1, ip, 80, i + 1, 0, 0, 0, 0, 0]);
    await postBatch(
      s.app,
      batch({ seq: 1, ts: T0, gateway: gw([...rows, [1, "0.0.0.0", 30080, 100, 0, 0, 0, 0, 0]]) }),
    );
    let { samples } = await metrics();
    const flows = () => samples.filter((x) => x.name === "ebpf_k8s_gateway_flows_total");
    // the NodePort and the first 7 external IPs have their own series; the other 5 (flows 8..12) sum into one
    expect(flows()).toHaveLength(MAX_FRONTEND_SERIES + 1);
    expect(valueOf(samples, "ebpf_k8s_gateway_flows_total", web("nodePort:30080"))).toBe(100);
    expect(valueOf(samples, "ebpf_k8s_gateway_flows_total", web("198.51.100.7:80"))).toBe(7);
    expect(valueOf(samples, "ebpf_k8s_gateway_flows_total", web("other"))).toBe(8 + 9 + 10 + 11 + 12);
    expect(flows().reduce((a, x) => a + x.value, 0)).toBe(100 + 78);

    // an external IP removed from the service: its total moves into "other", the sum stays
    await replaceService(s.db, REF, { ...WEB, externalIPs: many.slice(1) }, T0 + 1);
    ({ samples } = await metrics());
    expect(flows().find((x) => x.labels.frontend === "198.51.100.1:80")).toBeUndefined();
    expect(flows().reduce((a, x) => a + x.value, 0)).toBe(100 + 78);
    for (const x of samples.filter((x) => x.name.startsWith("ebpf_k8s_gateway_"))) {
      expect(Object.keys(x.labels).sort()).toEqual(["frontend", "namespace", "port_name", "service"]);
    }
  });
});
