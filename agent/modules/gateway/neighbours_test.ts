// SPDX-License-Identifier: Apache-2.0
/**
 * The gateway with dynamic neighbours only (gateway_lab.ts, dynamicNeighbours:
 * no static entry in any namespace): the first packet towards a backend the
 * node never talked to finds no neighbour entry (bpf_fib_lookup: NO_NEIGH)
 * and must still arrive: in tc by bpf_redirect_neigh, in XDP by way of
 * gw_tc_neigh on the same device. The very first connection of a fresh flow
 * succeeds, and the counters say how many packets went the slow way: exactly
 * one (the first SYN; the replies find the client's entry, learnt from its
 * own ARP request, and the backend's is resolved from then on).
 *
 * Native XDP runs on the lab's veths with an XDP program on their peers (a
 * veth delivers natively redirected frames only then) and complete checksums
 * from the client and backends (native XDP cannot complete partial ones).
 */
import type { LbState } from "../../../control/wire/services.ts";
import { assert, assertEquals } from "../../testing/assert.ts";
import { kernelTest } from "../../testing/mod.ts";
import { output, run } from "../../testing/run.ts";
import { GatewayLab, LAB, type LabOptions, labService } from "./gateway_lab.ts";
import type { GatewayRunHook } from "./hook.ts";
import type { GatewayModule } from "./module.ts";

/** One TCP service with one backend (b1), so that exactly one backend is met for the first time. */
function state(): LbState {
  return { version: 1, services: [labService([1])] };
}

/** Neighbour entries of a namespace of the lab (ip -j neigh): address -> states. */
async function neighbours(ns: string): Promise<Map<string, string[]>> {
  const list = JSON.parse(await output(["ip", "-n", ns, "-j", "neigh", "show"])) as { dst: string; state: string[] }[];
  return new Map(list.map((n) => [n.dst, n.state]));
}

/** The module's programs as the inventory lists them: name -> where. */
function inventory(gw: GatewayModule): Record<string, string> {
  return Object.fromEntries(gw.programs(false).map((p) => [p.name, p.attach]));
}

function expectedInventory(lab: GatewayLab, hook: GatewayRunHook): Record<string, string> {
  const at = lab.interfaces.map((i) => `${lab.node}:${i}`);
  if (hook === "tc") return { gw_tc: `tc ingress ${at.join(", ")}` };
  return { gw_xdp: at.map((a) => `xdp ${a} (${hook})`).join("; "), gw_tc_neigh: `tc ingress ${at.join(", ")}` };
}

const LABS: Record<GatewayRunHook, LabOptions> = {
  tc: { dynamicNeighbours: true },
  skb: { dynamicNeighbours: true },
  native: { dynamicNeighbours: true, peerXdp: true, fullChecksums: true },
};

for (const hook of ["tc", "skb", "native"] as const) {
  kernelTest(
    `gateway with dynamic neighbours (${hook}): the first connection of a fresh flow gets through, one packet the slow way`,
    () => neighbourTest(hook),
  );
}

