// SPDX-License-Identifier: Apache-2.0
/**
 * Flows and TCP connections addressed to a load-balanced service's frontend (its VIP or an external IP, with
 * its port and protocol) name the service on the flows and TCP APIs (control/monitoring-store/directory.ts),
 * as the registry says at the time the batch is stored: a service made later, or deleted, changes what later
 * batches name.
 */
import { describe, expect, it } from "vitest";
import { flow, tcp } from "../monitoring/fixtures.test-support.ts";
import { DB_POD, post, report, WEB } from "../monitoring/scenario.test-support.ts";
import { dbService, service } from "../services/fixtures.test-support.ts";
import { AS_ADMIN, getJson, send, T0, useTestApp } from "../test-support.ts";
import type { Batch } from "../wire/batch.ts";

const s = useTestApp();

const ECHO = service("echo", "10.96.0.20", { namespace: "demo", externalIPs: ["192.0.2.7"] });
const echo = { kind: "service", label: "demo/echo", namespace: "demo", name: "echo" };
/** Another service on the same VIP and port, over UDP. */
const ECHO_UDP = service("echo-udp", "10.96.0.20", { namespace: "demo", protocol: "UDP" });
const echoUdp = { kind: "service", label: "demo/echo-udp", namespace: "demo", name: "echo-udp" };
const world = (ip: string) => ({ kind: "world", label: ip, ip });

/** node-a's batch `seq` (10 s apart): web → `dst`:`port`, 3 TCP packets and a TCP connection opened. */
const batch = (seq: number, dst: string, port = 80, more: Partial<Batch> = {}) =>
  post(s, {
    node: "node-a",
    seq,
    ts: T0 + seq * 10_000,
    pods: [report(WEB, seq)],
    flows: [flow({ dst, port, packets: 3, bytes: 300 })],
    tcp: [tcp({ remote: dst, port, opened: 1 })],
    ...more,
  });

const destinations = async () => {
  s.clock.now = T0 + 60_000;
  const flows = (await getJson(s.app, "/api/v1/flows?since=10m")).body.flows;
  const tcpRows = (await getJson(s.app, "/api/v1/tcp?since=10m")).body.connections;
  return {
    flows: flows.map((f: { destination: unknown; forward: { packets: number } }) => [f.destination, f.forward.packets]),
    tcp: tcpRows.map((t: { remote: unknown; opened: number }) => [t.remote, t.opened]),
  };
};

describe("services on the monitoring APIs", () => {
  it("a frontend (VIP or external IP, and port) names its service; not before it exists, not after it is deleted", async () => {
    await batch(1, "10.96.0.20"); // before the service exists: an address outside the pods
    for (const svc of [ECHO_UDP, ECHO]) {
      expect((await send(s.app, "POST", "/api/v1/services", svc, AS_ADMIN)).status).toBe(201);
    }
    await batch(2, "10.96.0.20");
    await batch(3, "192.0.2.7");
    await batch(4, "10.96.0.20", 81); // another port of the VIP: no service
    // UDP to the VIP's port 80: the UDP service, not the TCP one
    await batch(5, "10.96.0.20", 80, {
      flows: [flow({ dst: "10.96.0.20", port: 80, proto: 17, packets: 2, bytes: 100 })],
      tcp: [],
    });
    expect(await destinations()).toEqual({
      flows: [[echo, 6], [world("10.96.0.20"), 3], [world("10.96.0.20"), 3], [echoUdp, 2]],
      tcp: [[echo, 2], [world("10.96.0.20"), 1], [world("10.96.0.20"), 1]],
    });

    expect((await send(s.app, "DELETE", "/api/v1/services/demo/echo", undefined, AS_ADMIN)).status).toBe(200);
    await batch(6, "10.96.0.20");
    const after = await destinations();
    expect(after.flows.filter(([, n]: [unknown, number]) => n === 6)).toEqual([[world("10.96.0.20"), 6], [echo, 6]]);
    expect(after.tcp.slice(0, 2)).toEqual([[world("10.96.0.20"), 2], [echo, 2]]);
  });

  it("a connection to a backend (socket LB, gateway, or straight to the pod) names the backend's service beside the pod", async () => {
    // data/db on 10.96.0.30:5432 with one backend, the db pod 10.0.2.2:5432; data/db-admin lists the same backend.
    const DB_SVC = dbService();
    const ADMIN = dbService("db-admin", "10.96.0.31");
    for (const svc of [ADMIN, DB_SVC]) {
      expect((await send(s.app, "POST", "/api/v1/services", svc, AS_ADMIN)).status).toBe(201);
    }
    await post(s, { node: "node-b", seq: 1, ts: T0, pods: [report(DB_POD, 1)] });
    await post(s, {
      node: "node-a",
      seq: 1,
      ts: T0 + 10_000,
      pods: [report(WEB, 1)],
      flows: [
        flow({ dst: "10.0.2.2", port: 5432, packets: 3, bytes: 300 }), // translated by the socket LB, or direct
        flow({ dst: "10.96.0.30", port: 5432, packets: 2, bytes: 200 }), // the VIP itself
        flow({ dst: "10.0.2.2", port: 9000, packets: 1, bytes: 100 }), // not a backend port
      ],
      tcp: [tcp({ remote: "10.0.2.2", port: 5432, opened: 4 })],
    });
    // Through the gateway: a client outside the cluster, seen entering the backend pod on node-b.
    await post(s, {
      node: "node-b",
      seq: 2,
      ts: T0 + 10_000,
      pods: [report(DB_POD, 2)],
      flows: [flow({ src: "192.0.2.50", dst: "10.0.2.2", port: 5432, obs: "rx", packets: 5, bytes: 500 })],
      tcp: [tcp({ pod: "u-db", local: "10.0.2.2", remote: "192.0.2.50", port: 5432, role: "server", opened: 1 })],
    });
    s.clock.now = T0 + 60_000;
    const flows = (await getJson(s.app, "/api/v1/flows?since=10m")).body.flows as Array<
      { source: { label: string }; destination: { label: string }; port: number; service: unknown }
    >;
    // Of two services listing one backend, the first by namespace and name.
    const db = { kind: "service", label: "data/db", namespace: "data", name: "db" };
    expect(flows.map((f) => [f.source.label, f.destination.label, f.port, f.service])).toEqual([
      ["192.0.2.50", "data/db", 5432, db],
      ["default/web", "data/db", 5432, db],
      ["default/web", "data/db", 5432, db],
      ["default/web", "data/db", 9000, null],
    ]);
    const tcpRows = (await getJson(s.app, "/api/v1/tcp?since=10m")).body.connections as Array<
      { role: string; opened: number; service: unknown }
    >;
    expect(tcpRows.map((t) => [t.role, t.opened, t.service])).toEqual([["client", 4, db], ["server", 1, db]]);
  });
});
