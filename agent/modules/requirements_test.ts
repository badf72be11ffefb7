// SPDX-License-Identifier: Apache-2.0
/**
 * What the modules need of the kernel (requirements.ts), read from the built objects: every helper they call
 * is named (the names checked against the running kernel's enum bpf_func_id) and dated, this kernel has every
 * feature of every module, a probe tells a missing feature from a present one, and the README's matrix is the
 * one the objects make.
 */
import { assert, assertEquals, assertStringIncludes } from "../testing/assert.ts";
import { BPF_OBJ_DIR as OBJECTS, kernelTest } from "../testing/mod.ts";
import { MODULES } from "../../control/wire/batch.ts";
import { enumMembers } from "../btf/enums.ts";
import { helperCalls } from "../libbpf/elf_calls.ts";
import { probeInstructions } from "../libbpf/probe.ts";
import { ProgType, readKernelBytes } from "../libbpf/mod.ts";
import {
  compatibilityTable,
  describe,
  HELPERS,
  KERNEL_SINCE,
  KernelProbes,
  MODULE_OBJECTS,
  moduleFeatures,
} from "./requirements.ts";

const README = new URL("../../README.md", import.meta.url).pathname;

kernelTest("requirements: every helper the objects call is named as the kernel names it, every feature dated", () => {
  const kernelNames = enumMembers(readKernelBytes("/sys/kernel/btf/vmlinux"), "bpf_func_id")!;
  for (const file of Object.values(MODULE_OBJECTS).flat()) {
    for (const [section, ids] of helperCalls(Deno.readFileSync(`${OBJECTS}/${file}`))) {
      for (const id of ids) {
        assert(HELPERS[id] !== undefined, `${file} (${section}) calls helper ${id}: add it to HELPERS`);
        assertEquals(`BPF_FUNC_${HELPERS[id]}`, kernelNames.get(id), `helper ${id}`);
      }
    }
  }
  for (const m of MODULES) {
    const features = moduleFeatures(OBJECTS, m);
    assert(features.some((f) => f.name.startsWith("prog:")), `${m}: its objects have programs`);
    for (const f of features) {
      assert(KERNEL_SINCE[f.name], `${m} uses ${f.name}: add the Linux version to KERNEL_SINCE`);
    }
  }
});

kernelTest("requirements: a helper called from a subprogram (.text) is still found", () => {
  // gateway.bpf.o calls bpf_map_lookup_percpu_elem only from a subprogram (.text), which libbpf alone would not show
  const calls = helperCalls(Deno.readFileSync(`${OBJECTS}/gateway.bpf.o`));
  assertEquals([...calls].filter(([, ids]) => ids.has(195)).map(([s]) => s), [".text"]);
  assert(moduleFeatures(OBJECTS, "gateway").some((f) => f.name === "helper:map_lookup_percpu_elem"));
});

kernelTest("requirements: this kernel has what every module needs; a probe tells a missing feature", () => {
  const probes = new KernelProbes();
  for (const m of MODULES) assertEquals(probes.missing(OBJECTS, m), [], m);
  // a helper this kernel does not know (libbpf 1.1 tells "unknown func" apart, not "not allowed in this type")
  const future = {
    name: "helper:future",
    probe: { kind: "helper" as const, id: 9999, progTypes: [ProgType.SCHED_CLS] },
  };
  assertEquals(probes.has(future), false);
  const loop = { name: "helper:loop", probe: { kind: "helper" as const, id: 181, progTypes: [ProgType.SCHED_CLS] } };
  assertEquals(probes.has(loop), true);
  assertEquals(describe(loop), "helper loop (Linux 5.17)");
  assertEquals(
    probes.has({ name: "tracepoint:skb/no_such", probe: { kind: "tracepoint", path: "skb/no_such" } }),
    false,
  );
  const noField = {
    name: "field:skb/kfree_skb.no_such",
    probe: { kind: "field" as const, path: "skb/kfree_skb", field: "no_such" },
  };
  assertEquals(probes.has(noField), false);
  assertEquals(
    probes.has({
      name: "field:skb/kfree_skb.reason",
      probe: { kind: "field", path: "skb/kfree_skb", field: "reason" },
    }),
    true,
  );
});

kernelTest("requirements: the README's compatibility matrix is the one the built objects make", () => {
  const table = compatibilityTable(OBJECTS, MODULES);
  const readme = Deno.readTextFileSync(README).replace(/\s+\|/g, " |").replace(/\|\s+/g, "| ").replace(/-{3,}/g, "---");
  assertStringIncludes(
    readme,
    table.replace(/\s+\|/g, " |").replace(/\|\s+/g, "| "),
    "regenerate: deno run -A agent/modules/requirements.ts, and paste it into the README (then deno fmt README.md)",
  );
});

kernelTest("requirements: instructions newer than Linux 4.x count: flows' atomic or (5.12), 32-bit jumps (5.1)", () => {
  const flows = moduleFeatures(OBJECTS, "flows");
  const atomics = flows.find((f) => f.name === "insn:atomics");
  assert(atomics, "flows.bpf.c's __sync_fetch_and_or is a BPF_ATOMIC or: a 5.12 instruction");
  assertEquals(describe(atomics), "instructions atomics (Linux 5.12)");
  assert(flows.some((f) => f.name === "insn:jmp32"));
  assert(!moduleFeatures(OBJECTS, "ifstats").some((f) => f.name === "insn:atomics"), "ifstats only adds");
  // both probes load a program here (Linux 5.12+): called directly, as KernelProbes.has takes a failed probe as yes
  assertEquals(probeInstructions("atomics"), true);
  assertEquals(probeInstructions("jmp32"), true);
  assert(compatibilityTable(OBJECTS, ["flows"]).includes("| `flows` | 5.12 |"));
});
