// SPDX-License-Identifier: Apache-2.0
/**
 * A control plane for agent tests, on 127.0.0.1 (a random port), speaking
 * the contract of control/: join with a token for a credential, ingest with
 * `Authorization: Bearer`, duplicates by (node, bootId, seq), the desired
 * state in every answer, and the services by long-poll (GET
 * /api/v1/lb/state?after=&wait=: 200 with the state when its version is not
 * `after`, else 204 once nothing changed for the wait). Tests make it fail on
 * purpose (status codes, going away and coming back on the same port) and
 * read what it stored. It reads compact batches as the control plane does
 * (control/wire/compact/http.ts): gzipped, the inventory and pods' metadata
 * by hash when it holds them for the node (since its last stored batch),
 * else 412 naming the parts to send whole.
 */
import type { AccelRule } from "../../control/wire/accel.ts";
import {
  Batch,
  DEFAULT_MODULES,
  type DesiredState,
  type Inventory,
  type ModuleName,
} from "../../control/wire/batch.ts";
import { decodeCompact, type Held } from "../../control/wire/compact/decode.ts";
import { podInfo } from "../../control/wire/compact/encode.ts";
import {
  COMPACT_CONTENT_TYPE,
  gunzipCapped,
  type HeldPart,
  UNKNOWN_PART,
  UNKNOWN_PART_STATUS,
} from "../../control/wire/compact/http.ts";
import type { CompactBatch } from "../../control/wire/compact/shape.ts";
import type { PodInfo } from "../../control/wire/pods.ts";
import { LB_POLL_MODULE_HEADER, LbService, type LbState } from "../../control/wire/services.ts";
import { acceptedWireVersions, WIRE_VERSION, type WireVersions } from "../../control/wire/version.ts";

export interface Received {
  path: string;
  status: number;
  seq?: number;
  bootId?: string;
  /** lb state polls: the `after` asked with (null: none), and the module asking (its header). */
  after?: number | null;
  module?: string;
  /** When it was answered (Date.now()). */
  at?: number;
  /** Ingest: how the batch travelled, and the bytes of its body as sent. */
  encoding?: "compact" | "json";
  bytes?: number;
}

export class FakeControl {
  /** A join token it accepts. */
  readonly token = "ek8s-test-join-token-0123456789";
  /** Batches it stored (not duplicates), in arrival order. */
  readonly batches: Batch[] = [];
  /** Every request with the status it got. */
  readonly requests: Received[] = [];
  joins = 0;
  /** Cleared: a control plane older than GET /api/v1/wire (404), which cannot say what it accepts. */
  wireAnswers = true;
  /** Cleared: a control plane built before compact batches (a rollback): their gzipped body is not JSON, 400. */
  readsCompact = true;
  /** While set, a join is answered 409 as the control plane does for a node name whose credential is live. */
  nodeTaken = false;
  duplicates = 0;
  /** What GET /api/v1/wire answers; a new `started` is how a test says "the control plane restarted". */
  wire: WireVersions = { version: WIRE_VERSION, accepts: acceptedWireVersions(WIRE_VERSION), started: Date.now() };
  desired: DesiredState = { version: 1, modules: { ...DEFAULT_MODULES } };
  /** The services served to lb polls; setLbServices() raises the version. */
  lbState: LbState = { version: 0, services: [] };
  /** Longest a poll is held (the agent asks for 25 s). */
  lbWaitMs = 25_000;
  readonly #lbWaiters = new Set<() => void>();
  readonly #lbFailures: number[] = [];
  readonly #credentials = new Map<string, string>(); // credential -> node
  readonly #lastSeq = new Map<string, number>(); // node/bootId -> seq
  /** Per node, the parts of its last stored compact batch; forgetHeldParts() stands for a restart. */
  readonly #held = new Map<string, { inventory?: Held<Inventory>; pods?: Held<PodInfo[]> }>();
  readonly #failures: { status: number; headers?: Record<string, string>; body?: unknown }[] = [];
  #failAll: number | null = null;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #port: number;

  private constructor() {
    this.#server = this.#listen(0);
    this.#port = this.#server.addr.port;
  }

