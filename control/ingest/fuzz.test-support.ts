// SPDX-License-Identifier: Apache-2.0
/**
 * What the ingest fuzzer (fuzz.process.test.ts) sends, and what it must be answered.
 *
 * Cases are built from valid seed batches (fuzz-seeds.test-support.ts) by
 * `caseArbitraries`:
 * - meant to be refused: random JSON, truncated JSON text, wrong credentials,
 *   and a seed with one thing changed. Most changes are invalid by
 *   construction (a wrong type, a bad or fractional number, an unknown field,
 *   an over-long string, deep nesting, a wrong version, another node); the
 *   others (a field or element removed, a boundary number, another string,
 *   ...) are whatever the schema makes of them.
 * - meant to be stored (`accepted`): seeds with one to three changes that a
 *   valid batch can survive, up to every counter at 2^53 - 1 and rows
 *   repeated past a thousand: what the store must take without a 5xx.
 *
 * `expectedAnswer` says which answer a body must get, from the wire schema
 * (the contract) and the ingest route's order of checks.
 */
import fc from "fast-check";
import { type FieldIssue, formatPath, validate } from "../http/validation.ts";
import { BOOT_B } from "../test-support.ts";
import { type Batch, MAX_BATCH_BYTES, WIRE_VERSION } from "../wire/batch.ts";
import { acceptedWireVersions } from "../wire/version.ts";
import { IngestBatch, versionMismatch } from "./ingest-batch.ts";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Path = Array<string | number>;

/** Sequence number and agent clock a body is sent with: fresh ones for batches meant to be stored. */
export interface Stamp {
  seq: number;
  ts: number;
}

/** The credentials a case may present; `own` is the node's, the batches' node. */
export interface Credentials {
  own: string;
  /** A live credential of another node. */
  other: string;
  /** An earlier credential of the node, revoked by the admin before it joined again. */
  revoked: string;
  admin: string;
}

export interface FuzzCase {
  /** For counting cases per kind. */
  kind: string;
  /** What was done, for failure messages. */
  what: string;
  text(stamp: Stamp): string;
  /** Authorization other than the node's own credential: the header (none when undefined) and whose it is. */
  auth?: { header(c: Credentials): string | undefined; node: string | undefined };
  /** Invalid by construction: it must be refused whatever the schema says (so the schema is checked too). */
  invalid: boolean;
  /** A 400 must name a field at or under this path. */
  names?: Path;
}

/** The node every seed is from. */
export const NODE = "node-a";

export interface Expected {
  status: 200 | 400 | 401 | 403 | 409 | 413;
  /** 400 for a body that is not JSON at all (the answer then names no field). */
  notJson?: boolean;
  /** The batch, when it is one. */
  batch?: Batch;
}

/** The answer the ingest route owes `text` sent with a credential of `credentialNode` (undefined: none valid). */
export function expectedAnswer(text: string, credentialNode: string | undefined): Expected {
  if (Buffer.byteLength(text) > MAX_BATCH_BYTES) return { status: 413 };
  if (credentialNode === undefined) return { status: 401 };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { status: 400, notJson: true };
  }
  if (versionMismatch(body, acceptedWireVersions(WIRE_VERSION)) !== undefined) return { status: 409 };
  const batch = validate(IngestBatch, body);
  if (!batch.ok) return { status: 400 };
  return { status: batch.data.node === credentialNode ? 200 : 403, batch: batch.data };
}

/** Whether `issues` name a field at or under `path`. */
export function namesPath(issues: FieldIssue[], path: Path): boolean {
  const p = formatPath(path);
  return issues.some((i) => i.path === p || i.path.startsWith(`${p}.`));
}

// --- JSON paths -------------------------------------------------------------------------------

/** Every path in `value`, containers included. */
function paths(value: Json, prefix: Path = []): Path[] {
  const here = prefix.length > 0 ? [prefix] : [];
  if (Array.isArray(value)) return [...here, ...value.flatMap((v, i) => paths(v, [...prefix, i]))];
  if (value !== null && typeof value === "object") {
    return [...here, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, k]))];
  }
  return here;
}

