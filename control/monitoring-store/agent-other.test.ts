// SPDX-License-Identifier: Apache-2.0
/**
 * Records an agent's cap summed ("other" records, control/wire/monitoring.ts)
 * posted through /api/v1/ingest: stored with the control plane's "other"
 * endpoint, counted in the pod's and the node's totals (API and pod page),
 * set aside when their senders were pods of the node, and after a rollup
 * still exact; a pod's "other" row is a key like any other for the caps.
 */
import { describe, expect, it } from "vitest";
import { flow } from "../monitoring/fixtures.test-support.ts";
import { CACHE, post, postPods, report, WEB } from "../monitoring/scenario.test-support.ts";
import { T0, useTestApp } from "../test-support.ts";
import {
  type FlowRecord,
  OTHER_DROP_REASON,
  OTHER_PEER,
  OTHER_POD_PEER,
  type TcpRecord,
  zeroTcpCounters,
} from "../wire/monitoring.ts";
import { windowOn } from "../monitoring/rollup.ts";
import { queryFlows } from "../queries/monitoring/flows.ts";
import { runMaintenance } from "./maintenance.ts";
import { DEFAULT_MONITORING_SETTINGS } from "./settings.ts";

const s = useTestApp();

const web = WEB.ips[0]!, cache = CACHE.ips[0]!;
/** What node-a's agent summed, per pod (web's both ways, cache's received) and for the node. */
const OTHERS: FlowRecord[] = [
  flow({ src: web, dst: OTHER_PEER, port: 0, proto: 0, packets: 7, bytes: 700, tcpFlags: 0x12 }),
  flow({ src: web, dst: OTHER_PEER, port: 0, proto: 0, toServer: false, packets: 3, bytes: 300 }),
  flow({ src: OTHER_PEER, dst: cache, port: 0, proto: 0, obs: "rx", packets: 4, bytes: 400 }),
  // sent by pods of node-a into cache: their own "tx" records count these packets
  flow({ src: OTHER_POD_PEER, dst: cache, port: 0, proto: 0, obs: "rx", packets: 5, bytes: 500 }),
  flow({ src: OTHER_PEER, dst: OTHER_PEER, port: 0, proto: 0, packets: 2, bytes: 200 }),
];
const TCP_OTHER: TcpRecord = {
  pod: WEB.uid,
  local: web,
  remote: OTHER_PEER,
  port: 0,
  role: "client",
  ...zeroTcpCounters(),
  opened: 4,
  failedRefused: 1,
};

/** The pods, then node-a's batch: web → db whole and what its agent summed. */
async function scenario() {
  await postPods(s);
  const pods = [report(WEB, 2), report(CACHE, 2)];
  const drops = [{ pod: WEB.uid, reason: OTHER_DROP_REASON, packets: 6, bytes: 360 }];
  const flows = [flow({ packets: 10, bytes: 1_000 }), ...OTHERS];
  await post(s, { node: "node-a", seq: 2, ts: T0 + 10_000, pods, flows, tcp: [TCP_OTHER], drops });
}

