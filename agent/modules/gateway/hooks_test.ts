/**
 * The gateway's attachments per hook on the lab's interfaces: with XDP, gw_xdp and gw_tc_neigh (the slow
 * way for packets without a neighbour) in the gateway's tc slot; an agent's SIGTERM (release) leaves both,
 * the next agent takes both over in place, its stop removes both; clean() removes what a crashed agent left.
 */
import { queryXdpProgId, tcFilterProgram } from "../../libbpf/mod.ts";
import { assertEquals } from "../../testing/assert.ts";
import { kernelTest } from "../../testing/mod.ts";
import { GatewayLab } from "./gateway_lab.ts";
import { GATEWAY_TC_SLOT, type GatewayModule } from "./module.ts";

kernelTest(
  "gateway XDP hook: gw_xdp and gw_tc_neigh on every interface, handed over, removed by stop and by clean",
  async () => {
    const lab = await GatewayLab.create();
    const on = () =>
      lab.interfaces.map((ifname) => {
        const t = { ifname, netns: lab.node };
        const tc = tcFilterProgram(t, "ingress", GATEWAY_TC_SLOT.handle, GATEWAY_TC_SLOT.priority);
        return [queryXdpProgId(t, "skb"), tc?.id ?? 0, tc?.name ?? ""] as const;
      });
    const modules: GatewayModule[] = [];
    const gateway = () => {
      const m = lab.gateway({ hook: "skb" });
      modules.push(m);
      return m;
    };
    try {
      const first = gateway();
      first.start({ adopt: false });
      const ids = Object.fromEntries(first.programs(false).map((p) => [p.name, p.id]));
      assertEquals(on(), lab.interfaces.map(() => [ids.gw_xdp!, ids.gw_tc_neigh!, "gw_tc_neigh"] as const));
      const record = first.record();
      first.release(); // SIGTERM: both stay
      assertEquals(on().map(([x, t]) => [x, t]), lab.interfaces.map(() => [ids.gw_xdp!, ids.gw_tc_neigh!]));

      const second = gateway();
      second.start({ adopt: true, previous: record });
      const ids2 = Object.fromEntries(second.programs(false).map((p) => [p.name, p.id]));
      assertEquals(on(), lab.interfaces.map(() => [ids2.gw_xdp!, ids2.gw_tc_neigh!, "gw_tc_neigh"] as const));
      const record2 = second.record();
      second.release();

      // a crash: the next agent cleans up what is recorded and configured
      gateway().clean(record2);
      assertEquals(on(), lab.interfaces.map(() => [0, 0, ""] as const));

      const third = gateway();
      third.start({ adopt: false });
      third.stop();
      assertEquals(on(), lab.interfaces.map(() => [0, 0, ""] as const), "stop removes both");
    } finally {
      for (const m of modules) m.stop();
      await lab.close();
    }
  },
);
