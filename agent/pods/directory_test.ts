// SPDX-License-Identifier: Apache-2.0
import type { PodInfo } from "../../control/wire/pods.ts";
import { assertEquals } from "../testing/assert.ts";
import { PodTable } from "./directory.ts";
import type { PodSource } from "./source.ts";

const pod = (name: string, extra: Partial<PodInfo> = {}): PodInfo => ({
  uid: `u-${name}`,
  namespace: "ns",
  name,
  labels: {},
  ips: [`10.244.1.${name.length}`],
  hostNetwork: false,
  ...extra,
});

class Pods implements PodSource {
  readonly description = "test";
  onChange = () => {};
  constructor(public list: PodInfo[]) {}
  pods() {
    return this.list;
  }
  start(onChange: () => void) {
    this.onChange = onChange;
  }
  stop() {
    return Promise.resolve();
  }
}

Deno.test("pod directory: indexes by netns, veth and IP; host-network pods own none; learned facts fill in and go with the pod", () => {
  const src = new Pods([
    pod("a", { netnsIno: 11, ifindex: 5, hostVeth: "veth5" }),
    pod("bb"),
    pod("host", { hostNetwork: true, netnsIno: 1 }),
  ]);
  const t = new PodTable(src, false);
  let changes = 0;
  t.onChange(() => changes++);
  t.start();
  assertEquals([t.byNetns(11), t.byVeth(5), t.byIp("10.244.1.1"), t.byNetns(1), t.byIp("10.244.1.4")], [
    "u-a",
    "u-a",
    "u-a",
    undefined,
    undefined,
  ]);
  t.learnVeth("u-bb", "veth9", 9);
  t.learnNetns("u-bb", 22);
  assertEquals([t.byVeth(9), t.byNetns(22)], ["u-bb", "u-bb"]);
  assertEquals(t.list()[1], pod("bb", { hostVeth: "veth9", ifindex: 9, netnsIno: 22 }));
  // the source's own facts win over what was learned
  t.learnVeth("u-a", "other", 7);
  assertEquals(t.list()[0].ifindex, 5);
  // bb goes: what was learned about it goes too
  src.list = src.list.filter((p) => p.name !== "bb");
  src.onChange();
  assertEquals([changes, t.byVeth(9), t.byNetns(22)], [1, undefined, undefined]);
  src.list.push(pod("bb"));
  src.onChange();
  assertEquals(t.list()[2], pod("bb"), "a pod of the same uid coming back starts unknown");
});

Deno.test("pod directory without a source: no pods", () => {
  const t = new PodTable(null, true);
  t.start();
  assertEquals([t.list(), t.description], [[], "no pod source"]);
});