async function api(path: string) {
  const res = await s.app.request(`http://control.test/api/v1${path}`);
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

describe("an agent's other records", () => {
  it("are stored as the 'other' endpoint; the pod-sent one is set aside as a duplicate", async () => {
    await scenario();
    const raw = (await s.db.$client.execute("SELECT flows, tcp, drops FROM monitoring_raw")).rows;
    expect(raw).toHaveLength(1);
    expect(JSON.parse(String(raw[0]!.flows))).toEqual([
      ["pod:u-web", "pod:u-db", 5432, 6, 10, 1000, 0, 0, 0, ""],
      ["pod:u-web", "other", 0, 0, 7, 700, 0, 0, 0x12, ""],
      ["other", "pod:u-cache", 0, 0, 4, 400, 0, 0, 0, ""],
      ["other", "pod:u-web", 0, 0, 0, 0, 3, 300, 0, ""],
      ["other", "other", 0, 0, 2, 200, 0, 0, 0, ""],
    ]);
    expect(JSON.parse(String(raw[0]!.tcp))[0].slice(0, 6)).toEqual(["pod:u-web", "other", 0, "client", 4, 1]);
    expect(JSON.parse(String(raw[0]!.drops))).toEqual([["pod:u-web", "", OTHER_DROP_REASON, 6, 360, ""]]);
    const counters = (await s.db.$client.execute("SELECT flow_duplicates FROM node_monitoring WHERE node = 'node-a'"))
      .rows;
    expect(counters.map((r) => r.flow_duplicates)).toEqual([1]);
  });

  it("count in the pod's and the node's totals (API and pod page)", async () => {
    await scenario();
    const q = `since=${encodeURIComponent(new Date(T0).toISOString())}&until=${
      encodeURIComponent(new Date(T0 + 20_000).toISOString())
    }`;
    // web: 10 to db, 7 + 3 summed
    const webFlows = await api(`/flows?pod=default/web&${q}`);
    expect(webFlows.totals).toEqual({ packets: 20, bytes: 2_000 });
    expect(
      webFlows.flows.map((f: { source: { kind: string }; destination: { kind: string } }) =>
        `${f.source.kind}>${f.destination.kind}`
      ),
    ).toEqual(["pod>pod", "pod>other", "other>pod"]);
    expect((await api(`/flows?pod=default/cache&${q}`)).totals).toEqual({ packets: 4, bytes: 400 });
    // node-a: everything it reported but the duplicate
    expect((await api(`/flows?node=node-a&${q}`)).totals).toEqual({ packets: 26, bytes: 2_600 });
    const tcp = await api(`/tcp?pod=default/web&${q}`);
    expect([tcp.totals.opened, tcp.totals.failed]).toEqual([4, 1]);
    expect(tcp.connections[0].remote).toEqual({ kind: "other", label: "other (over the cap)" });
    expect((await api(`/drops?pod=default/web&${q}`)).byReason).toEqual([
      { reason: OTHER_DROP_REASON, packets: 6, bytes: 360 },
    ]);

    s.clock.now = T0 + 20_000;
    const page = await (await s.app.request("http://control.test/pods/default/web?since=5m")).text();
    expect(page).toContain('3 flows · <span title="2,000 bytes">');
    expect(page).toContain('other (over the cap)<span class="sub">keys over the cap</span>');
  });

  it("stay exact through the rollup, where a pod's other row is a key of the cap like any other", async () => {
    const settings = {
      ...DEFAULT_MONITORING_SETTINGS,
      caps: { ...DEFAULT_MONITORING_SETTINGS.caps, flows: 3, tcp: 3, drops: 3 },
    };
    await scenario();
    await runMaintenance(s.db, T0 + 15_000, settings);
    const minute = async () =>
      (await s.db.$client.execute(
        "SELECT client, server, fwd_packets + rev_packets AS packets FROM flow_stats WHERE level = '1m' ORDER BY 1, 2",
      )).rows.map((r) => `${r.client}>${r.server} ${r.packets}`);
    // 4 keys over a cap of 3: the lightest (web's summed replies) joins the node's other (2 + 3)
    expect(await minute()).toEqual([
      "other>other 5",
      "other>pod:u-cache 4",
      "pod:u-web>other 7",
      "pod:u-web>pod:u-db 10",
    ]);
    // The same minute: the bucket holds 3 keys (cache's "other" row among them), so a new one finds no room.
    await post(s, {
      node: "node-a",
      seq: 3,
      ts: T0 + 20_000,
      flows: [flow({ dst: "1.1.1.1", port: 443, packets: 50, bytes: 5_000 })],
    });
    await runMaintenance(s.db, T0 + 25_000, settings);
    expect(await minute()).toEqual([
      "other>other 55",
      "other>pod:u-cache 4",
      "pod:u-web>other 7",
      "pod:u-web>pod:u-db 10",
    ]);
    const bucket = Math.floor(T0 / 60_000) * 60_000;
    const total = await queryFlows(s.db, windowOn("1m", bucket, bucket + 60_000), { node: "node-a" });
    expect(total.totals).toEqual({ packets: 76, bytes: 7_600 });
  });
});
