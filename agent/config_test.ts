import { assertEquals, assertStringIncludes, assertThrows } from "./testing/assert.ts";
import { ConfigError, parseConfig } from "./config.ts";

const base = ["--control", "http://127.0.0.1:8080", "--node", "n1"];

Deno.test("config: monitoring defaults; flags and their environment variables", () => {
  const c = parseConfig(base, () => undefined);
  assertEquals(
    [c.podsFile, c.flowInterfaces, c.flowTableSize, c.flowIdleSeconds, c.maxFlowRecords, c.tcpTableSize, c.tcpSocketTableSize, c.maxTcpRecords, c.dropTableSize, c.maxDropRecords],
    [undefined, [], 65536, 60, 5000, 16384, 65536, 5000, 8192, 2000],
  );
  const env: Record<string, string> = { EBPF_K8S_PODS_FILE: "/run/ebpf-k8s/lab-a/pods-n1.json", EBPF_K8S_FLOW_TABLE_SIZE: "1024" };
  const e = parseConfig([...base, "--flow-interfaces", "eth1,cni0", "--max-drop-records", "0"], (k) => env[k]);
  assertEquals([e.podsFile, e.flowTableSize, e.flowInterfaces, e.maxDropRecords], ["/run/ebpf-k8s/lab-a/pods-n1.json", 1024, ["eth1", "cni0"], 0]);
});

Deno.test("config: caps above the wire's limits and tiny tables are refused, naming the flag", () => {
  const err = assertThrows(() => parseConfig([...base, "--max-flow-records", "6000", "--flow-table-size", "8", "--pods-file", "pods.json"], () => undefined), ConfigError);
  assertStringIncludes(err.message, "--max-flow-records:");
  assertStringIncludes(err.message, "--flow-table-size:");
  assertStringIncludes(err.message, "--pods-file: must be an absolute path");
});
