// SPDX-License-Identifier: Apache-2.0
/**
 * Fuzzing POST /api/v1/ingest on a control plane running as its own process
 * (`tsx control/main.ts`), over HTTP with keep-alive: 10,000+ bodies built
 * from seed batches that carry every part of a batch the wire allows
 * (fuzz-seeds.test-support.ts, fuzz.test-support.ts).
 *
 * Every answer is the one the contract owes (expectedAnswer): a 4xx JSON
 * error, naming the field where the case knows which, or a 200 BatchAck for
 * a valid batch; never a 5xx, never a body that is not JSON. A refused case
 * writes nothing: the database's change counter (PRAGMA data_version, read
 * on a connection of this test's own to the same file) is checked after each
 * one, which names the case that wrote, and a dump of every table is compared
 * every DUMP_EVERY refused cases and at the end. An accepted batch must write
 * (a resent one must not, and say duplicate). At the end the process is
 * still up, answers /healthz and serves what it stored.
 *
 * Order: first the cases made to be refused, against the seeds' data (a valid
 * one among them is set aside); then the accepted cases, each with a fresh
 * sequence number so that it is stored (those set aside first); last, the
 * accepted cases' bodies that the schema refuses, against everything stored.
 */
import { type Client as Db, createClient } from "@libsql/client";
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { controlArgv, listeningUrl, type Proc, start } from "../../scripts/procs.ts";
import { formatPath } from "../http/validation.ts";
import {
  ADMIN_TOKEN,
  AS_ADMIN,
  bearer,
  dumpTables,
  getJson,
  newJoinToken,
  overHttp,
  postJoin,
  send,
} from "../test-support.ts";
import { Batch, BatchAck } from "../wire/batch.ts";
import { FUZZ_RULE, FUZZ_SERVICE, fuzzSeeds } from "./fuzz-seeds.test-support.ts";
import {
  type CaseArbitraries,
  caseArbitraries,
  type Credentials,
  type Expected,
  expectedAnswer,
  type FuzzCase,
  namesPath,
  NODE,
  type Stamp,
} from "./fuzz.test-support.ts";

const RUNS = { json: 1_500, truncated: 1_000, credential: 500, mutated: 7_000, accepted: 700 };
/** What the API and the pages show of what was stored (the last 5 minutes, where every stamp is). */
const READ_BACK = [
  "/api/v1/nodes",
  `/api/v1/nodes/${NODE}`,
  `/api/v1/nodes/${NODE}/interfaces`,
  `/api/v1/nodes/${NODE}/series`,
  `/api/v1/nodes/${NODE}/modules`,
  "/api/v1/pods",
  "/api/v1/pods/default/web",
  "/api/v1/flows",
  "/api/v1/tcp",
  "/api/v1/drops",
  "/api/v1/servicemap",
  "/api/v1/toptalkers",
  "/api/v1/toptalkers?by=pairs",
  "/api/v1/services",
  "/api/v1/services/default/redis",
  "/api/v1/accel/rules",
  "/metrics",
  "/",
  `/nodes/${NODE}`,
  "/pods",
  "/servicemap",
  "/services",
  "/services/default/redis",
  "/accel",
];

/** Refused cases between two full dumps (each case is checked on its own by the change counter). */
const DUMP_EVERY = 500;

const Issues = z.array(z.strictObject({ path: z.string(), message: z.string().min(1) })).min(1);

/** Proves refused cases write nothing; see the file comment. */
class WriteWatch {
  /** Dump of every table (per table, as JSON) since which only refused cases ran; undefined after an accepted one. */
  private reference: Record<string, string> | undefined;
  private version = -1;
  /** The refused cases since the reference was last compared. */
  private since: string[] = [];

  constructor(private readonly db: Db) {}

  private async dataVersion(): Promise<number> {
    return Number((await this.db.execute("PRAGMA data_version")).rows[0]![0]);
  }

  private async dump(): Promise<Record<string, string>> {
    const tables = await dumpTables({ $client: this.db });
    return Object.fromEntries(Object.entries(tables).map(([name, rows]) => [name, JSON.stringify(rows, bigints)]));
  }

  /** The tables whose rows differ from the reference. */
  private async changedTables(): Promise<string[]> {
    const now = await this.dump();
    const names = new Set([...Object.keys(now), ...Object.keys(this.reference ?? {})]);
    return [...names].filter((name) => now[name] !== this.reference?.[name]);
  }

  async beforeRefused(): Promise<void> {
    if (this.version < 0) this.version = await this.dataVersion();
    this.reference ??= await this.dump();
  }