const last = (p: Path) => p[p.length - 1]!;
/** The value at `path`; undefined where an earlier change removed it. */
const get = (value: Json, path: Path): Json | undefined =>
  path.reduce<Json | undefined>((v, k) => (v as Record<string | number, Json> | null | undefined)?.[k], value);
const kind = (v: Json | undefined) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
const show = (p: Path) => formatPath(p);

/**
 * A copy of `root` with `value` at `path` (removed when undefined: the key, or
 * the array element); `root` itself where an earlier change removed the parent.
 */
function setAt(root: Json, path: Path, value: Json | undefined): Json {
  if (path.length === 0) return value ?? null;
  const copy = structuredClone(root);
  return setIn(copy, path, value) ? copy : root;
}

/** The same, in `root` itself (a copy already); false where there is no parent. */
function setIn(root: Json, path: Path, value: Json | undefined): boolean {
  const parent = get(root, path.slice(0, -1));
  if (parent === null || typeof parent !== "object") return false;
  const key = last(path);
  if (Array.isArray(parent)) {
    if (value === undefined) parent.splice(Number(key), 1);
    else parent[Number(key)] = value;
  } else if (value === undefined) delete parent[key];
  else parent[key] = value;
  return true;
}

function nested(depth: number, asArray: boolean): Json {
  let v: Json = 1;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { a: v };
  return v;
}

// --- seeds --------------------------------------------------------------------------------------

/** Objects whose keys are data (labels, features), not field names: any key of the right shape is valid. */
const RECORD_KEYS = new Set(["labels", "features"]);

interface Seed {
  name: string;
  value: Json;
  all: Path[];
  /** Integer leaves: counters, ids, ports, seq, ts (interval is the one non-integer number). */
  integers: Path[];
  /**
   * The same but seq and ts, which accepted cases leave to the stamp: one
   * batch at seq 2^53 - 1 would make every later one of its boot a duplicate.
   */
  unstamped: Path[];
  strings: Path[];
  /** Object keys, as paths. */
  keys: Path[];
  arrays: Path[];
  strictObjects: Path[];
  records: Path[];
  /** Per fill value: the integer leaves the schema accepts it at (what `saturate` may set). */
  fillable: Map<number, Path[]>;
}

const FILLS = [0, Number.MAX_SAFE_INTEGER];

function seedOf(name: string, batch: Batch): Seed {
  const value = JSON.parse(JSON.stringify(batch)) as Json;
  const all = paths(value);
  const isRecord = (p: Path) => RECORD_KEYS.has(String(last(p)));
  const integers = all.filter((p) => Number.isInteger(get(value, p)) && show(p) !== "interval");
  const unstamped = integers.filter((p) => !["seq", "ts"].includes(show(p)));
  const objects = all.filter((p) => kind(get(value, p)) === "object");
  const valid = (v: Json) => validate(IngestBatch, v).ok;
  if (!valid(value)) throw new Error(`seed '${name}' is not a valid batch`);
  return {
    name,
    value,
    all,
    integers,
    unstamped,
    strings: all.filter((p) => typeof get(value, p) === "string"),
    keys: all.filter((p) => typeof last(p) === "string"),
    arrays: all.filter((p) => Array.isArray(get(value, p)) && (get(value, p) as Json[]).length > 0),
    strictObjects: [[], ...objects.filter((p) => !isRecord(p))],
    records: objects.filter(isRecord),
    fillable: new Map(FILLS.map((fill) => [fill, unstamped.filter((p) => valid(setAt(value, p, fill)))])),
  };
}

// --- mutations ----------------------------------------------------------------------------------

interface Mutation {
  kind: string;
  what: string;
  invalid: boolean;
  names?: Path;
  /** How many times over it can make the batch (an element repeated n times: n + 1); 1 when it does not grow it. */
  grows?: number;
  apply(body: Json): Json;
}

/**
 * The most a combination may multiply a batch by: two repeats of nested arrays multiply (20,001 rules of 20,001
 * elements each is a string no JSON.stringify can make), and past the body limit the outcome is a 413 anyway.
 */
const MAX_GROWTH = 100_000;

const anyJson = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>;
const valueOfOtherKind = (original: Json) => anyJson.filter((v) => kind(v) !== kind(original));

