// SPDX-License-Identifier: Apache-2.0
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

Deno.test("config: --gateway-flow-table-size is refused past what one sweep can walk, before anything starts", () => {
  assertEquals(
    parseConfig([...base, "--gateway-flow-table-size", "262144"], () => undefined).gatewayFlowTableSize,
    262144,
  );
  const err = assertThrows(
    () => parseConfig([...base, "--gateway-flow-table-size", "262145"], () => undefined),
    ConfigError,
  );
  assertStringIncludes(err.message, "--gateway-flow-table-size");
});

Deno.test("config: --accel-sockmap-workaround auto (default), on, off, from the flag or EBPF_K8S_ACCEL_SOCKMAP_WORKAROUND; anything else refused", () => {
  assertEquals(parseConfig(base, () => undefined).accelSockmapWorkaround, "auto");
  assertEquals(
    parseConfig([...base, "--accel-sockmap-workaround", "off"], () => undefined).accelSockmapWorkaround,
    "off",
  );
  const env: Record<string, string> = { EBPF_K8S_ACCEL_SOCKMAP_WORKAROUND: "on" };
  assertEquals(parseConfig(base, (k) => env[k]).accelSockmapWorkaround, "on");
  assertEquals(
    parseConfig([...base, "--accel-sockmap-workaround", "off"], (k) => env[k]).accelSockmapWorkaround,
    "off",
    "the flag wins over the environment",
  );
  const err = assertThrows(
    () => parseConfig([...base, "--accel-sockmap-workaround", "yes"], () => undefined),
    ConfigError,
  );
  assertStringIncludes(err.message, "--accel-sockmap-workaround:");
  assertStringIncludes(err.message, "--accel-sockmap-workaround auto|on|off", "the usage names the flag");
});

Deno.test("config: gateway flow timeouts, their defaults, flags and environment variables; out of range refused, naming the flag", () => {
  const timeouts = (c: ReturnType<typeof parseConfig>) => [
    c.gatewayTimeoutTcpSyn,
    c.gatewayTimeoutTcpEstablished,
    c.gatewayTimeoutTcpClosing,
    c.gatewayTimeoutUdp,
  ];
  assertEquals(timeouts(parseConfig(base, () => undefined)), [60, 21600, 10, 60]);
  const env: Record<string, string> = { EBPF_K8S_GATEWAY_TIMEOUT_UDP: "30" };
  assertEquals(
    timeouts(
      parseConfig([...base, "--gateway-timeout-tcp-closing", "5", "--gateway-timeout-tcp-syn", "20"], (k) => env[k]),
    ),
    [20, 21600, 5, 30],
  );
  for (const bad of ["4", "604801", "5.5", "x"]) {
    assertThrows(
      () => parseConfig([...base, "--gateway-timeout-tcp-established", bad], () => undefined),
      ConfigError,
      "--gateway-timeout-tcp-established:",
    );
  }
});

Deno.test("config: uninstall takes the agent's flags and environment without --control; the agent itself needs it", () => {
  const env: Record<string, string> = { EBPF_K8S_NODE: "n2", EBPF_K8S_BPF_PIN_DIR: "/sys/fs/bpf/x" };
  const c = parseConfig(["--state-dir", "/var/lib/s"], (k) => env[k], "uninstall");
  assertEquals([c.node, c.bpfPinDir, c.stateDir], ["n2", "/sys/fs/bpf/x", "/var/lib/s"]);
  assertThrows(() => parseConfig([], (k) => env[k]), ConfigError, "--control:");
  assertThrows(() => parseConfig(["--bogus", "1"], () => undefined, "uninstall"), TypeError, "bogus");
});

Deno.test("config: --wire-encoding compact (default) or json, from the flag or EBPF_K8S_WIRE_ENCODING; anything else refused", () => {
  assertEquals(parseConfig(base, () => undefined).wireEncoding, "compact");
  assertEquals(parseConfig([...base, "--wire-encoding", "json"], () => undefined).wireEncoding, "json");
  const env: Record<string, string> = { EBPF_K8S_WIRE_ENCODING: "json" };
  assertEquals(parseConfig(base, (k) => env[k]).wireEncoding, "json");
  assertEquals(parseConfig([...base, "--wire-encoding", "compact"], (k) => env[k]).wireEncoding, "compact");
  const err = assertThrows(() => parseConfig([...base, "--wire-encoding", "gzip"], () => undefined), ConfigError);
  assertStringIncludes(err.message, "--wire-encoding:");
  assertStringIncludes(err.message, "--wire-encoding compact|json", "the usage names the flag");
});

Deno.test("config: dns flags, their defaults, environment and limits, each refusal naming the flag", () => {
  const c = parseConfig(base, () => undefined);
  assertEquals(
    [
      c.dnsPorts,
      c.dnsServerTableSize,
      c.dnsPendingTableSize,
      c.dnsNameTableSize,
      c.dnsTimeoutMs,
      c.maxDnsRecords,
      c.maxDnsNameRecords,
    ],
    [[], 4096, 16384, 8192, 5000, 1000, 1000],
  );
  const env: Record<string, string> = { EBPF_K8S_DNS_PORTS: "5353, 8053", EBPF_K8S_MAX_DNS_NAME_RECORDS: "7" };
  const e = parseConfig([...base, "--dns-timeout-ms", "250"], (k) => env[k]);
  assertEquals([e.dnsPorts, e.maxDnsNameRecords, e.dnsTimeoutMs], [[5353, 8053], 7, 250]);
  for (
    const [flag, value, says] of [
      ["--dns-ports", "53", "53 is always watched"],
      ["--dns-ports", "5353,5353", "a port is listed twice"],
      ["--dns-ports", "1,2,3,4,5,6,7,8,9", "--dns-ports:"],
      ["--dns-ports", "70000", "--dns-ports:"],
      ["--dns-ports", "x", "--dns-ports:"],
      ["--dns-timeout-ms", "99", "--dns-timeout-ms:"],
      ["--dns-name-table-size", "8", "--dns-name-table-size:"],
      ["--max-dns-records", "2001", "--max-dns-records:"],
      ["--max-dns-name-records", "0", "--max-dns-name-records:"],
    ]
  ) {
    const err = assertThrows(() => parseConfig([...base, flag, value], () => undefined), ConfigError);
    assertStringIncludes(err.message, says, `${flag} ${value}`);
    assertStringIncludes(err.message, `${flag}:`, `${flag} ${value}`);
  }
});