  async afterRefused(what: string): Promise<void> {
    if ((await this.dataVersion()) !== this.version) {
      const changed = await this.changedTables();
      await this.resync();
      throw new Error(`${what}: refused, but it wrote to the database (tables ${changed})`);
    }
    this.since.push(what);
    if (this.since.length >= DUMP_EVERY) await this.compare();
  }

  /** Compares a dump with the reference, if refused cases ran since. */
  async compare(): Promise<void> {
    if (this.since.length === 0) return;
    const changed = await this.changedTables();
    const [first, last] = [this.since[0], this.since.at(-1)];
    this.since = [];
    if (changed.length > 0) {
      await this.resync();
      throw new Error(`tables ${changed} changed during the refused cases from ${first} to ${last}`);
    }
  }

  /**
   * After a write was found: what is there now is the reference, so that the
   * cases fast-check tries next (shrinking) fail only if they write too.
   */
  private async resync(): Promise<void> {
    this.version = await this.dataVersion();
    this.reference = await this.dump();
  }

  async beforeAccepted(): Promise<void> {
    await this.compare();
    if (this.version < 0) this.version = await this.dataVersion();
  }

  /** A stored batch must have written, a duplicate not. */
  async afterAccepted(what: string, duplicate: boolean): Promise<void> {
    const version = await this.dataVersion();
    if (duplicate && version !== this.version) throw new Error(`${what}: a duplicate, but it wrote to the database`);
    if (!duplicate && version === this.version) throw new Error(`${what}: acknowledged, but nothing was written`);
    if (!duplicate) this.reference = undefined;
    this.version = version;
  }
}

/** Sends cases and checks each answer; counts them per kind and outcome. */
class Fuzzer {
  readonly counts: Record<string, Record<string, number>> = {};
  /** Cases the schema takes although meant to be refused: sent as accepted cases. */
  readonly setAside: FuzzCase[] = [];
  /** Bodies of accepted cases the schema refuses: sent after the accepted ones. */
  readonly refusedLater: Array<{ c: FuzzCase; text: string; expected: Expected }> = [];
  /** Highest sequence number stored per boot, as the control plane must see it. */
  private readonly lastSeq = new Map<string, number>();
  /** Above what "resent" cases take off, so that they stay counters. */
  private seq = 100;

  constructor(
    private readonly http: Client,
    private readonly watch: WriteWatch,
    private readonly credentials: Credentials,
    /** Agent clock at seq 0: a while ago, so that every batch stored is in the windows the reads show. */
    private readonly t0: number,
    /** What the control plane logged, for the failure message of a 5xx. */
    private readonly logs: () => string,
  ) {}

  /** Batches 50 ms apart on the agent's clock: a few thousand of them fit the last 5 minutes. */
  private stampOf(seq: number): Stamp {
    return { seq, ts: this.t0 + seq * 50 };
  }

  /** Where nothing is stored: the next sequence number, which refused cases never use up. */
  private get fixedStamp(): Stamp {
    return this.stampOf(this.seq + 1);
  }

  private nextStamp(): Stamp {
    return this.stampOf(++this.seq);
  }

  private count(kind: string, outcome: string) {
    const byOutcome = (this.counts[kind] ??= {});
    byOutcome[outcome] = (byOutcome[outcome] ?? 0) + 1;
  }

  get total(): number {
    return Object.values(this.counts).flatMap(Object.values).reduce((a, b) => a + b, 0);
  }

  /** A case made to be refused, at the fixed stamp; set aside if the schema takes it after all. */
  async refuse(c: FuzzCase): Promise<void> {
    const text = c.text(this.fixedStamp);
    const expected = expectedAnswer(text, c.auth ? c.auth.node : NODE);
    if (expected.status === 200) {
      if (c.invalid) throw new Error(`${c.what}: made to be invalid, but the schema takes it`);
      this.setAside.push(c);
      return;
    }
    await this.sendRefused(c, text, expected);
  }

  /** A body that must be refused (as `expected`): its answer checked, and that it wrote nothing. */
  async sendRefused(c: FuzzCase, text: string, expected: Expected): Promise<void> {
    const node = c.auth ? c.auth.node : NODE;
    await this.watch.beforeRefused();
    const answer = await this.post(
      c,
      text,
      c.auth ? c.auth.header(this.credentials) : `Bearer ${this.credentials.own}`,
    );
    const { fail } = answer;
    if (answer.status !== expected.status) throw fail(`expected ${expected.status}`);
    const body = jsonOf(answer);
    if (typeof body.error !== "string" || body.error === "") throw fail("no error message");
    if (expected.status === 400 && !expected.notJson) {
      const issues = Issues.safeParse(body.issues);
      if (!issues.success) throw fail("no issues naming fields");
      if (c.names && !namesPath(issues.data, c.names)) throw fail(`no issue names ${formatPath(c.names)}`);
    }
    if (expected.status === 400 && expected.notJson && body.error !== "body is not JSON") throw fail("not JSON?");
    if (expected.status === 403 && !body.error.includes(`'${node}'`)) throw fail(`the error names not '${node}'`);
    await this.watch.afterRefused(c.what);
    this.count(c.kind, `${expected.status}`);
  }

