import { assertEquals, assertStringIncludes, assertThrows } from "./testing/assert.ts";
import { ConfigError, parseConfig } from "./config.ts";

const base = ["--control", "http://127.0.0.1:8080", "--node", "n1"];

Deno.test("config: monitoring defaults; flags and their environment variables", () => {
  const c = parseConfig(base, () => undefined);
  assertEquals(
    [
      c.podsFile,
      c.flowInterfaces,
      c.flowTableSize,
      c.flowIdleSeconds,
      c.maxFlowRecords,
      c.tcpTableSize,
      c.tcpSocketTableSize,
      c.maxTcpRecords,
      c.dropTableSize,
      c.maxDropRecords,
    ],
    [undefined, [], 65536, 60, 5000, 16384, 65536, 5000, 8192, 2000],
  );
  const env: Record<string, string> = {
    EBPF_K8S_PODS_FILE: "/run/ebpf-k8s/lab-a/pods-n1.json",
    EBPF_K8S_FLOW_TABLE_SIZE: "1024",
  };
  const e = parseConfig([...base, "--flow-interfaces", "eth1,cni0", "--max-drop-records", "1"], (k) => env[k]);
  assertEquals([e.podsFile, e.flowTableSize, e.flowInterfaces, e.maxDropRecords], [
    "/run/ebpf-k8s/lab-a/pods-n1.json",
    1024,
    ["eth1", "cni0"],
    1,
  ]);
});

Deno.test("config: caps above the wire's limits and tiny tables are refused, naming the flag", () => {
  const err = assertThrows(
    () =>
      parseConfig(
        [...base, "--max-flow-records", "6000", "--flow-table-size", "8", "--pods-file", "pods.json"],
        () => undefined,
      ),
    ConfigError,
  );
  assertStringIncludes(err.message, "--max-flow-records:");
  assertStringIncludes(err.message, "--flow-table-size:");
  assertStringIncludes(err.message, "--pods-file: must be an absolute path");
  // below the room the "other" records need
  const low = assertThrows(
    () => parseConfig([...base, "--max-flow-records", "9", "--max-drop-records", "0"], () => undefined),
    ConfigError,
  );
  assertStringIncludes(low.message, "--max-flow-records:");
  assertStringIncludes(low.message, "--max-drop-records:");
});

Deno.test("config: lb flags, their defaults and limits (the cgroup itself is checked when the module starts)", () => {
  const c = parseConfig(base, () => undefined);
  assertEquals([c.lbCgroup, c.lbTablePool, c.lbAffinityTableSize, c.lbReverseTableSize], [
    undefined,
    4194304,
    65536,
    65536,
  ]);
  const env: Record<string, string> = { EBPF_K8S_LB_CGROUP: "kubepods.slice" };
  const e = parseConfig([...base, "--lb-table-pool", "1048576"], (k) => env[k]);
  assertEquals([e.lbCgroup, e.lbTablePool], ["kubepods.slice", 1048576]);
  const err = assertThrows(
    () => parseConfig([...base, "--lb-table-pool", "131080", "--lb-reverse-table-size", "4"], () => undefined),
    ConfigError,
  );
  assertStringIncludes(err.message, "--lb-table-pool: must be a multiple of 16");
  assertStringIncludes(err.message, "--lb-reverse-table-size:");
  assertStringIncludes(err.message, "--lb-cgroup PATH", "the usage names the flag");
});

Deno.test("config: the spool keeps at least 3 batches (the one being sent, never merged, and two to merge)", () => {
  assertEquals(parseConfig(base, () => undefined).spoolMaxBatches, 1000);
  assertEquals(
    parseConfig(base, (k) => ({ EBPF_K8S_SPOOL_MAX_BATCHES: "3" } as Record<string, string>)[k]).spoolMaxBatches,
    3,
  );
  const err = assertThrows(() => parseConfig([...base, "--spool-max-batches", "2"], () => undefined), ConfigError);
  assertStringIncludes(err.message, "--spool-max-batches: must be at least 3");
});