const set = (kind: string, path: Path, value: Json | undefined, what: string, invalid: boolean, names = path) => ({
  kind,
  what: `${what} at ${show(path)}`,
  invalid,
  names,
  apply: (body: Json) => setAt(body, path, value),
});

/** The array a path is an element (or inside an element) of: where a duplicate of it would be named. */
const enclosingArray = (p: Path) => {
  const i = p.map((k) => typeof k).lastIndexOf("number");
  return i < 0 ? p : p.slice(0, i);
};

/** Changes the schema must refuse whatever the seed. */
function invalidMutations(s: Seed): fc.Arbitrary<Mutation>[] {
  const { all, integers, strings, strictObjects } = s;
  return [
    fc.constantFrom(...all).chain((p) =>
      valueOfOtherKind(get(s.value, p)!).map((v) => set("wrong type", p, v, `${JSON.stringify(v)}`, true))
    ),
    fc.tuple(
      fc.constantFrom(...integers),
      fc.oneof(
        fc.integer({ min: -1e9, max: -1 }),
        fc.double({ min: 0.001, max: 1e6, noNaN: true }).filter((x) => !Number.isInteger(x)),
        fc.constantFrom(2 ** 53, 2 ** 64, 1e300, -1e300, Number.MAX_VALUE),
      ),
    ).map(([p, v]) => set("bad number", p, v, `${v}`, true)),
    fc.constantFrom(0, -1, -0.5, 3600.5, 1e9).map((v) => set("bad interval", ["interval"], v, `${v}`, true)),
    fc.tuple(fc.constantFrom(...strictObjects), fc.string({ minLength: 1, maxLength: 20 }), anyJson).map((
      [p, key, v],
    ) => set("unknown field", [...p, `x_${key}`], v, `unknown field x_${key}`, true)),
    fc.tuple(
      fc.constantFrom(...strings),
      fc.integer({ min: 8_193, max: 40_000 }),
      fc.string({ minLength: 1, maxLength: 1, unit: "binary" }),
    ).map(([p, n, c]) => set("long string", p, c.repeat(n), `${n} × ${JSON.stringify(c)}`, true)),
    fc.tuple(fc.constantFrom<Path>([], ...all), fc.integer({ min: 50, max: 3_000 }), fc.boolean()).map((
      [p, depth, asArray],
    ) => ({
      // At the root, the answer names the fields it misses, not the root.
      ...set("deep nesting", p, nested(depth, asArray), `${asArray ? "arrays" : "objects"} ${depth} deep`, true),
      names: p.length === 0 ? undefined : p,
    })),
    // none a control plane of WIRE_VERSION accepts (it takes WIRE_VERSION − 1 too): 409
    fc.constantFrom<Json>(0, WIRE_VERSION + 1, -1, "1", null, 1.5, true, [1], {}).map((v) =>
      set("wrong version", ["v"], v, JSON.stringify(v), true)
    ),
    fc.constantFrom("node-b", "node-a.other", "0").map((node) => set("other node", ["node"], node, node, true)),
  ];
}

/** A number moved by `by`, not below `min`; anything else (an earlier change made it so) as it is. */
const moved = (v: Json | undefined, by: number, min: number): Json | undefined =>
  typeof v === "number" ? Math.max(min, v + by) : v;

/** `body` with element `i` of the array at `p` repeated `n` times more. */
function repeated(body: Json, p: Path, i: number, n: number): Json {
  const list = get(body, p);
  if (!Array.isArray(list) || list.length === 0) return body;
  return setAt(body, p, [...list, ...Array<Json>(n).fill(list[i % list.length]!)]);
}

/** `body` with every counter the seed's schema takes `fill` at set to it. */
function saturated(s: Seed, body: Json, fill: number): Json {
  const copy = structuredClone(body);
  for (const p of s.fillable.get(fill)!) setIn(copy, p, fill);
  return copy;
}

