// SPDX-License-Identifier: Apache-2.0
/**
 * The gateway's attachments per hook on the lab's interfaces: with XDP, gw_xdp and gw_tc_neigh (the slow
 * way for packets without a neighbour) in the gateway's tc slot; an agent's SIGTERM (release) leaves both,
 * the next agent takes both over in place, its stop removes both; clean() removes what a crashed agent left.
 * An adopting agent removes ours from interfaces no longer configured and a gw_xdp its hook no longer uses;
 * clean() looks where the record says; an XDP program not ours is never touched.
 */
import { BpfObject, queryXdpProgId, tcFilterProgram } from "../../libbpf/mod.ts";
import { assertEquals } from "../../testing/assert.ts";
import { BPF_OBJ_DIR, kernelTest } from "../../testing/mod.ts";
import { GatewayLab } from "./gateway_lab.ts";
import type { StartOptions } from "../module.ts";
import { GATEWAY_TC_SLOT, type GatewayModule, type GatewaySettings } from "./module.ts";

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

/** Per lab interface: the XDP program in generic and in native mode, and the gateway's tc filter (id, name). */
function hooksOn(lab: GatewayLab): (readonly [number, number, number, string])[] {
  return lab.interfaces.map((ifname) => {
    const t = { ifname, netns: lab.node };
    const tc = tcFilterProgram(t, "ingress", GATEWAY_TC_SLOT.handle, GATEWAY_TC_SLOT.priority);
    return [queryXdpProgId(t, "skb"), queryXdpProgId(t, "native"), tc?.id ?? 0, tc?.name ?? ""] as const;
  });
}

const NOTHING = [0, 0, 0, ""] as const;

/** The same hooks on every lab interface. */
function everywhere(lab: GatewayLab, hooks: readonly [number, number, number, string]) {
  return lab.interfaces.map(() => hooks);
}

/** Program name -> kernel id of a running gateway module. */
function idsOf(m: GatewayModule): Record<string, number> {
  return Object.fromEntries(m.programs(false).map((p) => [p.name, p.id]));
}

/** Gateway modules of a lab, each stopped at the end (a released or stopped one is a no-op). */
function modulesOf(lab: GatewayLab) {
  const made: GatewayModule[] = [];
  const logs: string[] = [];
  return {
    logs,
    gateway(settings: Partial<GatewaySettings>): GatewayModule {
      const m = lab.gateway(settings, (msg) => logs.push(msg));
      made.push(m);
      return m;
    },
    /** A module started (adopting or not), its record taken, then released as at a SIGTERM: the record. */
    ranAndReleased(settings: Partial<GatewaySettings>, options: StartOptions = { adopt: false }): unknown {
      const m = this.gateway(settings);
      m.start(options);
      const record = m.record();
      m.release();
      return record;
    },
    stopAll(): void {
      for (const m of made) m.stop();
    },
  };
}

/** A kernel test on a gateway lab of its own: every module it made is stopped and the lab closed, also on failure. */
function hooksTest(name: string, body: (lab: GatewayLab, mods: ReturnType<typeof modulesOf>) => void): void {
  kernelTest(name, async () => {
    const lab = await GatewayLab.create();
    const mods = modulesOf(lab);
    try {
      body(lab, mods);
    } finally {
      mods.stopAll();
      await lab.close();
    }
  });
}

hooksTest(
  "gateway adoption: nothing of ours stays on an interface dropped from config, nor the old gw_xdp when the hook changes to tc; stop and uninstall leave nothing",
  (lab, mods) => {
    const kept = lab.interfaces.slice(0, 3); // gb3 dropped from config
    const r1 = mods.ranAndReleased({ hook: "skb" });

    // interface dropped, same hook
    const second = mods.gateway({ hook: "skb", interfaces: kept });
    second.start({ adopt: true, previous: r1 });
    const ids2 = idsOf(second);
    assertEquals(
      hooksOn(lab),
      [...kept.map(() => [ids2.gw_xdp!, 0, ids2.gw_tc_neigh!, "gw_tc_neigh"] as const), NOTHING],
    );
    const r2 = second.record();
    assertEquals(r2!.interfaces.map((i) => i.ifname), kept, "the record lists the configured interfaces only");
    second.release();

    // hook changed from XDP to tc: the old gw_xdp (which runs before tc) goes
    const third = mods.gateway({ hook: "tc", interfaces: kept });
    third.start({ adopt: true, previous: r2 });
    assertEquals(mods.logs.filter((l) => l.includes("cannot adopt")), []);
    const ids3 = idsOf(third);
    assertEquals(hooksOn(lab), [...kept.map(() => [0, 0, ids3.gw_tc!, "gw_tc"] as const), NOTHING]);
    third.stop();
    assertEquals(hooksOn(lab), everywhere(lab, NOTHING), "stop leaves nothing");

    // both changes at once, then a crash: the uninstall (hook "auto", no --gateway-hook) finds nothing left over
    const r4 = mods.ranAndReleased({ hook: "skb" });
    const r5 = mods.ranAndReleased({ hook: "tc", interfaces: kept }, { adopt: true, previous: r4 });
    assertEquals(hooksOn(lab).at(-1), NOTHING);
    mods.gateway({ hook: "auto" }).clean(r5);
    assertEquals(hooksOn(lab), everywhere(lab, NOTHING), "uninstall leaves nothing");
  },
);