async function neighbourTest(hook: GatewayRunHook): Promise<void> {
  const lab = await GatewayLab.create(LABS[hook]);
  const logs: string[] = [];
  const gw = lab.gateway({ hook }, (m) => logs.push(m));
  try {
    for (const ns of [lab.outside, lab.node, ...lab.backendNs]) {
      assertEquals((await neighbours(ns)).size, 0, `${ns}: no neighbour entry before the first packet`);
    }
    gw.start({ adopt: false });
    assertEquals(gw.runningHook, hook);
    assertEquals(inventory(gw), expectedInventory(lab, hook), "the inventory says where each program runs");
    gw.apply(state());

    const first = await lab.client("many", LAB.external, 80, 1);
    assertEquals(first.errors, {}, "the very first connection got through");
    assertEquals(first.names, { b1: 1 });
    assertEquals(first.peer, `${LAB.external}:80`);
    const slow = hook === "tc" ? { neigh_redirects: 1, neigh_to_tc: 0 } : { neigh_redirects: 1, neigh_to_tc: 1 };
    const c1 = gw.counters();
    assertEquals(
      { neigh_redirects: c1.neigh_redirects, neigh_to_tc: c1.neigh_to_tc, to_stack: c1.to_stack },
      { ...slow, to_stack: 0 },
      "the first SYN went the slow way (XDP: through gw_tc_neigh), nothing to the stack",
    );

    // the kernel resolved the backend: every later packet goes the fast way
    const node = await neighbours(lab.node);
    const b1 = node.get(LAB.backends[0]!);
    assert(b1 && !b1.includes("PERMANENT"), `the node resolved the backend itself: ${JSON.stringify(b1)}`);
    const more = await lab.client("many", LAB.external, 80, 20);
    assertEquals(more.errors, {});
    assertEquals(more.names, { b1: 20 });
    const c2 = gw.counters();
    assertEquals([c2.neigh_redirects, c2.neigh_to_tc, c2.to_stack], [c1.neigh_redirects, c1.neigh_to_tc, 0]);
    assert(c2.tracked > 20 * 3 && c2.replies > 20 * 2, `the fast way: ${c2.tracked} tracked, ${c2.replies} replies`);

    for (const ns of [lab.outside, lab.node, ...lab.backendNs]) {
      for (const [ip, st] of await neighbours(ns)) assert(!st.includes("PERMANENT"), `${ns}: ${ip} is static`);
    }

    // the node forgets the backend (as when its entry fails or is garbage-collected): the next new flow's first
    // packet goes the slow way again, and gets through
    await run(["ip", "-n", lab.node, "neigh", "flush", "dev", "gb1"]);
    assertEquals((await neighbours(lab.node)).has(LAB.backends[0]!), false);
    const again = await lab.client("many", LAB.external, 80, 1);
    assertEquals([again.errors, again.names], [{}, { b1: 1 }]);
    const c3 = gw.counters();
    assertEquals([c3.neigh_redirects, c3.neigh_to_tc], [
      c1.neigh_redirects + 1,
      c1.neigh_to_tc + (hook === "tc" ? 0 : 1),
    ]);
  } finally {
    gw.stop();
    await lab.close();
  }
}

kernelTest(
  "gateway hook auto on veths chooses tc (partial checksums), says so in the log and the inventory, and carries traffic",
  async () => {
    // even with everything native XDP needs on veths (XDP on the peers, complete checksums): auto cannot know
    // that a veth's sender completes its checksums, so it does not choose native there
    const lab = await GatewayLab.create({ dynamicNeighbours: true, peerXdp: true, fullChecksums: true });
    const logs: string[] = [];
    const gw = lab.gateway({}, (m) => logs.push(m));
    try {
      gw.start({ adopt: false });
      assertEquals([gw.hook, gw.runningHook], ["auto", "tc"]);
      const line = logs.find((l) => l.startsWith("gateway: hook "));
      assert(line?.startsWith("gateway: hook tc (auto): gw0 (veth), gb1 (veth)"), String(line));
      assertEquals(inventory(gw), expectedInventory(lab, "tc"));
      gw.apply(state());
      const r = await lab.client("many", LAB.external, 80, 5);
      assertEquals([r.errors, r.names], [{}, { b1: 5 }]);
      assertEquals(gw.counters().neigh_redirects, 1);
    } finally {
      gw.stop();
      await lab.close();
    }
  },
);

kernelTest(
  "gateway native XDP on veths needs XDP on the peers and complete checksums: without either the first connection fails",
  async () => {
    for (const options of [{ peerXdp: true }, { fullChecksums: true }] satisfies LabOptions[]) {
      const lab = await GatewayLab.create(options);
      const gw = lab.gateway({ hook: "native" });
      try {
        gw.start({ adopt: false });
        gw.apply(state());
        const r = await lab.client("many", LAB.external, 80, 1);
        assertEquals(r.errors, { TimeoutError: 1 }, `native with only ${JSON.stringify(options)}`);
        assert(gw.counters().tracked > 0, "the gateway translated and redirected the retransmitted SYNs");
      } finally {
        gw.stop();
        await lab.close();
      }
    }
  },
);
