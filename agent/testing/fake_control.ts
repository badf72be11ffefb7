/**
 * A control plane for agent tests, on 127.0.0.1 (a random port), speaking
 * the contract of control/: join with a token for a credential, ingest with
 * `Authorization: Bearer`, duplicates by (node, bootId, seq), the desired
 * state in every answer, and the services by long-poll (GET
 * /api/v1/lb/state?after=&wait=: 200 with the state when its version is not
 * `after`, else 204 once nothing changed for the wait). Tests make it fail on
 * purpose (status codes, going away and coming back on the same port) and
 * read what it stored.
 */
import type { AccelRule } from "../../control/wire/accel.ts";
import { Batch, DEFAULT_MODULES, type DesiredState, type ModuleName } from "../../control/wire/batch.ts";
import { LbService, type LbState } from "../../control/wire/services.ts";
import { acceptedWireVersions, WIRE_VERSION, type WireVersions } from "../../control/wire/version.ts";

export interface Received {
  path: string;
  status: number;
  seq?: number;
  bootId?: string;
  /** lb state polls: the `after` asked with (null: none). */
  after?: number | null;
  /** When it was answered (Date.now()). */
  at?: number;
}

export class FakeControl {
  /** A join token it accepts. */
  readonly token = "ek8s-test-join-token-0123456789";
  /** Batches it stored (not duplicates), in arrival order. */
  readonly batches: Batch[] = [];
  /** Every request with the status it got. */
  readonly requests: Received[] = [];
  joins = 0;
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
  readonly #failures: { status: number; headers?: Record<string, string> }[] = [];
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
  failNext(status: number, count = 1, headers?: Record<string, string>): void {
    for (let i = 0; i < count; i++) this.#failures.push({ status, headers });
  }

  /** Every ingest answers `status` until called with null. */
  failAll(status: number | null): void {
    this.#failAll = status;
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
  lbPolls(): Received[] {
    return this.requests.filter((r) => r.path === "/api/v1/lb/state");
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
    const body = await req.text();
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
    if (req.method === "GET" && path === "/api/v1/wire") return answer(200, this.wire);
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
    const parsed = Batch.safeParse(JSON.parse(body));
    const extra = parsed.success ? { seq: parsed.data.seq, bootId: parsed.data.bootId } : {};
    const node = this.#credentials.get((req.headers.get("authorization") ?? "").replace(/^Bearer /, ""));
    if (!node) return answer(401, { error: "credential" }, extra);
    if (!parsed.success) return answer(400, { error: parsed.error.message });
    const b = parsed.data;
    if (b.node !== node) return answer(403, { error: "credential of another node" }, extra);
    const fail = this.#failures.shift() ?? (this.#failAll !== null ? { status: this.#failAll } : undefined);
    if (fail) return answer(fail.status, { error: "injected" }, extra, fail.headers);
    const key = `${b.node}/${b.bootId}`;
    const last = this.#lastSeq.get(key) ?? -1;
    const duplicate = b.seq <= last;
    if (duplicate) this.duplicates++;
    else {
      this.#lastSeq.set(key, b.seq);
      this.batches.push(b);
    }
    return answer(200, { ok: true, seq: Math.max(last, b.seq), duplicate, desired: this.desired }, extra);
  }

  async #lbPoll(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const afterText = url.searchParams.get("after");
    const after = afterText === null ? null : Number(afterText);
    const answer = (status: number, body: unknown) => {
      this.requests.push({ path: url.pathname, status, after, at: Date.now() });
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
