// SPDX-License-Identifier: Apache-2.0
/**
 * What each module needs of the kernel, read from its compiled objects rather than kept by hand (so it cannot
 * drift from the C): the program types and map types of its objects, the helpers their code calls (per program
 * type: a helper is allowed in some types only), and the tracepoints they attach to. Before a module starts, the
 * agent probes each on the running kernel (libbpf's probes: a minimal program or map; tracefs for tracepoints)
 * and a module whose kernel lacks any reports "unsupported" naming what is missing and the Linux version that
 * brought it, instead of a verifier log. KERNEL_SINCE is the one hand-kept part: the version each feature came
 * in (docs/kernel-versions of bcc, checked against the kernel's own git history); a test fails for a feature
 * the objects use that it lacks. The README's compatibility matrix is generated from the same (requirements_test.ts
 * checks it).
 */
import type { ModuleName } from "../../control/wire/batch.ts";
import { helperCalls, instructionKinds } from "../libbpf/elf_calls.ts";
import { BpfObject, pathExists, probeMapType, probeProgType, readKernelFile } from "../libbpf/mod.ts";
import { probeHelper, probeInstructions } from "../libbpf/probe.ts";
import { ACCEL_OBJECT } from "./accel/module.ts";
import { GATEWAY_OBJECT } from "./gateway/module.ts";
import { LB_OBJECT } from "./lb/module.ts";

/** The compiled objects (in the agent's --bpf-dir) each module loads. */
export const MODULE_OBJECTS: Record<ModuleName, readonly string[]> = {
  ifstats: ["ifstats.bpf.o"],
  flows: ["flows.bpf.o"],
  tcp: ["tcp.bpf.o"],
  drops: ["drops.bpf.o"],
  lb: [LB_OBJECT],
  accel: [ACCEL_OBJECT],
  gateway: [GATEWAY_OBJECT],
  dns: ["dns.bpf.o"],
};

/**
 * The helpers the objects call, by id (enum bpf_func_id, stable kernel ABI), with their name. A helper the
 * objects call that is not here fails requirements_test.ts (it checks names against the kernel's BTF too).
 */
export const HELPERS: Record<number, string> = {
  1: "map_lookup_elem",
  2: "map_update_elem",
  3: "map_delete_elem",
  5: "ktime_get_ns",
  7: "get_prandom_u32",
  11: "l4_csum_replace",
  23: "redirect",
  26: "skb_load_bytes",
  39: "skb_pull_data",
  46: "get_socket_cookie",
  54: "xdp_adjust_meta",
  69: "fib_lookup",
  70: "sock_hash_update",
  71: "msg_redirect_hash",
  107: "sk_storage_get",
  113: "probe_read_kernel",
  118: "jiffies64",
  122: "get_netns_cookie",
  152: "redirect_neigh",
  160: "ktime_get_coarse_ns",
  164: "for_each_map_elem",
  181: "loop",
  187: "set_retval",
  195: "map_lookup_percpu_elem",
};

/** The Linux version each feature the objects use came in ("helper:loop", "map:lru_hash", "prog:xdp", ...). */
export const KERNEL_SINCE: Record<string, string> = {
  "prog:sched_cls": "4.1",
  "prog:tracepoint": "4.7",
  "prog:xdp": "4.8",
  "prog:cgroup_sock_addr": "4.17",
  "prog:sock_ops": "4.13",
  "prog:sk_skb": "4.14",
  "prog:sk_msg": "4.17",
  "map:hash": "3.19",
  "map:array": "3.19",
  "map:percpu_hash": "4.6",
  "map:percpu_array": "4.6",
  "map:lru_hash": "4.10",
  "map:lru_percpu_hash": "4.10",
  "map:array_of_maps": "4.12",
  "map:hash_of_maps": "4.12",
  "map:devmap": "4.14",
  "map:sockhash": "4.18",
  "map:sk_storage": "5.2",
  "map:ringbuf": "5.8",
  "helper:map_lookup_elem": "3.19",
  "helper:map_update_elem": "3.19",
  "helper:map_delete_elem": "3.19",
  "helper:ktime_get_ns": "4.1",
  "helper:get_prandom_u32": "4.1",
  "helper:l4_csum_replace": "4.1",
  "helper:redirect": "4.4",
  "helper:skb_load_bytes": "4.5",
  "helper:skb_pull_data": "4.9",
  "helper:get_socket_cookie": "4.12",
  "helper:xdp_adjust_meta": "4.15",
  "helper:fib_lookup": "4.18",
  "helper:sock_hash_update": "4.18",
  "helper:msg_redirect_hash": "4.18",
  "helper:sk_storage_get": "5.2",
  "helper:probe_read_kernel": "5.5",
  "helper:jiffies64": "5.5",
  "helper:get_netns_cookie": "5.7",
  "helper:redirect_neigh": "5.10",
  "helper:ktime_get_coarse_ns": "5.11",
  "helper:for_each_map_elem": "5.13",
  "helper:loop": "5.17",
  "helper:set_retval": "5.18",
  "helper:map_lookup_percpu_elem": "5.19",
  "tracepoint:sock/inet_sock_set_state": "4.16",
  "tracepoint:tcp/tcp_destroy_sock": "4.15",
  "tracepoint:tcp/tcp_retransmit_skb": "4.15",
  "tracepoint:tcp/tcp_receive_reset": "4.15",
  "tracepoint:tcp/tcp_send_reset": "4.15",
  "tracepoint:skb/kfree_skb": "4.7", // older, but BPF programs attach to tracepoints since 4.7
  "field:skb/kfree_skb.reason": "5.17",
  "insn:jmp32": "5.1",
  "insn:atomics": "5.12",
};