  /** A case meant to be stored, at a fresh stamp: a body the schema refuses is kept for later. */
  async accept(c: FuzzCase): Promise<void> {
    const stamp = this.nextStamp();
    const text = c.text(stamp);
    const expected = expectedAnswer(text, NODE);
    const { batch } = expected;
    if (expected.status !== 200 || batch === undefined) {
      this.refusedLater.push({ c, text, expected });
      return;
    }
    const stored = this.lastSeq.get(batch.bootId);
    const duplicate = stored !== undefined && batch.seq <= stored;
    await this.watch.beforeAccepted();
    const answer = await this.post(c, text, `Bearer ${this.credentials.own}`);
    const { fail } = answer;
    if (answer.status !== 200) throw fail("expected 200");
    const ack = BatchAck.safeParse(jsonOf(answer));
    if (!ack.success) throw fail("not a BatchAck");
    expect(ack.data, c.what).toMatchObject({ duplicate, seq: duplicate ? stored : batch.seq });
    if (!duplicate) this.lastSeq.set(batch.bootId, batch.seq);
    await this.watch.afterAccepted(c.what, duplicate);
    this.count(c.kind, duplicate ? "200 duplicate" : "200");
  }

  /** Sends `c`'s body; the answer, with a failure that says what was answered (and after a 5xx, logged). */
  private async post(c: FuzzCase, text: string, authorization: string | undefined): Promise<Answer> {
    const res = await this.http.request({
      path: "/api/v1/ingest",
      method: "POST",
      headers: { "content-type": "application/json", ...(authorization === undefined ? {} : { authorization }) },
      body: text,
    });
    const type = res.headers["content-type"];
    const [status, body] = [res.statusCode, await res.body.text()];
    const log = status >= 500 ? `\ncontrol plane: ${this.logs().slice(-2_000)}` : "";
    return {
      status,
      type: String(type),
      text: body,
      fail: (why) => new Error(`${c.what}: ${why}; answered ${status} ${body.slice(0, 400)}${log}`),
    };
  }
}

const bigints = (_key: string, v: unknown) => (typeof v === "bigint" ? `${v}n` : v);

interface Answer {
  status: number;
  type: string;
  text: string;
  fail(why: string): Error;
}

/** The answer's JSON body; a failure if it is not JSON. */
function jsonOf(answer: Answer) {
  if (!answer.type.startsWith("application/json")) throw answer.fail(`content type ${answer.type}`);
  try {
    return JSON.parse(answer.text);
  } catch {
    throw answer.fail("a body that is not JSON");
  }
}

