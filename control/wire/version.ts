// SPDX-License-Identifier: Apache-2.0
/**
 * Wire versions and the compatibility rule between agents and control planes
 * (written out in README.md of this folder). In short:
 *
 * - Every change of what an agent sends bumps WIRE_VERSION, and a change adds
 *   optional fields only, listed in ADDED_IN under the version that added them.
 * - A control plane of version N accepts batches of N−1 and N (the fields N
 *   added are optional, so an N−1 batch is a valid N batch) and answers any
 *   other version 409 `{error: "unsupported wire version", version, accepts}`;
 *   GET /api/v1/wire answers `{version, accepts}` too.
 * - An agent rewrites a batch into the newest accepted version it can reach by
 *   leaving out added fields (downgradeBatch). When it cannot, it keeps the
 *   batch spooled and sends it once the control plane accepts it: a batch the
 *   control plane refuses is never deleted.
 *
 * So either side can be upgraded first by one version; upgrading the control
 * plane first never holds a batch back.
 */
import { z } from "zod";
import { DNS_MONITORING_FIELDS } from "./dns.ts";

/** The version this code writes (and, on the control plane, the newest it reads). */
export const WIRE_VERSION = 6;

/** The first wire version there was: nothing older exists to accept. */
const FIRST_WIRE_VERSION = 1;

export const WireVersion = z.number().int().min(FIRST_WIRE_VERSION).max(1_000_000);

/**
 * Modules added to MODULES (batch.ts) after the first version, with the version that added them. A module name
 * is an enum value on the wire (inventory.modules[].name, programs[].module, maps[].module, the desired state):
 * a batch written as an older version leaves out the inventory's entries of the module (ADDED_IN), and the
 * control plane's answer to an older agent leaves the module out of the desired state (desiredForWireVersion).
 * Plain strings, not ModuleName: batch.ts imports this file.
 */
export const MODULE_SINCE: Readonly<Record<string, number>> = { dns: 6 };

/** The ADDED_IN paths of a module added in a later version: its entries in the inventory's lists. */
function moduleEntries(module: string): string[][] {
  return [
    ["inventory", "modules", `[name=${module}]`],
    ["inventory", "programs", `[module=${module}]`],
    ["inventory", "maps", `[module=${module}]`],
  ];
}

/**
 * Per version, the fields it added (paths into a batch; "*" is every element of
 * an array, so a field of a record is named; "[field=value]" is every element
 * of an array whose `field` is `value`, so a path ending in it names array
 * elements, left out whole: the inventory's entries of a module added by that
 * version), all optional: a batch
 * of that version is written as the version before by leaving them out, and a
 * batch of an older version must not carry them. A version without an entry
 * changed something that cannot be written the old way: a batch of it cannot be
 * downgraded and waits for a control plane that accepts it.
 */
export const ADDED_IN: Readonly<Record<number, readonly (readonly string[])[]>> = {
  2: [
    ["inventory", "spool", "merged"],
    ["inventory", "spool", "quarantined"],
    ["inventory", "spool", "quarantineDropped"],
    ["monitoring", "flowKeysSummed"],
    ["monitoring", "tcpKeysSummed"],
    ["monitoring", "dropKeysSummed"],
  ],
  3: [["gateway", "frontends"]],
  // Version 4 added no field: its content is version 3's. What it adds is that it may travel compact
  // (compact/http.ts), which the sender chooses per request; written as version 3 it travels as plain JSON.
  4: [],
  5: [["drops", "*", "service"]],
  6: [["dns"], ...DNS_MONITORING_FIELDS.map((f) => ["monitoring", f]), ...moduleEntries("dns")],
};

/**
 * The desired state (its `modules`) as a control plane answers an agent of wire version `v`: without the
 * modules added after `v`, which that agent's strict schema would refuse. An agent reads a missing module as
 * its default (DesiredStateAnswer, batch.ts). A new object.
 */
export function desiredForWireVersion<D extends { modules: Record<string, boolean> }>(desired: D, v: number): D {
  const modules = Object.fromEntries(
    Object.entries(desired.modules).filter(([m]) => (MODULE_SINCE[m] ?? 0) <= v),
  );
  return { ...desired, modules };
}

/**
 * The header a join request names its agent's wire version in (a header: a new field in the body would be
 * refused by an older control plane's strict JoinRequest). The answer's desired state is cut for that version
 * (desiredForWireVersion). Every agent from JOIN_HEADER_SINCE on sends it, so a join without it is from an older
 * agent: its answer is cut for the version before.
 */
export const JOIN_WIRE_VERSION_HEADER = "x-ebpf-k8s-wire-version";
export const JOIN_HEADER_SINCE = 6;

/** The wire version a join's answer is cut for: its header's, or (absent or not a version) the one before the header. */
export function joinWireVersion(header: string | undefined): number {
  if (header === undefined || !/^[1-9][0-9]{0,5}$/.test(header)) return JOIN_HEADER_SINCE - 1;
  return Number(header);
}

/** The first wire version that may travel compact (compact/http.ts). */
export const COMPACT_SINCE_VERSION = 4;

