// SPDX-License-Identifier: Apache-2.0
/**
 * Flow lifetimes and SNAT allocation with real TCP through the gateway
 * module (gateway_lab.ts, tc hook), one backend behind a 64-port SNAT range,
 * a 0.5 s closing timeout swept every 100 ms: a fresh range takes 64
 * connections held open at once and refuses the 65th by dropping its SYNs
 * (counted for the node and for the frontend); then 320 short connections,
 * five times the range, every one through, every flow ended after.
 */
import {
  GATEWAY_FRONTEND_COUNTERS,
  GATEWAY_FRONTEND_FIRST_COUNTER,
  type LbState,
} from "../../../control/wire/services.ts";
import { assert, assertEquals } from "../../testing/assert.ts";
import { kernelTest } from "../../testing/mod.ts";
import { GatewayLab, LAB, labService } from "./gateway_lab.ts";
import { DEFAULT_GATEWAY, GatewayModule } from "./module.ts";

const RANGE: [number, number] = [61000, 61063];

/** The lab's web service with one backend (b1). */
const state: LbState = { version: 1, services: [labService([1])] };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

kernelTest(
  "gateway lab (tc): a fresh 64-port SNAT range takes 64 open connections, drops the 65th (counted); then 320 short connections all get through and end",
  async () => {
    const lab = await GatewayLab.create();
    const gw = new GatewayModule(lab.env(), {
      ...DEFAULT_GATEWAY,
      interfaces: lab.interfaces,
      addresses: [LAB.node],
      hook: "tc",
      quarantineMs: 200,
      snatPorts: RANGE,
      timeouts: { synS: 2, establishedS: 30, closingS: 0.5, udpS: 2 },
      sweepMs: 100,
    });
    try {
      gw.start({ adopt: false });
      gw.apply(state);

      const fill = await lab.client("fill", LAB.external, 80, 64);
      assertEquals(fill.errors, {}, "every one of the 64 connected");
      assertEquals(fill.names, { b1: 64 });
      assertEquals(fill.peer, `${LAB.external}:80`);
      assertEquals(fill.extra, "TimeoutError", "the 65th: its SYNs dropped, never passed to the backend untranslated");
      let c = gw.counters();
      assertEquals(c.flows, 64);
      assert(c.snat_busy >= 1, `the 65th's SYNs counted: ${c.snat_busy}`);
      const row = gw.read().gateway!.frontends!.find(([id, addr]) => id === 7 && addr === LAB.external)!;
      const snatBusy = row[GATEWAY_FRONTEND_FIRST_COUNTER + GATEWAY_FRONTEND_COUNTERS.indexOf("snatBusy")];
      assertEquals(snatBusy, c.snat_busy, "counted for the frontend (its service) too");
      await sleep(1000); // closed: ended after the closing timeout
      assertEquals(gw.flowsTracked(), 0);
      assertEquals(gw.counters().expired, 64);

      // 5 x the range, one after another: ports are reused as flows end (a SYN dropped meanwhile is retried by the client)
      const many = await lab.client("many", LAB.external, 80, 320);
      assertEquals(many.errors, {}, "every connection got through");
      assertEquals(many.names, { b1: 320 });
      await sleep(1000);
      c = gw.counters();
      assertEquals(gw.flowsTracked(), 0, "every flow ended");
      assertEquals([c.flows, c.expired], [64 + 320, 64 + 320]);
      assertEquals(gw.read().gateway!.evicted, 0, "ended flows are not counted as evicted");
    } finally {
      gw.stop();
      await lab.close();
    }
  },
);