describe("ingest fuzzing, against the control plane as its own process", () => {
  const dir = mkdtempSync(join(tmpdir(), "ek8s-ingest-fuzz-"));
  let proc: Proc | undefined;
  let http: Client | undefined;
  let db: Db | undefined;
  let base: string;
  let cases: CaseArbitraries;
  let fuzz: Fuzzer;
  let watch: WriteWatch;
  let seeds: Record<string, Batch>;

  beforeAll(async () => {
    proc = start("control", controlArgv(), {
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_URL: `file:${dir}/db.sqlite`,
      EBPF_K8S_ADMIN_TOKEN: ADMIN_TOKEN,
      EBPF_K8S_KUBE_SYNC: "off",
      EBPF_K8S_INGEST_RATE: "1000000",
      EBPF_K8S_INGEST_BURST: "1000000",
      // Nothing but the requests may write while the database is watched: no alert evaluation, no retention,
      // and the once-only work's lease taken at start and not renewed during the run.
      EBPF_K8S_ALERT_INTERVAL: "1h",
      EBPF_K8S_MAINTENANCE_INTERVAL: "1h",
      EBPF_K8S_LEASE: "3h",
      EBPF_K8S_LEASE_RENEW: "1h",
    });
    base = await listeningUrl(proc);
    const remote = overHttp(base);

    // What lb, gateway and accel rows name, so that they are stored.
    const svc = await send(remote, "POST", "/api/v1/services", FUZZ_SERVICE, AS_ADMIN);
    expect(await svc.json()).toMatchObject({ id: 1, backends: [{ id: 1 }, { id: 2 }] });
    const rule = await send(remote, "POST", "/api/v1/accel/rules", FUZZ_RULE, AS_ADMIN);
    expect(await rule.json()).toMatchObject({ id: 1 });

    const { token } = await newJoinToken(remote, { ttlSeconds: 3_600 });
    const credential = async (node: string) => {
      const res = await postJoin(remote, node, token);
      expect(res.status).toBe(200);
      return (await res.json()).credential as string;
    };
    const revoked = await credential(NODE);
    // revoked by the admin: a join cannot take over a node whose credential is live
    expect((await send(remote, "DELETE", `/api/v1/nodes/${NODE}/credentials`, undefined, AS_ADMIN)).status).toBe(200);
    const credentials = { own: await credential(NODE), other: await credential("node-b"), revoked, admin: ADMIN_TOKEN };
    const lb = await getJson(remote, "/api/v1/lb/state", bearer(credentials.own));
    seeds = fuzzSeeds(lb.body.version);
    cases = caseArbitraries(seeds);

    // bigint: sums of counters may pass 2^53, which the default mode refuses to read.
    db = createClient({ url: `file:${dir}/db.sqlite`, intMode: "bigint" });
    // One connection, kept alive: a 413 (answered before the body is read) must leave it usable for the next case.
    http = new Client(base);
    watch = new WriteWatch(db);
    fuzz = new Fuzzer(http, watch, credentials, Date.now() - 120_000, () => proc!.output());
  }, 60_000);

  afterAll(async () => {
    await http?.close();
    db?.close();
    await proc?.stop(5_000);
    rmSync(dir, { recursive: true, force: true });
  });

  it("stores each seed: together they carry every part of a batch the wire allows, and reach every table", async () => {
    expect(Object.keys(seeds.everything!).sort()).toEqual(Object.keys(Batch.shape).sort());
    for (const [name, seed] of Object.entries(seeds)) {
      await fuzz.accept({ kind: "seed", what: name, invalid: false, text: (s) => JSON.stringify({ ...seed, ...s }) });
    }
    const tables = await dumpTables({ $client: db! });
    const empty = Object.keys(tables).filter((t) => tables[t]!.length === 0);
    // Only tables that no batch writes stay empty: maintenance's rollups, alerting's and its notifications', the
    // admin's (thresholds are not: the defaults are seeded at the first start).
    expect(empty.sort()).toEqual([
      "alert_notification_attempts",
      "alert_notifications",
      "alert_pending",
      "alert_receivers",
      "alerts",
      "desired_states",
      "drop_service_stats",
      "drop_stats",
      "flow_stats",
      "interface_stats",
      "module_defaults",
      "settings",
      "tcp_stats",
    ]);
  });

  it(
    `refuses ${RUNS.json + RUNS.truncated + RUNS.credential + RUNS.mutated} malformed batches, writing nothing`,
    async () => {
      const run = (arbitrary: fc.Arbitrary<FuzzCase>, numRuns: number) =>
        fc.assert(fc.asyncProperty(arbitrary, (c) => fuzz.refuse(c)), { numRuns });
      await run(cases.json, RUNS.json);
      await run(cases.truncated, RUNS.truncated);
      await run(cases.credential, RUNS.credential);
      await run(cases.mutated, RUNS.mutated);
    },
    120_000,
  );

  it(
    `stores ${RUNS.accepted}+ valid batches at the schema's edges, and refuses the invalid ones among them`,
    async () => {
      for (const c of fuzz.setAside) await fuzz.accept(c);
      await fc.assert(fc.asyncProperty(cases.accepted, (c) => fuzz.accept(c)), { numRuns: RUNS.accepted });
      for (const { c, text, expected } of fuzz.refusedLater) await fuzz.sendRefused(c, text, expected);
      await watch.compare();
    },
    120_000,
  );

  it("is still up afterwards, answers /healthz and serves what it stored", async () => {
    console.log(`ingest fuzzing: ${fuzz.total} cases`, fuzz.counts);
    expect(fuzz.total).toBeGreaterThanOrEqual(10_000);
    expect(proc!.child.exitCode, proc!.output()).toBeNull();
    expect(proc!.child.signalCode).toBeNull();
    const remote = overHttp(base);
    expect(await getJson(remote, "/healthz")).toEqual({ status: 200, body: { ok: true } });
    const failed = [];
    for (const path of READ_BACK) {
      const res = await remote.request(path);
      if (res.status !== 200) failed.push(`${path}: ${res.status} ${(await res.text()).slice(0, 200)}`);
    }
    expect(failed, proc!.output().slice(-3_000)).toEqual([]);
    expect(proc!.output(), "what the control plane logged").not.toMatch(/unhandled rejection|Error/);
  });
});
