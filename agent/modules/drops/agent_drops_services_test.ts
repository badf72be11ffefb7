// SPDX-License-Identifier: Apache-2.0
/**
 * Drops name their service, on the real kernel: the agent follows the
 * services by the (fake) control plane's long-poll and writes their
 * frontends and backends into drop_endpoints; the drop program matches each
 * dropped packet's destination, else its source. Exact counts per (pod,
 * reason, service), against datagrams sent in our own namespaces:
 *
 * - to a backend's closed port (p3:9999): NO_SOCKET at p3, the service that
 *   lists the backend (of two that share it, the first by namespace/name);
 * - to the same pod's port that no service lists (p3:9998): no service;
 * - to a service's VIP (10.96.77.10:80, routed by p2 to p3's MAC): dropped by
 *   p3, which does not forward, named by the frontend;
 * - drops counted while the first service was there name it, also when it is
 *   replaced before they are read by another that the control plane gives
 *   the same id (ids are reused at once); after that, the shared backend's
 *   drops name the other service; ICMP (the port unreachable answers) names
 *   none.
 *
 * And, on the module alone: a full drop_endpoints takes a whole new set of
 * services (the stale entries go first), and counts what does not fit.
 */
import type { LbService } from "../../../control/wire/services.ts";
import { PodTable } from "../../pods/directory.ts";
import { withAgentRig } from "../../testing/agent_rig.ts";
import { BPF_OBJ_DIR } from "../../testing/kernel.ts";
import { assert, assertEquals, kernelTest, run, sendUdp } from "../../testing/mod.ts";
import { testService, waitFor } from "../lb/fixtures.ts";
import { DEFAULT_DROPS, DropsModule } from "./module.ts";

const VIP = "10.96.77.10", BACKEND_PORT = 9999, UNLISTED_PORT = 9998, SIZE = 100;
const U1 = 7, U2 = 5, U3 = 4, U4 = 3, U5 = 2;