/** The versions a control plane of version `v` accepts: v−1 and v. */
export function acceptedWireVersions(v: number): number[] {
  return v > FIRST_WIRE_VERSION ? [v - 1, v] : [v];
}

/** What a control plane says it reads: GET /api/v1/wire, and the 409 to a batch of another version. */
export const WireVersions = z.object({
  /** The version it writes and reads natively. */
  version: WireVersion,
  /** Every version of batch it accepts, oldest first. */
  accepts: z.array(WireVersion).min(1).max(16),
  /** When this control plane process started (ms since the epoch): a change tells an agent it restarted. */
  started: z.number().int().nonnegative().optional(),
});
export type WireVersions = z.infer<typeof WireVersions>;

/** The status and error text of the answer to a batch of a version the control plane does not accept. */
export const UNSUPPORTED_WIRE_VERSION_STATUS = 409;
export const UNSUPPORTED_WIRE_VERSION = "unsupported wire version";

/** GET: the control plane's WireVersions; unauthenticated, so that an agent can ask before anything else. */
export const WIRE_VERSIONS_PATH = "/api/v1/wire";

type Json = Record<string, unknown>;

/**
 * Fields that `batch` (of version `v`) carries although a later version added them: for each such path, where
 * it is first found (["drops", 3, "service"] for ["drops", "*", "service"]).
 */
export function fieldsNewerThan(batch: unknown, v: number, added = ADDED_IN): (string | number)[][] {
  return Object.entries(added)
    .filter(([w]) => Number(w) > v)
    .flatMap(([, paths]) => paths.flatMap((p) => at(batch, p).slice(0, 1).map((f) => f.path)));
}

/**
 * `batch` (parsed JSON, of version `batch.v`) written as version `to`, or
 * undefined when a version in between changed more than add fields. A new
 * object: the spooled original stays as it was.
 */
export function downgradeBatch(batch: Json, to: number, added = ADDED_IN): Json | undefined {
  const from = batch.v;
  if (typeof from !== "number" || to > from) return undefined;
  const out = structuredClone(batch);
  for (let v = from; v > to; v--) {
    const paths = added[v];
    if (!paths) return undefined;
    for (const p of paths) remove(out, p);
  }
  out.v = to;
  return out;
}

/** The newest of `accepts` that a batch of version `v` can be written as (itself or by downgrading), if any. */
export function reachableVersion(v: number, accepts: readonly number[], added = ADDED_IN): number | undefined {
  let reach = v;
  while (reach > FIRST_WIRE_VERSION && added[reach]) reach--;
  const candidates = accepts.filter((a) => a <= v && a >= reach);
  return candidates.length ? Math.max(...candidates) : undefined;
}

/** "[field=value]": the elements of an array whose `field` is `value`. */
const SELECTOR = /^\[([^=\]]+)=([^\]]*)\]$/;

/** Whether array element `e` is selected by path step `k` ("*": every one; "[field=value]": those matching). */
function selects(k: string, e: unknown): boolean {
  if (k === "*") return true;
  const m = SELECTOR.exec(k)!;
  return typeof e === "object" && e !== null && (e as Json)[m[1]!] === m[2];
}

/** The values at `path` ("*", "[field=value]": elements of an array), each with where it is. */
function at(value: unknown, path: readonly string[]): { value: unknown; path: (string | number)[] }[] {
  let found = [{ value, path: [] as (string | number)[] }];
  for (const k of path) {
    found = found.flatMap(({ value: v, path: p }) =>
      k === "*" || SELECTOR.test(k)
        ? (Array.isArray(v) ? v.flatMap((e, i) => selects(k, e) ? [{ value: e as unknown, path: [...p, i] }] : []) : [])
        : typeof v === "object" && v !== null && !Array.isArray(v) && k in v
        ? [{ value: (v as Json)[k], path: [...p, k] }]
        : []
    );
  }
  return found;
}

function remove(value: Json, path: readonly string[]): void {
  const last = path[path.length - 1]!;
  for (const { value: parent } of at(value, path.slice(0, -1))) {
    if (SELECTOR.test(last) && Array.isArray(parent)) {
      // in place (the batch is a copy): the selected elements leave, the others keep their order
      const kept = parent.filter((e) => !selects(last, e));
      parent.splice(0, parent.length, ...kept);
    } else if (typeof parent === "object" && parent !== null && !Array.isArray(parent)) {
      delete (parent as Json)[last];
    }
  }
}

/**
 * For tests only: EBPF_K8S_TEST_WIRE_VERSION makes an agent write, or a control
 * plane speak, another version than WIRE_VERSION, standing in for an older or
 * newer build in version-skew tests (scripts/e2e/version-skew.test.ts). Both
 * sides read it through this one function. Unset: WIRE_VERSION.
 */
export const TEST_WIRE_VERSION_ENV = "EBPF_K8S_TEST_WIRE_VERSION";

export function wireVersionFromEnv(value: string | undefined): number {
  if (value === undefined || value === "") return WIRE_VERSION;
  const v = WireVersion.safeParse(Number(value));
  if (!v.success || !/^\d+$/.test(value)) {
    throw new Error(`${TEST_WIRE_VERSION_ENV}: must be a wire version (a whole number from 1), not '${value}'`);
  }
  return v.data;
}
