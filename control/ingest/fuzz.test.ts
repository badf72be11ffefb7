/**
 * Property test: whatever arrives at /api/v1/ingest with a valid credential,
 * a malformed batch is answered 4xx (never 5xx), the app keeps serving, and
 * the database is byte-for-byte what it was.
 *
 * 10,000+ generated bodies: random JSON values, valid batches with one thing
 * broken (a wrong type anywhere, a negative / fractional / huge counter, an
 * unknown field in any object, an over-long string, deep nesting, a missing
 * field, a wrong version), and truncated JSON text. Rate-limit state lives in
 * memory, not in the tables, so the dump needs no exclusions; the limit is
 * raised out of the way by testApp().
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  batch,
  bearer,
  credentialFor,
  dumpTables,
  getJson,
  iface,
  inventory,
  openTestDb,
  postBatch,
  T0,
  testApp,
  type TestDb,
} from "../test-support.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = Array<string | number>;

const RUNS = { json: 2_000, mutated: 7_000, truncated: 1_500 };

/** A valid next batch (seq 2) touching every part of the schema. */
const VALID: Json = JSON.parse(
  JSON.stringify(
    batch({
      seq: 2,
      ts: T0 + 1_000,
      interval: 10,
      interfaces: [iface(), iface({ ifname: "eth0", ifindex: 2, rxBytes: 10 }), iface({ ifname: "cni0", ifindex: 3 })],
      inventory: inventory({
        modules: [
          { name: "ifstats", desired: true, state: "on" },
          { name: "accel", desired: true, state: "error", error: "no sockmap" },
        ],
      }),
    }),
  ),
);

/** Every path in `value`, containers included. */
function paths(value: Json, prefix: Path = []): Path[] {
  const here = prefix.length > 0 ? [prefix] : [];
  if (Array.isArray(value)) return [...here, ...value.flatMap((v, i) => paths(v, [...prefix, i]))];
  if (value !== null && typeof value === "object") {
    return [
      ...here,
      ...Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, k])),
    ];
  }
  return here;
}

const ALL_PATHS = paths(VALID);
const last = (p: Path) => p[p.length - 1];
const get = (value: Json, path: Path): Json => path.reduce<any>((v, k) => v[k], value);
const kind = (v: Json) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
const isUnder = (p: Path, key: string) => p.includes(key);

/** Integer fields (counters, ids, seq, ts): all reject negatives, fractions and values past 2^53. */
const INTEGER_KEYS = new Set([
  "seq",
  "ts",
  "ifindex",
  "rxPackets",
  "rxBytes",
  "txPackets",
  "txBytes",
  "drops",
  "id",
  "maxEntries",
  "entries",
  "runCount",
  "runTimeNs",
  "pending",
  "dropped",
]);
const INTEGER_PATHS = ALL_PATHS.filter((p) => INTEGER_KEYS.has(String(last(p))) && !isUnder(p, "features"));
const STRING_PATHS = ALL_PATHS.filter((p) => typeof get(VALID, p) === "string");
/** Objects that refuse unknown keys (all but the features record). */
const STRICT_OBJECTS: Path[] = [
  [],
  ...ALL_PATHS.filter((p) => kind(get(VALID, p)) === "object" && last(p) !== "features"),
];
/** Keys whose absence makes the batch invalid. */
const OPTIONAL_KEYS = new Set(["inventory", "error", "runCount", "runTimeNs"]);
const REQUIRED_PATHS = ALL_PATHS.filter((p) =>
  typeof last(p) === "string" && !OPTIONAL_KEYS.has(String(last(p))) && !isUnder(p, "features")
);

const anyJson: fc.Arbitrary<Json> = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>;
const valueOfOtherKind = (original: Json) => anyJson.filter((v) => kind(v) !== kind(original));

function nested(depth: number, asArray: boolean): Json {
  let v: Json = 1;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { a: v };
  return v;
}

function setAt(root: Json, path: Path, value: Json | undefined): Json {
  const copy = structuredClone(root);
  if (path.length === 0) return value ?? null;
  const parent = get(copy, path.slice(0, -1)) as any;
  if (value === undefined) delete parent[last(path)!];
  else parent[last(path)!] = value;
  return copy;
}