  static start(): FakeControl {
    return new FakeControl();
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** The next `count` ingest requests answer `status` (with `headers`). */
  failNext(status: number, count = 1, headers?: Record<string, string>, body?: unknown): void {
    for (let i = 0; i < count; i++) this.#failures.push({ status, headers, body });
  }

  /** Every ingest answers `status` until called with null. */
  failAll(status: number | null): void {
    this.#failAll = status;
  }

  /** Holds no node's parts any more, as after a restart: the next hash-only batch gets 412. */
  forgetHeldParts(): void {
    this.#held.clear();
  }

  /** Ingest requests, with how they travelled. */
  ingests(): Received[] {
    return this.requests.filter((r) => r.path === "/api/v1/ingest");
  }

  /** Every credential issued so far is refused from now on (401). */
  revokeAll(): void {
    this.#credentials.clear();
  }

  /** Serves these services from now on, as the next version (validated like the control plane's answer); polls waiting are answered at once. */
  setLbServices(services: LbService[], accel?: AccelRule[]): LbState {
    this.lbState = {
      version: this.lbState.version + 1,
      services: services.map((s) => LbService.parse(s)),
      ...(accel ? { accel } : {}),
    };
    this.#wakeLbPolls();
    return this.lbState;
  }

  /** The next `count` lb polls answer `status`. */
  failLbNext(status: number, count = 1): void {
    for (let i = 0; i < count; i++) this.#lbFailures.push(status);
  }

  /** lb polls answered so far. */
  /** The lb state polls, of one module (by the header its agent sends) when given. */
  lbPolls(module?: string): Received[] {
    return this.requests.filter((r) => r.path === "/api/v1/lb/state" && (module === undefined || r.module === module));
  }

  setDesired(modules: Partial<Record<ModuleName, boolean>>): void {
    this.desired = { version: this.desired.version + 1, modules: { ...this.desired.modules, ...modules } };
  }

  /** Stops listening: connections are refused until up(). */
  async down(): Promise<void> {
    this.#wakeLbPolls();
    await this.#server.shutdown();
  }

  /** Listens again on the same port. */
  up(): void {
    this.#server = this.#listen(this.#port);
  }

  async close(): Promise<void> {
    this.#wakeLbPolls(); // held polls answer now, or shutdown would wait for them
    try {
      await this.#server.shutdown();
    } catch { /* already down */ }
  }

  /** Stored seqs of a boot, in arrival order. */
  seqs(bootId: string): number[] {
    return this.batches.filter((b) => b.bootId === bootId).map((b) => b.seq);
  }

  /** The newest stored batch of a boot. */
  last(bootId: string): Batch | undefined {
    return this.batches.filter((b) => b.bootId === bootId).at(-1);
  }

  #listen(port: number): Deno.HttpServer<Deno.NetAddr> {
    return Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, (req) => this.#handle(req));
  }