/** Changes a valid batch may survive (the schema decides): the stuff of accepted cases. */
function maybeMutations(s: Seed): fc.Arbitrary<Mutation>[] {
  const { keys, strings, arrays, records } = s;
  return [
    fc.constantFrom(...keys).map((p) => set("field removed", p, undefined, "removed", false)),
    fc.tuple(fc.constantFrom(...arrays), fc.nat()).map(([p, i]) => {
      const at = [...p, i % (get(s.value, p) as Json[]).length];
      return set("element removed", at, undefined, "removed", false, p);
    }),
    fc.tuple(
      fc.constantFrom(...arrays),
      fc.nat(),
      // Just past each cap (modules, pods, programs and accel rules, drops, interfaces, flows, lb rows);
      // 1,025 rows of 2^53 - 1 add up past 2^63.
      fc.oneof(fc.integer({ min: 1, max: 20 }), fc.constantFrom(7, 1_001, 1_025, 2_001, 4_097, 5_001, 20_001)),
    ).map(([p, i, n]) => ({
      kind: "element repeated",
      what: `element ${i} of ${show(p)} repeated ${n} times`,
      invalid: false,
      names: p,
      grows: n + 1,
      apply: (body: Json) => repeated(body, p, i, n),
    })),
    fc.tuple(
      fc.constantFrom(...s.unstamped),
      fc.constantFrom(0, 1, 255, 256, 1_023, 1_024, 65_535, 65_536, 262_143, 262_144, Number.MAX_SAFE_INTEGER),
    ).map(([p, v]) => set("boundary number", p, v, `${v}`, false)),
    fc.tuple(fc.constantFrom(...strings), fc.string({ maxLength: 70, unit: "binary" })).map(([p, v]) =>
      set("other string", p, v, JSON.stringify(v), false, enclosingArray(p))
    ),
    fc.constantFrom(...FILLS).map((fill) => ({
      kind: "saturated",
      what: `every counter ${fill}`,
      invalid: false,
      apply: (body: Json) => saturated(s, body, fill),
    })),
    // Rows at 2^53 - 1 repeated past a thousand: their sums pass what a JS number holds exactly (2^53)
    // and what a SQLite integer holds (2^63).
    fc.tuple(fc.constantFrom(...arrays), fc.constantFrom(1_025, 2_001)).map(([p, n]) => ({
      kind: "saturated rows",
      what: `every counter 2^53 - 1, element 0 of ${show(p)} repeated ${n} times`,
      invalid: false,
      names: p,
      grows: n + 1,
      apply: (body: Json) => repeated(saturated(s, body, Number.MAX_SAFE_INTEGER), p, 0, n),
    })),
    fc.oneof(fc.constantFrom(1e-9, 0.001, 3600), fc.double({ min: 0.001, max: 3600, noNaN: true })).map((v) =>
      set("interval", ["interval"], v, `${v}`, false)
    ),
    fc.tuple(fc.oneof(fc.constant(BOOT_B), fc.uuid({ version: 4 })), fc.nat({ max: 100_000 })).map((
      [bootId, earlier],
    ) => ({
      kind: "other boot",
      what: `boot ${bootId}, ${earlier} ms earlier`,
      invalid: false,
      names: ["bootId"],
      apply: (body: Json) => setAt(setAt(body, ["bootId"], bootId), ["ts"], moved(get(body, ["ts"]), -earlier, 1)),
    })),
    fc.integer({ min: 1, max: 50 }).map((back) => ({
      kind: "resent",
      what: `seq ${back} back`,
      invalid: false,
      names: ["seq"],
      apply: (body: Json) => setAt(body, ["seq"], moved(get(body, ["seq"]), -back, 0)),
    })),
    ...(records.length === 0 ? [] : [
      fc.tuple(fc.constantFrom(...records), fc.string({ maxLength: 400 }), fc.oneof(fc.boolean(), fc.string())).map(
        ([p, key, v]) => set("record entry", [...p, key], v, `entry ${JSON.stringify(key)}`, false, p),
      ),
    ]),
  ];
}

/** The body of `seed` at `stamp`. */
const stamped = (seed: Seed, { seq, ts }: Stamp): Json => ({ ...(seed.value as Record<string, Json>), seq, ts });

/** `seed` with `ms` applied in turn; with several, the schema decides, and a refusal may name any field. */
function caseOf(seed: Seed, ms: Mutation[]): FuzzCase {
  const [only] = ms.length === 1 ? ms : [];
  return {
    kind: only?.kind ?? "combined",
    what: `${seed.name}: ${ms.map((m) => m.what).join("; ")}`,
    invalid: only?.invalid ?? false,
    names: only?.names,
    text: (stamp) => JSON.stringify(ms.reduce((b, m) => m.apply(b), stamped(seed, stamp))),
  };
}

