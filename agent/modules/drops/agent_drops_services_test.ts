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
 * - after the first service is removed, the shared backend's drops name the
 *   other one; ICMP (the port unreachable answers) names none.
 */
import type { LbService } from "../../../control/wire/services.ts";
import { withAgentRig } from "../../testing/agent_rig.ts";
import { assertEquals, kernelTest, run, sendUdp } from "../../testing/mod.ts";
import { testService, waitFor } from "../lb/fixtures.ts";

const VIP = "10.96.77.10", BACKEND_PORT = 9999, UNLISTED_PORT = 9998, SIZE = 100;
const U1 = 7, U2 = 5, U3 = 4, U4 = 3;

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

      // web removed: its backend is zz's alone now.
      const v2 = r.control.setLbServices([zz]).version;
      await waitFor(`drops at services version ${v2}`, () =>
        r.logs.some((l) => l.startsWith(`drops: services version ${v2}: 2 endpoint(s)`)));
      await sendUdp(r.pods.pod("p1").netns, p3.ip, BACKEND_PORT, { count: U4, size: SIZE });
      const c = await r.tick(agent);
      assertEquals(
        c.drops!.filter((d) =>
          d.pod === p3.uid
        ).map((d) => [d.reason, d.service ?? null, d.packets]),
        [["NO_SOCKET", "shop/zz", U4]],
      );
      await agent.stop();
    }),
);