kernelTest(
  "drops: a drop to or from a service's frontend or backend names the service; exact per pod, reason and service",
  () =>
    withAgentRig({ pods: 3 }, async (r) => {
      const [, p2, p3] = ["p1", "p2", "p3"].map((n) => r.pods.pod(n));
      const backend = [{ id: 1, ip: p3.ip }];
      const udp = (id: number, name: string, vip: string, port: number): LbService => ({
        ...testService(id, vip, backend, { namespace: "shop", name, protocol: "UDP" }, BACKEND_PORT),
        port,
      });
      // Both list p3:9999; "web" comes first by name (the rule the control plane's attribution follows).
      const web = udp(1, "web", VIP, 80), zz = udp(2, "zz", "10.96.77.11", 81);
      await run(r.pods.in("p2", ["ip", "route", "add", `${VIP}/32`, "dev", "eth0"]));
      await run(r.pods.in("p2", ["ip", "neigh", "replace", VIP, "lladdr", p3.mac, "dev", "eth0", "nud", "permanent"]));

      const v1 = r.control.setLbServices([zz, web]).version;
      const agent = await r.start();
      await waitFor(`drops at services version ${v1}`, () =>
        r.logs.some((l) => l.startsWith(`drops: services version ${v1}: 3 endpoint(s)`)));
      await r.tick(agent);

      await sendUdp(r.pods.pod("p1").netns, p3.ip, BACKEND_PORT, { count: U1, size: SIZE });
      await sendUdp(r.pods.pod("p1").netns, p3.ip, UNLISTED_PORT, { count: U2, size: SIZE });
      await sendUdp(p2.netns, VIP, 80, { count: U3, size: SIZE });
      const b = await r.tick(agent);
      const at = (pod: string) =>
        b.drops!.filter((d) =>
          d.pod === r.pods.pod(pod).uid
        ).map((d) => [d.reason, d.service ?? null, d.packets])
          .sort();
      const atP3 = at("p3");
      // The VIP's datagrams reach p3, which does not forward them: whatever the reason, they name shop/web.
      const vipDrops = atP3.filter(([reason]) => reason !== "NO_SOCKET");
      assertEquals(vipDrops.map(([, service, n]) => [service, n]), [["shop/web", U3]], JSON.stringify(b.drops));
      assertEquals(
        atP3.filter(([reason]) => reason === "NO_SOCKET"),
        [
          ["NO_SOCKET", "shop/web", U1],
          ["NO_SOCKET", null, U2],
        ].sort(),
      );
      const noSocket = b.drops!.filter((d) => d.pod === p3.uid && d.reason === "NO_SOCKET");
      assertEquals(
        noSocket.map((d) => d.bytes).sort(),
        [U1 * (8 + SIZE), U2 * (8 + SIZE)].sort(),
        "from the L4 header on",
      );
      for (const pod of ["p1", "p2"]) {
        assertEquals(at(pod).filter(([, service]) => service !== null), [], `${pod}: ICMP names no service`);
      }

      // U4 counted under web; before they are read, web is replaced by api, to which the control plane gives
      // web's id (1), with another backend: p3:9999 is zz's alone now.
      await sendUdp(r.pods.pod("p1").netns, p3.ip, BACKEND_PORT, { count: U4, size: SIZE });
      const api = { ...udp(1, "api", "10.96.77.12", 82), backends: [{ ...zz.backends[0]!, ip: p2.ip }] };
      const v2 = r.control.setLbServices([zz, api]).version;
      await waitFor(`drops at services version ${v2}`, () =>
        r.logs.some((l) => l.startsWith(`drops: services version ${v2}: 4 endpoint(s)`)));
      await sendUdp(r.pods.pod("p1").netns, p3.ip, BACKEND_PORT, { count: U5, size: SIZE });
      const c = await r.tick(agent);
      assertEquals(
        c.drops!.filter((d) =>
          d.pod === p3.uid
        ).map((d) => [d.reason, d.service ?? null, d.packets]).sort(),
        [["NO_SOCKET", "shop/web", U4], ["NO_SOCKET", "shop/zz", U5]],
      );
      await agent.stop();
    }),
);

kernelTest("drops: a full drop_endpoints takes a whole new set of services; what does not fit is counted", async () => {
  const logs: string[] = [];
  const env = {
    node: "drops-test",
    bpfDir: BPF_OBJ_DIR,
    pinDir: "/nonexistent",
    interfaces: [],
    netnsIno: Deno.statSync("/proc/self/ns/net").ino!,
    excludeInterfaces: [],
    pods: new PodTable(null, true),
    log: (m: string) => logs.push(m),
  };
  const m = new DropsModule(env, { ...DEFAULT_DROPS, endpointEntries: 3 });
  const svc = (id: number, name: string, vip: string, backends: string[]) =>
    testService(id, vip, backends.map((ip, i) => ({ id: id * 10 + i, ip })), { namespace: "shop", name });
  const a = svc(1, "a", "10.96.1.1", ["10.244.1.1", "10.244.1.2"]);
  const b = svc(2, "b", "10.96.1.2", ["10.244.1.3", "10.244.1.4"]);
  m.start({ adopt: false });
  try {
    m.applyServices({ version: 1, services: [a] });
    assertEquals(m.endpoints, 3);
    m.applyServices({ version: 2, services: [b] }); // every entry replaced in a full table
    assertEquals(m.endpoints, 3);
    m.applyServices({ version: 3, services: [a, b] });
    assertEquals(m.endpoints, 3);
    const cut = "drops: 3 service endpoint(s) do not fit drop_endpoints (3 entries)";
    assert(logs.some((l) => l.startsWith(cut)), logs.join("\n"));
    m.applyServices({ version: 4, services: [] });
    assertEquals(m.endpoints, 0);
    assert(logs.includes("drops: every service endpoint fits drop_endpoints again"), logs.join("\n"));
  } finally {
    m.stop();
    await m.settled();
  }
});