// --- cases --------------------------------------------------------------------------------------

const AUTHS: Array<
  { what: string; node: string | undefined; header: fc.Arbitrary<(c: Credentials) => string | undefined> }
> = [
  { what: "no credential", node: undefined, header: fc.constant(() => undefined) },
  {
    what: "random Authorization",
    node: undefined,
    header: fc.string({ maxLength: 80 }).map((h) => () => h),
  },
  {
    what: "random bearer token",
    node: undefined,
    header: fc.stringMatching(/^[A-Za-z0-9_.~+/=-]{1,100}$/).map((t) => () => `Bearer ${t}`),
  },
  {
    what: "credential with one character changed",
    node: undefined,
    header: fc.nat().map((i) => (c) => {
      const at = i % c.own.length;
      return `Bearer ${c.own.slice(0, at)}${c.own[at] === "A" ? "B" : "A"}${c.own.slice(at + 1)}`;
    }),
  },
  { what: "credential without Bearer", node: undefined, header: fc.constant((c) => c.own) },
  { what: "revoked credential", node: undefined, header: fc.constant((c) => `Bearer ${c.revoked}`) },
  { what: "admin token", node: undefined, header: fc.constant((c) => `Bearer ${c.admin}`) },
  { what: "another node's credential", node: "node-b", header: fc.constant((c) => `Bearer ${c.other}`) },
];

export interface CaseArbitraries {
  /** Any JSON value as the body. */
  json: fc.Arbitrary<FuzzCase>;
  /** A seed's JSON text cut short. */
  truncated: fc.Arbitrary<FuzzCase>;
  /** A valid seed sent without the node's own valid credential. */
  credential: fc.Arbitrary<FuzzCase>;
  /** A seed with one thing changed, mostly so as to be invalid. */
  mutated: fc.Arbitrary<FuzzCase>;
  /** A seed with one to three changes that a valid batch may survive. */
  accepted: fc.Arbitrary<FuzzCase>;
}

export function caseArbitraries(seedBatches: Record<string, Batch>): CaseArbitraries {
  const seeds = Object.entries(seedBatches).map(([name, batch]) => seedOf(name, batch));
  const invalid = new Map(seeds.map((s) => [s, fc.oneof(...invalidMutations(s))]));
  const maybe = new Map(seeds.map((s) => [s, fc.oneof(...maybeMutations(s))]));
  const seed = fc.constantFrom(...seeds);
  return {
    json: anyJson.map((v) => ({
      kind: "random JSON",
      what: `random JSON ${JSON.stringify(v).slice(0, 200)}`,
      invalid: true,
      text: () => JSON.stringify(v),
    })),
    truncated: fc.tuple(seed, fc.nat()).map(([s, n]) => ({
      kind: "truncated",
      what: `${s.name} cut at ${n}`,
      invalid: true,
      text: (stamp) => {
        const text = JSON.stringify(stamped(s, stamp));
        return text.slice(0, n % text.length);
      },
    })),
    credential: fc.tuple(seed, fc.constantFrom(...AUTHS)).chain(([s, a]) =>
      a.header.map((header) => ({
        kind: "credential",
        what: `${s.name} with ${a.what}`,
        invalid: true,
        auth: { header, node: a.node },
        text: (stamp: Stamp) => JSON.stringify(stamped(s, stamp)),
      }))
    ),
    mutated: seed.chain((s) =>
      fc.oneof({ arbitrary: invalid.get(s)!, weight: 3 }, { arbitrary: maybe.get(s)!, weight: 1 }).map((m) =>
        caseOf(s, [m])
      )
    ),
    accepted: seed.chain((s) =>
      fc.array(maybe.get(s)!, { minLength: 1, maxLength: 3 })
        .filter((ms) => ms.reduce((g, m) => g * (m.grows ?? 1), 1) <= MAX_GROWTH)
        .map((ms) => caseOf(s, ms))
    ),
  };
}