/**
 * What a module needs that its objects do not show: a tracepoint's field its programs read through CO-RE
 * (a kernel without it fails the load with a relocation error, not a missing helper).
 */
const FIELDS: Partial<Record<ModuleName, { tracepoint: string; field: string }[]>> = {
  drops: [{ tracepoint: "skb/kfree_skb", field: "reason" }],
};

/** A feature a module's objects use, and how to probe it. */
export interface Feature {
  /** "prog:sched_cls", "map:lru_hash", "helper:loop", "tracepoint:skb/kfree_skb". */
  name: string;
  probe:
    | { kind: "prog"; type: number }
    | { kind: "map"; type: number }
    | {
      kind: "helper";
      id: number;
      /** The program types that call it: it must be allowed in each. */
      progTypes: number[];
    }
    | { kind: "tracepoint"; path: string }
    | { kind: "field"; path: string; field: string }
    | { kind: "insn"; insns: "jmp32" | "atomics" };
}

/** The features of a module's objects, in a stable order (as listed in the README's matrix). */
export function moduleFeatures(bpfDir: string, module: ModuleName): Feature[] {
  const found = new Map<string, Feature>();
  const add = (f: Feature) => {
    const had = found.get(f.name);
    if (had?.probe.kind === "helper" && f.probe.kind === "helper") {
      had.probe.progTypes = [...new Set([...had.probe.progTypes, ...f.probe.progTypes])];
    } else if (!had) found.set(f.name, f);
  };
  for (const file of MODULE_OBJECTS[module]) {
    const path = `${bpfDir}/${file}`;
    const obj = BpfObject.open(path);
    try {
      const sectionTypes = new Map<string, number>();
      for (const p of obj.programs) {
        sectionTypes.set(p.sectionName, p.type);
        add({ name: `prog:${p.typeName}`, probe: { kind: "prog", type: p.type } });
        const tp = /^(?:tracepoint|tp)\/(.+)$/.exec(p.sectionName)?.[1];
        if (tp) add({ name: `tracepoint:${tp}`, probe: { kind: "tracepoint", path: tp } });
      }
      for (const m of obj.maps) {
        if (m.name.startsWith(".") || m.name.includes(".")) continue; // libbpf's own (.rodata, .bss): arrays
        add({ name: `map:${m.typeName}`, probe: { kind: "map", type: m.type } });
      }
      const allTypes = [...new Set(sectionTypes.values())];
      for (const [section, ids] of helperCalls(Deno.readFileSync(path))) {
        // subprograms (.text) are called from the object's programs: probed against each of their types
        const types = sectionTypes.has(section) ? [sectionTypes.get(section)!] : allTypes;
        for (const id of ids) {
          add({ name: `helper:${HELPERS[id] ?? `#${id}`}`, probe: { kind: "helper", id, progTypes: types } });
        }
      }
      // clang -mcpu=v3 (build-bpf.sh): 32-bit jumps everywhere, atomic or in flows (not in the helpers' dates)
      for (const insns of instructionKinds(Deno.readFileSync(path))) {
        add({ name: `insn:${insns}`, probe: { kind: "insn", insns } });
      }
    } finally {
      obj.close();
    }
  }
  for (const { tracepoint, field } of FIELDS[module] ?? []) {
    add({ name: `field:${tracepoint}.${field}`, probe: { kind: "field", path: tracepoint, field } });
  }
  return [...found.values()].sort((a, b) => order(a.name) - order(b.name) || a.name.localeCompare(b.name));
}

const KINDS = ["prog", "map", "helper", "tracepoint", "field", "insn"];
const order = (name: string) => KINDS.indexOf(name.slice(0, name.indexOf(":")));

/** Tracefs, where libbpf looks for tracepoints (the mount, else debugfs's). */
const TRACEFS = ["/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"];

/** Probes features on the running kernel, each once. */
export class KernelProbes {
  readonly #seen = new Map<string, boolean>();

  /** Whether the kernel has it; a probe libbpf cannot run (undefined) counts as present: the load will tell. */
  has(f: Feature): boolean {
    const key = f.probe.kind === "helper" ? `${f.name}@${f.probe.progTypes.join(",")}` : f.name;
    let v = this.#seen.get(key);
    if (v === undefined) this.#seen.set(key, v = probe(f));
    return v;
  }

  /** The features of `module` this kernel lacks, named with the version that brought each. */
  missing(bpfDir: string, module: ModuleName): string[] {
    return moduleFeatures(bpfDir, module).filter((f) => !this.has(f)).map(describe);
  }
}

function probe(f: Feature): boolean {
  const p = f.probe;
  try {
    switch (p.kind) {
      case "prog":
        return probeProgType(p.type);
      case "map":
        return probeMapType(p.type);
      case "helper":
        return p.progTypes.every((t) => probeHelper(t, p.id) ?? true);
      case "tracepoint":
        return TRACEFS.some((dir) => pathExists(`${dir}/${p.path}`)) || !TRACEFS.some((dir) => pathExists(dir));
      case "insn":
        return probeInstructions(p.insns);
      case "field": {
        const dir = TRACEFS.find((d) => pathExists(`${d}/${p.path}/format`));
        // "\tfield:enum skb_drop_reason reason;\toffset:..."
        return dir === undefined ||
          new RegExp(`field:[^;]*\\b${p.field};`).test(readKernelFile(`${dir}/${p.path}/format`));
      }
    }
  } catch {
    return true; // a probe that failed (no privilege for it): the load itself will say
  }
}

/** "helper loop (Linux 5.17)". */
export function describe(f: Feature): string {
  const [kind, what] = [f.name.slice(0, f.name.indexOf(":")), f.name.slice(f.name.indexOf(":") + 1)];
  const since = KERNEL_SINCE[f.name];
  const label = {
    prog: "program type",
    map: "map type",
    helper: "helper",
    tracepoint: "tracepoint",
    field: "field",
    insn: "instructions",
  }[kind] ?? kind;
  return `${label} ${what}${since ? ` (Linux ${since})` : ""}`;
}

/** "5.17" > "5.4": versions compared numerically, part by part. */
function newer(a: string, b: string): boolean {
  const [x, y] = [a.split(".").map(Number), b.split(".").map(Number)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  }
  return false;
}

/**
 * The README's compatibility matrix (markdown): per module, the oldest Linux with every feature its objects use
 * (the newest of their KERNEL_SINCE), and the features by kind. `deno run -A agent/modules/requirements.ts`
 * prints it.
 */
export function compatibilityTable(bpfDir: string, modules: readonly ModuleName[]): string {
  const rows = modules.map((m) => {
    const features = moduleFeatures(bpfDir, m);
    let min = "3.19";
    for (const f of features) if (KERNEL_SINCE[f.name] && newer(KERNEL_SINCE[f.name], min)) min = KERNEL_SINCE[f.name];
    const of = (kind: string) =>
      features.filter((f) => f.name.startsWith(`${kind}:`)).map((f) => `\`${f.name.slice(kind.length + 1)}\``)
        .join(", ") || "—";
    const tracepoints = [...of("tracepoint").split(", "), ...of("field").split(", ")].filter((t) => t !== "—");
    return `| \`${m}\` | ${min} | ${of("prog")} | ${of("map")} | ${of("helper")} | ${tracepoints.join(", ") || "—"} |`;
  });
  return [
    "| module | Linux | program types | map types | helpers | tracepoints (and fields read) |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

if (import.meta.main) {
  const { MODULES } = await import("../../control/wire/batch.ts");
  console.log(compatibilityTable(Deno.args[0] ?? new URL("../../build/bpf", import.meta.url).pathname, MODULES));
}