  async #handle(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    const bytes = new Uint8Array(await req.arrayBuffer());
    const compact = this.readsCompact && req.headers.get("content-type") === COMPACT_CONTENT_TYPE;
    const body = compact ? await gunzipCapped(bytes) : new TextDecoder().decode(bytes);
    const answer = (
      status: number,
      json: unknown,
      extra: Partial<Received> = {},
      headers: Record<string, string> = {},
    ) => {
      this.requests.push({ path, status, ...extra });
      return Response.json(json, { status, headers });
    };
    if (req.method === "GET" && path === "/api/v1/lb/state") return this.#lbPoll(req);
    if (req.method === "GET" && path === "/api/v1/wire") {
      return this.wireAnswers ? answer(200, this.wire) : answer(404, { error: "not found" });
    }
    if (req.method !== "POST") return answer(405, { error: "method" });
    if (path === "/api/v1/join") {
      const { token, node } = JSON.parse(body);
      if (token !== this.token) return answer(401, { error: "bad token" });
      if (this.nodeTaken) {
        return answer(409, { error: `node '${node}' already has a live credential`, conflict: "node", node });
      }
      const credential = `cred-${crypto.randomUUID()}-${++this.joins}`;
      this.#credentials.set(credential, node);
      return answer(200, { node, credential, desired: this.desired });
    }
    if (path !== "/api/v1/ingest") return answer(404, { error: "not found" });
    const node = this.#credentials.get((req.headers.get("authorization") ?? "").replace(/^Bearer /, ""));
    let json;
    try {
      json = JSON.parse(body);
    } catch {
      return answer(400, { error: "body is not JSON" }); // what a control plane that does not read compact says
    }
    const travelled = { encoding: compact ? "compact" : "json", bytes: bytes.byteLength } as const;
    if (compact && node) {
      const unknown = this.#unknownParts(node, json);
      if (unknown.length) {
        return answer(UNKNOWN_PART_STATUS, { error: UNKNOWN_PART, parts: unknown }, { ...travelled, seq: json.seq });
      }
    }
    const parsed = compact ? this.#decode(node, json) : Batch.safeParse(json);
    // Its heading is the same plain or compact: a batch refused before it is decoded is still named.
    const extra = { ...travelled, ...(typeof json.seq === "number" ? { seq: json.seq, bootId: json.bootId } : {}) };
    if (!node) return answer(401, { error: "credential" }, extra);
    if (!parsed.success) return answer(400, { error: parsed.error.message }, extra);
    const b = parsed.data;
    if (b.node !== node) return answer(403, { error: "credential of another node" }, extra);
    const fail = this.#failures.shift() ?? (this.#failAll !== null ? { status: this.#failAll } : undefined);
    if (fail) return answer(fail.status, fail.body ?? { error: "injected" }, extra, fail.headers);
    const key = `${b.node}/${b.bootId}`;
    const last = this.#lastSeq.get(key) ?? -1;
    const duplicate = b.seq <= last;
    if (duplicate) this.duplicates++;
    else {
      this.#lastSeq.set(key, b.seq);
      this.batches.push(b);
    }
    if (compact) this.#remember(node, json, b);
    return answer(200, { ok: true, seq: Math.max(last, b.seq), duplicate, desired: this.desired }, extra);
  }

  /** A compact batch as the control plane reads it, with the parts held for its node. */
  #decode(node: string | undefined, json: unknown): { success: true; data: Batch } | { success: false; error: Error } {
    const held = node === undefined ? undefined : this.#held.get(node);
    try {
      return Batch.safeParse(decodeCompact(json, { knownInventory: held?.inventory, knownPods: held?.pods }));
    } catch (e) {
      return { success: false, error: e as Error };
    }
  }

  /** The parts a compact batch names by hash alone that are not the ones held for `node`. */
  #unknownParts(node: string, json: CompactBatch): HeldPart[] {
    const held = this.#held.get(node);
    const parts: HeldPart[] = [];
    if (json.inventory === undefined && json.inventoryHash && held?.inventory?.hash !== json.inventoryHash) {
      parts.push("inventory");
    }
    if (json.pods && json.pods.info === undefined && held?.pods?.hash !== json.pods.infoHash) parts.push("pods");
    return parts;
  }

  /** After a compact batch is stored: the parts it carried are held for its node. */
  #remember(node: string, json: CompactBatch, b: Batch): void {
    const held = { ...this.#held.get(node) };
    if (b.inventory && json.inventoryHash) held.inventory = { hash: json.inventoryHash, value: b.inventory };
    if (b.pods && json.pods) held.pods = { hash: json.pods.infoHash, value: b.pods.map(podInfo) };
    this.#held.set(node, held);
  }

  async #lbPoll(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const afterText = url.searchParams.get("after");
    const after = afterText === null ? null : Number(afterText);
    const answer = (status: number, body: unknown) => {
      const module = req.headers.get(LB_POLL_MODULE_HEADER) ?? undefined;
      this.requests.push({ path: url.pathname, status, after, at: Date.now(), ...(module ? { module } : {}) });
      return status === 204 ? new Response(null, { status }) : Response.json(body, { status });
    };
    if (!this.#credentials.has((req.headers.get("authorization") ?? "").replace(/^Bearer /, ""))) {
      return answer(401, { error: "credential" });
    }
    const fail = this.#lbFailures.shift();
    if (fail) return answer(fail, { error: "injected" });
    if (after !== this.lbState.version) return answer(200, this.lbState);
    const waitMs = Math.min(Number(url.searchParams.get("wait") ?? 0) * 1000, this.lbWaitMs);
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#lbWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      this.#lbWaiters.add(done); // close() and down() answer held polls at once
    });
    return after !== this.lbState.version ? answer(200, this.lbState) : answer(204, null);
  }

  #wakeLbPolls(): void {
    for (const w of [...this.#lbWaiters]) w();
  }
}
