// SPDX-License-Identifier: Apache-2.0
/**
 * The TypeScript mirror of bpf/include/dns.h against the BTF of
 * build/bpf/dns.bpf.o: every struct and every enum (limits, slots, latency
 * bounds, stat reasons), so a constant changed in C fails here first.
 */
import { assertEquals } from "../../testing/assert.ts";
import { assertStructLayout } from "../../testing/btf-layout.ts";
import { BPF_OBJ_DIR, kernelTest } from "../../testing/kernel.ts";
import { run } from "../../testing/run.ts";
import {
  decodeName,
  DNS_LIMITS,
  DNS_STATS,
  DNS_STRUCTS,
  encodeName,
  LATENCY_BOUNDS_US,
  LATENCY_BUCKETS,
  QTYPE_SLOTS,
  RCODE_SLOTS,
  SERVER_COUNTERS,
} from "./layout.ts";

const DNS_OBJ = `${BPF_OBJ_DIR}/dns.bpf.o`;

type BtfEnum = { kind: string; name?: string; values?: { name: string; val: number }[] };

/** Every enum named ek8s_dns_* in the object's BTF, as name -> { constant: value }. */
async function dnsEnums(): Promise<Record<string, Record<string, number>>> {
  const { stdout } = await run(["bpftool", "btf", "dump", "file", DNS_OBJ, "-j"]);
  const types = JSON.parse(stdout).types as BtfEnum[];
  return Object.fromEntries(
    types.filter((t) => t.kind === "ENUM" && t.name?.startsWith("ek8s_dns_")).map((t) => [
      t.name!,
      Object.fromEntries(t.values!.map((v) => [v.name, v.val])),
    ]),
  );
}

/** Slot names as the C enum spells them: DNS_Q_A, DNS_R_NXDOMAIN, DNS_STAT_SHORT_HEADER... */
const cName = (prefix: string, name: string) => prefix + name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();

kernelTest("dns structs and enums match bpf/include/dns.h (BTF of dns.bpf.o)", {
  needs: ["objects", "bpftool"],
}, async () => {
  for (const [name, s] of Object.entries(DNS_STRUCTS)) {
    await assertStructLayout(DNS_OBJ, name, s.fields.map(([f, o]) => [f, o]), s.size);
  }
  const enums = await dnsEnums();
  assertEquals(enums.ek8s_dns_limits, DNS_LIMITS);
  const slots = (prefix: string, names: readonly string[], count: string) => ({
    ...Object.fromEntries(names.map((n, i) => [cName(prefix, n), i])),
    [count]: names.length,
  });
  assertEquals(enums.ek8s_dns_qtype_slot, slots("DNS_Q_", QTYPE_SLOTS, "DNS_QTYPE_SLOTS"));
  assertEquals(enums.ek8s_dns_rcode_slot, slots("DNS_R_", RCODE_SLOTS, "DNS_RCODE_SLOTS"));
  assertEquals(enums.ek8s_dns_stat, slots("DNS_STAT_", DNS_STATS, "DNS_STAT_SLOTS"));
  assertEquals(
    enums.ek8s_dns_latency_bounds_us,
    Object.fromEntries(LATENCY_BOUNDS_US.map((b, i) => [`DNS_LAT_LE_${i}`, b])),
  );
  assertEquals(enums.ek8s_dns_latency, { DNS_LAT_BOUNDS: LATENCY_BOUNDS_US.length, DNS_LAT_BUCKETS: LATENCY_BUCKETS });
  // created_ns, then the counters the agent reads: queries, tcp, responses, truncated, latency, sum
  assertEquals(SERVER_COUNTERS, QTYPE_SLOTS.length + 1 + RCODE_SLOTS.length + 1 + LATENCY_BUCKETS + 1);
});

Deno.test("a name prints as dotted text; unusual bytes are escaped, never confused with dots", () => {
  const text = (e: { key: Uint8Array; value: Uint8Array }) => decodeName(e.key, e.value);
  assertEquals(text(encodeName(7, "WWW.Example.com")), { ifindex: 7, name: "www.example.com" });
  assertEquals(text(encodeName(7, "")), { ifindex: 7, name: "" });
  const e = encodeName(3, "ab.c");
  e.value[DNS_STRUCTS.dns_name_value.fields[1][1] + 1] = 0x2e; // "a" -> "." inside the first label
  assertEquals(text(e).name, "\\046b.c");
  e.value.fill(0x61, DNS_STRUCTS.dns_name_value.fields[1][1] + 6); // bytes past the key's length are not the name's
  assertEquals(text(e).name, "\\046b.c");
});