hooksTest(
  "gateway XDP mode changed between agents (native, skb): adopted in place of the other mode's gw_xdp; clean and uninstall look in the recorded mode",
  (lab, mods) => {
    const r1 = mods.ranAndReleased({ hook: "native" });

    // native -> skb: the native gw_xdp goes first (a device holds one of the two), the adoption goes on
    const second = mods.gateway({ hook: "skb" });
    second.start({ adopt: true, previous: r1 });
    assertEquals(mods.logs.filter((l) => l.includes("cannot adopt")), []);
    const ids2 = idsOf(second);
    assertEquals(hooksOn(lab), everywhere(lab, [ids2.gw_xdp!, 0, ids2.gw_tc_neigh!, "gw_tc_neigh"]));
    const r2 = second.record();
    second.release();

    // uninstall (configured hook "auto") of a generic gw_xdp on veths, which have native XDP
    mods.gateway({ hook: "auto" }).clean(r2);
    assertEquals(hooksOn(lab), everywhere(lab, NOTHING), "uninstall of skb leaves nothing");

    // a fresh start (no adoption) in skb after native: clean() finds the native gw_xdp by the record
    const r3 = mods.ranAndReleased({ hook: "native" });
    const fourth = mods.gateway({ hook: "skb" });
    fourth.start({ adopt: false, previous: r3 });
    const ids4 = idsOf(fourth);
    assertEquals(hooksOn(lab), everywhere(lab, [ids4.gw_xdp!, 0, ids4.gw_tc_neigh!, "gw_tc_neigh"]));
    fourth.stop();
    assertEquals(hooksOn(lab), everywhere(lab, NOTHING), "stop leaves nothing");

    // no record (epoch.json lost), configured "auto": a native gw_xdp is found too
    mods.ranAndReleased({ hook: "native" });
    mods.gateway({ hook: "auto" }).clean(undefined);
    assertEquals(hooksOn(lab), everywhere(lab, NOTHING), "clean without a record leaves nothing");
  },
);

hooksTest(
  "gateway: another XDP program on a gateway interface is left alone by clean, uninstall and a tc start, and does not make them fail",
  (lab, mods) => {
    const foreignObj = BpfObject.open(`${BPF_OBJ_DIR}/empty_xdp.bpf.o`).load();
    try {
      const gb3 = { ifname: "gb3", netns: lab.node };
      foreignObj.program("empty_xdp").attachXdp(gb3, { mode: "skb" });
      const foreign = queryXdpProgId(gb3, "skb");
      const only = (others: readonly (readonly [number, number, number, string])[]) =>
        assertEquals(hooksOn(lab), [...others, [foreign, 0, 0, ""] as const]);

      // recorded tc, configured auto: a start that does not adopt cleans first, then runs in tc (auto on veths)
      const r1 = mods.ranAndReleased({ hook: "tc" });
      const second = mods.gateway({ hook: "auto" });
      second.start({ adopt: false, previous: r1 });
      const ids2 = idsOf(second);
      assertEquals(hooksOn(lab), [
        ...lab.interfaces.slice(0, 3).map(() => [0, 0, ids2.gw_tc!, "gw_tc"] as const),
        [foreign, 0, ids2.gw_tc!, "gw_tc"] as const,
      ]);
      second.stop();
      only(lab.interfaces.slice(0, 3).map(() => NOTHING));

      // recorded skb on the other interfaces, uninstall (auto, every lab interface): ours go, the other stays
      const r3 = mods.ranAndReleased({ hook: "skb", interfaces: lab.interfaces.slice(0, 3) });
      mods.gateway({ hook: "auto" }).clean(r3);
      only(lab.interfaces.slice(0, 3).map(() => NOTHING));
      mods.gateway({ hook: "auto" }).clean(undefined); // no record: either mode looked at
      only(lab.interfaces.slice(0, 3).map(() => NOTHING));
    } finally {
      foreignObj.close();
    }
  },
);