/** One thing broken in an otherwise valid batch. */
const mutated: fc.Arbitrary<{ what: string; body: Json }> = fc.oneof(
  fc
    .constantFrom(...ALL_PATHS)
    .chain((p) =>
      valueOfOtherKind(get(VALID, p)).map((v) => ({ what: `wrong type at ${p.join(".")}`, body: setAt(VALID, p, v) }))
    ),
  fc
    .tuple(
      fc.constantFrom(...INTEGER_PATHS),
      fc.oneof(
        fc.integer({ min: -1e9, max: -1 }),
        fc.double({ min: 0.001, max: 1e6, noNaN: true }).filter((x) => !Number.isInteger(x)),
        fc.constantFrom(2 ** 53, 2 ** 64, 1e300, -1e300, Number.MAX_VALUE),
      ),
    )
    .map(([p, v]) => ({ what: `bad number ${v} at ${p.join(".")}`, body: setAt(VALID, p, v) })),
  fc
    .tuple(fc.constantFrom(0, -1, -0.5, 3600.5, 1e9), fc.constant(["interval"] as Path))
    .map(([v, p]) => ({ what: `interval ${v}`, body: setAt(VALID, p, v) })),
  fc
    .tuple(fc.constantFrom(...STRICT_OBJECTS), fc.string({ minLength: 1, maxLength: 20 }), anyJson)
    .map(([p, key, v]) => ({ what: `extra field at ${p.join(".")}`, body: setAt(VALID, [...p, `x_${key}`], v) })),
  fc
    .tuple(
      fc.constantFrom(...STRING_PATHS),
      fc.integer({ min: 8_193, max: 40_000 }),
      fc.string({ minLength: 1, maxLength: 1, unit: "binary" }),
    )
    .map(([p, n, c]) => ({ what: `long string at ${p.join(".")}`, body: setAt(VALID, p, c.repeat(n)) })),
  fc
    .tuple(fc.constantFrom<Path>([], ...ALL_PATHS), fc.integer({ min: 50, max: 3_000 }), fc.boolean())
    .map(([p, depth, asArray]) => ({
      what: `nesting ${depth} at ${p.join(".")}`,
      body: setAt(VALID, p, nested(depth, asArray)),
    })),
  fc.constantFrom(...REQUIRED_PATHS).map((p) => ({ what: `missing ${p.join(".")}`, body: setAt(VALID, p, undefined) })),
  fc
    .constantFrom<Json>(0, 2, -1, "1", null, 1.5, true, [1], {})
    .map((v) => ({ what: `version ${JSON.stringify(v)}`, body: setAt(VALID, ["v"], v) })),
);

describe("ingest fuzzing (fast-check)", () => {
  let t: TestDb;
  let app: ReturnType<typeof testApp>["app"];
  let auth: Record<string, string>;
  let before: string;
  let sent = 0;

  beforeAll(async () => {
    t = await openTestDb();
    ({ app } = testApp(t.db, { logError: (message, err) => console.error(message, err) }));
    auth = bearer(await credentialFor(app, "node-a"));
    // Something stored already (seq 1), so "unchanged" is not trivially "empty".
    expect(
      (await postBatch(
        app,
        batch({ interfaces: [iface(), iface({ ifname: "eth0", ifindex: 2 })], inventory: inventory() }),
      )).status,
    ).toBe(200);
    before = JSON.stringify(await dumpTables(t.db));
  });
  afterAll(() => t.close());

  async function expect4xx(body: string, what: string) {
    sent++;
    const res = await postBatch(app, body, auth);
    const text = await res.text();
    if (res.status < 400 || res.status >= 500) throw new Error(`${what}: answered ${res.status} ${text.slice(0, 300)}`);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(JSON.parse(text).error).toEqual(expect.any(String));
  }

  it("the valid batch the mutations start from is accepted (checked on a copy of the database)", async () => {
    const copy = await openTestDb();
    try {
      const { app: other } = testApp(copy.db);
      expect((await postBatch(other, batch())).status).toBe(200);
      expect((await postBatch(other, VALID)).status).toBe(200);
    } finally {
      copy.close();
    }
  });

  it(
    `answers ${
      RUNS.json + RUNS.mutated + RUNS.truncated
    } malformed batches with 4xx, keeps serving, and writes nothing`,
    async () => {
      await fc.assert(
        fc.asyncProperty(
          anyJson,
          (value) => expect4xx(JSON.stringify(value), `random JSON ${JSON.stringify(value).slice(0, 100)}`),
        ),
        { numRuns: RUNS.json },
      );
      await fc.assert(
        fc.asyncProperty(mutated, ({ what, body }) => expect4xx(JSON.stringify(body), what)),
        { numRuns: RUNS.mutated },
      );
      const text = JSON.stringify(VALID);
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: text.length - 1 }),
          (n) => expect4xx(text.slice(0, n), `truncated at ${n}`),
        ),
        { numRuns: RUNS.truncated },
      );

      expect(sent).toBeGreaterThanOrEqual(10_000);
      expect(await getJson(app, "/healthz")).toEqual({ status: 200, body: { ok: true } });
      expect(JSON.stringify(await dumpTables(t.db))).toBe(before);
      // And it still takes a good batch.
      expect((await postBatch(app, VALID, auth)).status).toBe(200);
    },
    120_000,
  );
});
