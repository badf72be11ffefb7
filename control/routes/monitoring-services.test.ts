/**
 * Flows and TCP connections addressed to a load-balanced service's frontend (its VIP or an external IP, with
 * its port) name the service on the flows, TCP and service map APIs (control/monitoring-store/directory.ts),
 * as the registry says at the time the batch is stored: a service made later, or deleted, changes what later
 * batches name.
 */
import { describe, expect, it } from "vitest";
import { flow, tcp } from "../monitoring/fixtures.test-support.ts";
import { post, report, WEB } from "../monitoring/scenario.test-support.ts";
import { service } from "../services/fixtures.test-support.ts";
import { AS_ADMIN, getJson, send, T0, useTestApp } from "../test-support.ts";

const s = useTestApp();

const ECHO = service("echo", "10.96.0.20", { namespace: "demo", externalIPs: ["192.0.2.7"] });
const echo = { kind: "service", label: "demo/echo", namespace: "demo", name: "echo" };
const world = (ip: string) => ({ kind: "world", label: ip, ip });

/** node-a's batch `seq` (10 s apart): web → `dst`:80, 3 packets and a TCP connection opened. */
const batch = (seq: number, dst: string) =>
  post(s, {
    node: "node-a",
    seq,
    ts: T0 + seq * 10_000,
    pods: [report(WEB, seq)],
    flows: [flow({ dst, port: 80, packets: 3, bytes: 300 })],
    tcp: [tcp({ remote: dst, port: 80, opened: 1 })],
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
    expect((await send(s.app, "POST", "/api/v1/services", ECHO, AS_ADMIN)).status).toBe(201);
    await batch(2, "10.96.0.20");
    await batch(3, "192.0.2.7");
    expect(await destinations()).toEqual({
      flows: [[echo, 6], [world("10.96.0.20"), 3]],
      tcp: [[echo, 2], [world("10.96.0.20"), 1]],
    });

    expect((await send(s.app, "DELETE", "/api/v1/services/demo/echo", undefined, AS_ADMIN)).status).toBe(200);
    await batch(4, "10.96.0.20");
    expect(await destinations()).toEqual({
      flows: [[world("10.96.0.20"), 6], [echo, 6]],
      tcp: [[world("10.96.0.20"), 2], [echo, 2]],
    });
  });
});
