// SPDX-License-Identifier: Apache-2.0
/** What the accel module programs from rules, services and pods; the kernel versions that need the SK_SKB verdict. */
import type { PodInfo } from "../../../control/wire/pods.ts";
import { assertEquals } from "../../testing/assert.ts";
import { testService } from "../lb/fixtures.ts";
import { chooseSockmapWorkaround, diffPlan, kernelLosesWakeups, planAccel } from "./policy.ts";

const pod = (name: string, ip: string, labels: Record<string, string>, extra: Partial<PodInfo> = {}): PodInfo => ({
  uid: name,
  namespace: "test",
  name,
  labels,
  ips: [ip],
  hostNetwork: false,
  ...extra,
});

Deno.test("planAccel: local addresses are the pods' IPv4 ones (not host-network); service rules give backends ip:port, pods rules ip:0; the smallest id wins", () => {
  const pods = [
    pod("redis", "10.244.1.5", { app: "redis" }),
    pod("web", "10.244.1.6", { app: "web", tier: "edge" }, { ips: ["10.244.1.6", "fd00::6"] }),
    pod("host", "192.168.1.10", { app: "web", tier: "edge" }, { hostNetwork: true }),
    pod("other", "10.244.1.7", { app: "web", tier: "edge" }, { namespace: "prod" }),
  ];
  const http = testService(1, "10.96.0.1", [{ id: 1, ip: "10.244.1.5" }, { id: 2, ip: "10.244.2.9" }], {
    portName: "http",
  }, 6379);
  const admin = testService(2, "10.96.0.1", [{ id: 3, ip: "10.244.1.5" }], { portName: "admin", port: 81 }, 7000);
  const udp = testService(3, "10.96.0.2", [{ id: 4, ip: "10.244.1.5" }], { protocol: "UDP", name: "s1" }, 53);
  const plan = planAccel(
    [
      { id: 7, kind: "service", namespace: "test", name: "s1" },
      { id: 3, kind: "service", namespace: "test", name: "s2", portName: "admin" },
      { id: 2, kind: "service", namespace: "test", name: "s1", portName: "http" },
      { id: 4, kind: "pods", namespace: "test", selector: { app: "web", tier: "edge" } },
    ],
    [http, { ...admin, name: "s2" }, udp],
    pods,
  );
  assertEquals([...plan.local].sort(), ["10.244.1.5", "10.244.1.6", "10.244.1.7"]);
  assertEquals(Object.fromEntries(plan.endpoints), {
    "10.244.1.5:6379": 2, // rules 7 and 2 both: the smaller
    "10.244.2.9:6379": 2, // a backend on another node: written, but never both ends local here
    "10.244.1.5:7000": 3,
    "10.244.1.6:0": 4,
  });
  const after = planAccel([], [], pods.slice(0, 1));
  const d = diffPlan(plan, after);
  assertEquals([d.localAdd, d.localDel.sort(), d.endpointPut, d.endpointDel.length], [
    [],
    ["10.244.1.6", "10.244.1.7"],
    [],
    4,
  ]);
});

Deno.test("kernelLosesWakeups: 6.6.128+, 6.12.75+, 6.18.14+ and 6.19 on", () => {
  const cases: [string, boolean][] = [
    ["6.6.127", false],
    ["6.6.128", true],
    ["6.6.200-cloud", true],
    ["6.12.74", false],
    ["6.12.75", true],
    ["6.18.13", false],
    ["6.18.14", true],
    ["6.18.44-fc-v595", true],
    ["6.19.0", true],
    ["7.1.2", true],
    ["6.1.150", false],
    ["5.15.0-105-generic", false],
    ["6.17.9", false],
    ["weird", true],
  ];
  for (const [release, want] of cases) assertEquals(kernelLosesWakeups(release), want, release);
});

Deno.test("chooseSockmapWorkaround: on and off are forced whatever the release; auto follows the table and says why", () => {
  for (const release of ["6.18.44", "6.1.150", "weird"]) {
    assertEquals(chooseSockmapWorkaround("on", release), { on: true, why: "forced on" });
    assertEquals(chooseSockmapWorkaround("off", release), { on: false, why: "forced off" });
  }
  assertEquals(chooseSockmapWorkaround("auto", "6.18.44-fc"), {
    on: true,
    why: "auto: kernel 6.18.44-fc is among those with commit 929e30f93125",
  });
  assertEquals(chooseSockmapWorkaround("auto", "6.1.150"), {
    on: false,
    why: "auto: kernel 6.1.150 is not among those with commit 929e30f93125",
  });
  assertEquals(chooseSockmapWorkaround("auto", "weird"), {
    on: true,
    why: "auto: kernel release 'weird' not understood, so on",
  });
});
