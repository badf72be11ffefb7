// SPDX-License-Identifier: Apache-2.0
/**
 * The gateway module on the real kernel (gateway_lab.ts): an outside client
 * reaches a LoadBalancer service's external IP and its NodePort on the
 * node's lab interface; three backends share the connections; one
 * connection stays on its backend, also when that backend is removed from
 * the service (new connections avoid it); replies come from the address the
 * client used; per-service counters and flow events are read into the batch.
 */
import type { LbState } from "../../../control/wire/services.ts";
import { queryXdpProgId, tcFilterProgram } from "../../libbpf/mod.ts";
import { assert, assertEquals } from "../../testing/assert.ts";
import { kernelTest } from "../../testing/mod.ts";
import { GatewayLab, LAB, labService } from "./gateway_lab.ts";
import type { GatewayHook } from "./hook.ts";
import { GATEWAY_TC_PROGRAM, GATEWAY_TC_SLOT } from "./module.ts";

function state(version: number, backends: number[]): LbState {
  const svc = labService(backends);
  return {
    version,
    services: [svc, {
      ...svc,
      id: 8,
      name: "dns",
      protocol: "UDP",
      nodePort: 30053,
      backends: svc.backends.map((b) => ({ ...b, id: b.id + 10 })),
    }],
  };
}

/** Whether the gateway's program is on an interface of the lab's node, in the hook's own place. */
function attached(lab: GatewayLab, ifname: string, hook: GatewayHook): boolean {
  const target = { ifname, netns: lab.node };
  if (hook === "tc") {
    return tcFilterProgram(target, "ingress", GATEWAY_TC_SLOT.handle, GATEWAY_TC_SLOT.priority)?.name ===
      GATEWAY_TC_PROGRAM;
  }
  return queryXdpProgId(target, hook) > 0;
}

/**
 * XDP in skb (generic) mode, tc, and native XDP. Native on the lab's veths needs what it needs on any
 * device (docs/load-balancing.md): a veth takes a natively redirected frame only when its peer runs XDP (peerXdp), and
 * packets made on this machine cross veths with CHECKSUM_PARTIAL (only the pseudo-header sum in the TCP
 * field), which native XDP hands on without the skb's offload state, so the backend would see a bad
 * checksum: the client and backends send complete checksums there (fullChecksums), as a NIC delivers them.
 * Generic mode keeps the skb's state, and tc updates it through the kernel's helpers.
 */
for (const hook of ["skb", "tc", "native"] as const) {
  const where = hook === "tc" ? "tc ingress" : `XDP ${hook}`;
  kernelTest(
    `gateway lab (${where}): outside client -> external IP and NodePort -> three backends; distribution, a connection keeps its backend, removal`,
    () => labTest(hook),
  );
}

async function labTest(hook: GatewayHook): Promise<void> {
  const lab = await GatewayLab.create(hook === "native" ? { peerXdp: true, fullChecksums: true } : {});
  const logs: string[] = [];
  const gw = lab.gateway({ hook }, (m) => logs.push(m));
  try {
    gw.start({ adopt: false });
    for (const i of lab.interfaces) assert(attached(lab, i, hook), `${hook} on ${i}`);
    gw.apply(state(1, [1, 2, 3]));

    // distribution over the external IP: 300 connections, each backend near a third
    const many = await lab.client("many", LAB.external, 80, 300);
    assertEquals(many.errors, {}, "no connection failed");
    assertEquals(many.peer, `${LAB.external}:80`, "the client only ever sees the external IP");
    const counts = [1, 2, 3].map((i) => many.names[`b${i}`] ?? 0);
    assertEquals(counts.reduce((a, b) => a + b), 300);
    for (const c of counts) assert(c > 60 && c < 140, `a third each (Maglev over flow hashes): ${counts}`);

    // NodePort on the node's address, UDP too
    const np = await lab.client("many", LAB.node, 30080, 30);
    assertEquals(np.errors, {});
    assertEquals(np.peer, `${LAB.node}:30080`);
    const udp = await lab.client("udp", LAB.external, 80, 20);
    assertEquals(udp.errors, {});
    assertEquals(udp.peer, `${LAB.external}:80`);
    assertEquals(Object.values(udp.names).reduce((a, b) => a + b), 20);

    // one connection stays on one backend; removing that backend sends new connections elsewhere, the old one keeps going
    const hold = lab.clientInBackground("hold", LAB.external, 80, 3);
    await new Promise((r) => setTimeout(r, 700));
    const reading = gw.read().gateway!;
    assert(reading.services.some(([id]) => id === 7), "counted for the TCP service");
    const [, pin, bin, pout, bout] = reading.services.find(([id]) => id === 7)!;
    assert(
      pin > 300 * 3 && pout > 300 * 2 && bin > pin * 54 && bout > pout * 54,
      `packets and bytes both ways: ${reading.services}`,
    );
    assertEquals(reading.evicted, 0);
    assert(reading.flows >= 331, `flows ${reading.flows}`);
    gw.apply(state(2, [1, 3])); // backend 2 removed
    const after = await lab.client("many", LAB.external, 80, 60);
    assertEquals(after.errors, {});
    assertEquals(after.names["b2"] ?? 0, 0, "no new connection to the removed backend");
    assert((after.names["b1"] ?? 0) > 10 && (after.names["b3"] ?? 0) > 10, JSON.stringify(after.names));
    const held = await hold;
    assertEquals(held.errors, {}, "the held connection never failed");
    assertEquals(
      Object.keys(held.names).length,
      1,
      `one backend for the whole connection: ${JSON.stringify(held.names)}`,
    );
    assert(Object.values(held.names)[0]! > 30, "it kept talking through the removal");

    if (hook === "tc") {
      // 4 MiB written at once leaves the client in GSO frames of up to 64 KiB: tc translates and redirects
      // them whole (generic XDP refuses a redirected frame larger than the MTU), checksums done by the kernel
      const bulk = await lab.client("bulk", LAB.external, 80, 4096);
      assertEquals(bulk.errors, {});
      assertEquals(bulk.peer, `${LAB.external}:80`);
      assertEquals(
        Object.values(bulk.names),
        [4096],
        `every line answered, by one backend: ${JSON.stringify(bulk.names)}`,
      );
    }

    const c = gw.counters();
    assertEquals([c.malformed, c.no_backend, c.snat_busy], [0, 0, 0]);
    assert(c.to_stack === 0, `every translated packet was redirected (static neighbours): ${c.to_stack}`);
  } finally {
    gw.stop();
    for (const i of lab.interfaces) {
      try {
        assertEquals(attached(lab, i, hook), false, `${hook} removed from ${i}`);
      } catch (e) {
        logs.push(String(e));
      }
    }
    await lab.close();
  }
}
