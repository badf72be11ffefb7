// SPDX-License-Identifier: Apache-2.0
/**
 * How batches travel, against the real control plane (control/main.ts, a process of its own): compact and
 * gzipped to one of wire version 4, the inventory and the pods' metadata by hash once it holds them; after its
 * restart (same database, nothing held) the first hash-only batch is answered 412 and sent again whole at once;
 * to one speaking version 3, plain JSON written as version 3 without a refusal; with --wire-encoding json,
 * plain JSON always. Every batch is stored exactly: the flows' totals are the sum of what was sent, the node's
 * inventory and pods as sent, one report per batch. No kernel: the agent's spool, credentials and delivery,
 * without its modules.
 */
import { type Batch, type Inventory, MODULES, WIRE_VERSION } from "../control/wire/batch.ts";
import { UNKNOWN_PART, UNKNOWN_PART_STATUS } from "../control/wire/compact/http.ts";
import { MODULE_SINCE, TEST_WIRE_VERSION_ENV } from "../control/wire/version.ts";
import { ControlApi, type IngestAnswer } from "./control_api.ts";
import { Credentials } from "./credentials.ts";
import { Delivery } from "./delivery.ts";
import { QUARANTINE_RETRY_MS, Refusals, VERSIONS_TTL_MS } from "./refusals.ts";
import { Quarantine } from "./spool/quarantine.ts";
import { Spool } from "./spool/spool.ts";
import { StateDir } from "./state/state_dir.ts";
import { assert, assertEquals } from "./testing/assert.ts";
import { type ControlProcess, withControlProcess } from "./testing/control_process.ts";
import { FakeControl } from "./testing/fake_control.ts";
import { withTempDir } from "./testing/temp.ts";
import { WireEncoding, type WireEncodingName } from "./wire_encoding.ts";

const POD_IP = "10.0.1.2";

/** One ingest request as it travelled, and the status it got. */
interface Sent {
  encoding: "compact" | "json";
  bytes: number;
  status: number;
  /** The wire version of a plain JSON batch. */
  v?: number;
}

/** The agent's API, recording how each batch travelled (the requests are real). */
class RecordingApi extends ControlApi {
  readonly sent: Sent[] = [];
  override async ingest(body: Parameters<ControlApi["ingest"]>[0], credential: string, signal?: AbortSignal) {
    const a = await super.ingest(body, credential, signal);
    this.sent.push({
      encoding: typeof body === "string" ? "json" : "compact",
      bytes: typeof body === "string" ? new TextEncoder().encode(body).byteLength : body.body.byteLength,
      status: statusOf(a),
      ...(typeof body === "string" ? { v: JSON.parse(body).v } : {}),
    });
    return a;
  }
}

function statusOf(a: IngestAnswer): number {
  switch (a.kind) {
    case "ok":
      return 200;
    case "unsupported":
      return 409;
    case "unknownPart":
      return 412;
    case "retry":
      return a.status ?? 0;
    default:
      return a.status;
  }
}

const said = (sent: Sent[]) => sent.map((s) => `${s.encoding} ${s.status}`);

/** An agent's delivery side with its own state directory, spooling batches of a node with one pod and one flow. */
class AgentSide {
  readonly logs: string[] = [];
  readonly api: RecordingApi;
  readonly state: StateDir;
  readonly spool: Spool;
  readonly delivery: Delivery;
  readonly bootId = crypto.randomUUID();
  #seq = 0;

  constructor(
    control: string,
    stateDir: string,
    token: string,
    readonly node: string,
    encoding: WireEncodingName = "compact",
    readonly v = WIRE_VERSION,
    now: () => number = Date.now,
  ) {
    const log = (m: string) => this.logs.push(m);
    this.api = new RecordingApi(control);
    this.state = StateDir.open(stateDir, log);
    this.spool = Spool.open(this.state.spoolDir, 100, log);
    const credentials = new Credentials(this.state, this.api, node, token, () => {}, log);
    const refusals = new Refusals(Quarantine.open(`${stateDir}/quarantine`, 100, log), this.api, log, now);
    const wire = new WireEncoding(this.api, encoding);
    this.delivery = new Delivery(this.spool, this.api, credentials, () => {}, log, refusals, wire);
  }

  get refusals(): Refusals {
    return this.delivery.refusals;
  }

  /** Spools the next batch: the k-th carries a flow of k packets and 100·k bytes, and counters growing by k. */
  add(): Batch {
    const k = ++this.#seq;
    const batch: Batch = {
      v: this.v,
      node: this.node,
      bootId: this.bootId,
      seq: k - 1,
      ts: Date.now(),
      interval: 1,
      interfaces: [{ ifname: "eth0", ifindex: 2, rxPackets: k, rxBytes: 100 * k, txPackets: 0, txBytes: 0, drops: 0 }],
      inventory: inventory(),
      pods: [{
        uid: `uid-${this.node}`,
        namespace: "wire",
        name: `web-${this.node}`,
        labels: { app: "web" },
        ips: [POD_IP],
        hostNetwork: false,
        rxPackets: k,
        rxBytes: 100 * k,
        txPackets: k,
        txBytes: 100 * k,
        drops: 0,
      }],
      flows: [{
        src: POD_IP,
        dst: "10.0.2.3",
        port: 80,
        proto: 6,
        toServer: true,
        obs: "tx",
        packets: k,
        bytes: 100 * k,
        tcpFlags: 18,
      }],
    };
    this.spool.add(batch);
    return batch;
  }

  /** Spools and sends `n` batches, one at a time. */
  async sendEach(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      this.add();
      await this.delivery.drain();
    }
  }

  close(): void {
    this.state.close();
  }
}

/**
 * Runs `fn` with a FakeControl (answers the real control plane does not give: a build from before compact
 * batches, one that cannot say what it accepts, a 412 against the contract) and an agent side on a clock of the
 * test's.
 */
async function withFake(
  node: string,
  fn: (control: FakeControl, side: AgentSide, clock: { now: number }) => Promise<void>,
): Promise<void> {
  const control = FakeControl.start();
  const clock = { now: Date.now() };
  try {
    await withTempDir("ek8s-wire-", (dir) =>
      withSide(
        [control.url, dir, control.token, node, "compact", WIRE_VERSION, () => clock.now],
        (side) => fn(control, side, clock),
      ));
  } finally {
    await control.close();
  }
}

/** Runs `fn` with an agent side of its own, closed afterwards. */
async function withSide(args: ConstructorParameters<typeof AgentSide>, fn: (side: AgentSide) => Promise<void>) {
  const side = new AgentSide(...args);
  try {
    await fn(side);
  } finally {
    side.close();
  }
}

function inventory(): Inventory {
  return {
    agentVersion: "0.2.0",
    kernel: "6.12.0-test",
    btf: true,
    bpfStats: false,
    features: { "prog:sched_cls": true },
    modules: MODULES.map((name) => ({ name, desired: name === "flows", state: name === "flows" ? "on" : "off" })),
    programs: [],
    maps: [],
    spool: { pending: 0, dropped: 0 },
  };
}

/** What the control plane stored for the node: its inventory, its reports, and the pod's flows summed. */
async function stored(control: ControlProcess, side: AgentSide) {
  const node = await control.admin("GET", `/api/v1/nodes/${side.node}`);
  const series = await control.admin("GET", `/api/v1/nodes/${side.node}/series?since=1h&ifname=eth0`);
  const flows = await control.admin("GET", `/api/v1/flows?pod=wire/web-${side.node}&since=1h`);
  return { node: node.body, series: series.body, flows: flows.body } as {
    node: { inventory?: Inventory };
    series: { points: { rxPackets: number }[] };
    flows: { totals: { bytes: number; packets: number } };
  };
}

/** The flows' packets and bytes summed, the reports (each the growth of rxPackets), and the inventory. */
async function totals(control: ControlProcess, side: AgentSide) {
  const s = await stored(control, side);
  return {
    packets: s.flows.totals.packets,
    bytes: s.flows.totals.bytes,
    reports: s.series.points.map((p) => p.rxPackets),
    inventory: s.node.inventory,
  };
}

/** Σ k and 100·Σ k for batches 1..n; their reports (rxPackets grows by 1 a batch, from 1). */
/** `n` batches stored by a control plane of version `v`: the inventory without the modules added after `v`. */
const expected = (n: number, v = WIRE_VERSION) => {
  const sum = (n * (n + 1)) / 2;
  const inv = inventory();
  inv.modules = inv.modules.filter((m) => (MODULE_SINCE[m.name] ?? 0) <= v);
  return { packets: sum, bytes: 100 * sum, reports: Array.from({ length: n }, () => 1), inventory: inv };
};

Deno.test("compact to a v4 control plane: gzipped, the inventory and pods by hash once held; stored exactly as sent", () =>
  withControlProcess((control) =>
    withTempDir("ek8s-wire-", async (dir) => {
      const token = await control.joinToken();
      let first: Sent[] = [];
      await withSide([control.url, dir, token, "wire-n1"], async (side) => {
        await side.sendEach(4);
        assertEquals(side.spool.pending, 0);
        const sent = first = side.api.sent;
        assertEquals(said(sent), Array(4).fill("compact 200"));
        // The first carries the inventory and pods' metadata whole; the next ones their hashes alone.
        for (const later of sent.slice(1)) assert(later.bytes < sent[0].bytes * 0.7, `${sent.map((s) => s.bytes)}`);
        const { encoding } = side.delivery;
        assertEquals(encoding.sent.compact, { bytes: sent.reduce((n, s) => n + s.bytes, 0), requests: 4 });
        assertEquals(encoding.sent.json, { bytes: 0, requests: 0 });
        assertEquals(await totals(control, side), expected(4));
      });
      // A restarted agent holds nothing: its first batch goes whole (and is not refused), the next by hash.
      await withSide([control.url, dir, "", "wire-n1"], async (again) => {
        await again.sendEach(2);
        const sent = again.api.sent;
        assertEquals(said(sent), ["compact 200", "compact 200"]);
        assert(sent[0].bytes > first[1].bytes / 0.7, `${sent.map((s) => s.bytes)}`);
        assert(sent[1].bytes < first[0].bytes * 0.7, `${sent.map((s) => s.bytes)}`);
      });
    })
  ));

Deno.test("a control plane restarted (same database, nothing held): the first hash-only batch gets 412 and goes again whole at once; nothing lost", () =>
  withControlProcess((control) =>
    withTempDir("ek8s-wire-", async (dir) => {
      await withSide([control.url, dir, await control.joinToken(), "wire-n2"], async (side) => {
        await side.sendEach(2);
        await control.restart();
        await side.sendEach(2);
        const sent = side.api.sent;
        assertEquals(said(sent), ["compact 200", "compact 200", "compact 412", "compact 200", "compact 200"]);
        assert(sent[3].bytes > sent[2].bytes / 0.7, `whole again: ${sent.map((s) => s.bytes)}`);
        assert(sent[4].bytes < sent[3].bytes * 0.7, `then by hash: ${sent.map((s) => s.bytes)}`);
        assertEquals([side.spool.pending, side.refusals.quarantine.count, side.refusals.counts], [0, 0, {
          version: 0,
          invalid: 0,
        }]);
        assertEquals(await totals(control, side), expected(4));
      });
    })
  ));

Deno.test("a control plane speaking version 3: plain JSON written as v3 at once (no 409), nothing held or quarantined; stored exactly", () =>
  withControlProcess(
    (control) =>
      withTempDir("ek8s-wire-", async (dir) => {
        await withSide([control.url, dir, await control.joinToken(), "wire-n3"], async (side) => {
          await side.sendEach(3);
          assertEquals(side.api.sent.map((s) => `${s.encoding} ${s.status} v${s.v}`), Array(3).fill("json 200 v3"));
          assertEquals(side.delivery.encoding.sent.compact, { bytes: 0, requests: 0 });
          assertEquals(side.delivery.encoding.held.empty, true);
          assertEquals([side.spool.pending, side.refusals.held, side.refusals.quarantine.count, side.refusals.counts], [
            0,
            false,
            0,
            { version: 0, invalid: 0 },
          ]);
          assertEquals(await totals(control, side), expected(3, 3));
        });
      }),
    { [TEST_WIRE_VERSION_ENV]: "3" },
  ));

Deno.test("--wire-encoding json: plain JSON of the batch's own version to a v4 control plane; stored exactly", () =>
  withControlProcess((control) =>
    withTempDir("ek8s-wire-", async (dir) => {
      await withSide([control.url, dir, await control.joinToken(), "wire-n4", "json"], async (side) => {
        await side.sendEach(3);
        assertEquals(
          side.api.sent.map((s) => `${s.encoding} ${s.status} v${s.v}`),
          Array(3).fill(`json 200 v${WIRE_VERSION}`),
        );
        const { json, compact } = side.delivery.encoding.sent;
        assertEquals([json, compact.requests], [
          { bytes: side.api.sent.reduce((n, s) => n + s.bytes, 0), requests: 3 },
          0,
        ]);
        assertEquals(await totals(control, side), expected(3));
      });
    })
  ));

Deno.test("refused compact: by a control plane rolled back to before compact batches, sent again plain as v3 at once; by one that says it reads them, sent again plain at once (quarantined only if refused plain too); a 412 for a whole batch, sent plain", () =>
  withFake("wire-n5", async (control, side, clock) => {
    await side.sendEach(1);
    // Rolled back, and the agent's answer from GET /api/v1/wire still fresh: it sends compact, gets 400 (the
    // gzipped body is no JSON to that build), asks again, and sends the same batch written as v3, plain.
    control.readsCompact = false;
    control.wire = { version: 3, accepts: [2, 3], started: control.wire.started! + 1 };
    await side.sendEach(1);
    assertEquals(said(side.api.sent), ["compact 200", "compact 400", "json 200"]);
    assertEquals([side.api.sent[2].v, control.seqs(side.bootId), side.refusals.quarantine.count], [3, [0, 1], 0]);

    // Upgraded again (a new process: it holds nothing). Once its answer is VERSIONS_TTL_MS old, the agent asks
    // again and goes compact: 412 for the parts by hash, at once whole.
    control.readsCompact = true;
    control.forgetHeldParts();
    control.wire = { version: WIRE_VERSION, accepts: [WIRE_VERSION - 1, WIRE_VERSION], started: Date.now() + 2 };
    await side.sendEach(1);
    assertEquals(said(side.api.sent).slice(3), ["json 200"], "within VERSIONS_TTL_MS: still what it was told");
    clock.now += VERSIONS_TTL_MS + 1;
    await side.sendEach(1);
    assertEquals(said(side.api.sent).slice(4), ["compact 412", "compact 200"]);

    // A compact batch refused although the control plane says it reads version 4 (another replica of an older
    // version took the POST, or encoder and decoder disagree): the same batch plain, at once, and taken.
    control.failNext(400);
    await side.sendEach(1);
    // A control plane answering 412 to a batch sent whole contradicts the contract: not looped; sent plain.
    control.failNext(UNKNOWN_PART_STATUS, 2, undefined, { error: UNKNOWN_PART, parts: ["inventory"] });
    await side.sendEach(1);
    // Refused plain too: the batch's own fault, quarantined.
    control.failNext(400, 2);
    await side.sendEach(1);
    assertEquals(said(side.api.sent).slice(6), [
      "compact 400",
      "json 200",
      "compact 412",
      "compact 412",
      "json 200",
      "compact 400",
      "json 400",
    ]);
    assertEquals([side.refusals.quarantine.count, side.refusals.counts.invalid, side.spool.pending], [1, 1, 0]);
    assertEquals(control.seqs(side.bootId), [0, 1, 2, 3, 4, 5]);

    // The quarantine's retries go as plain JSON (rare: simple), and are taken.
    clock.now += QUARANTINE_RETRY_MS;
    await side.delivery.drain();
    assertEquals(said(side.api.sent).slice(13), ["json 200"]);
    assertEquals([side.refusals.quarantine.count, control.seqs(side.bootId)], [0, [0, 1, 2, 3, 4, 5, 6]]);
  }));

Deno.test("a control plane that cannot say what it accepts (older than GET /api/v1/wire): plain JSON as spooled; compact once it says", () =>
  withFake("wire-n6", async (control, side) => {
    control.wireAnswers = false;
    await side.sendEach(1);
    control.wireAnswers = true;
    await side.sendEach(1);
    assertEquals(side.api.sent.map((s) => `${s.encoding} ${s.status} v${s.v}`), [
      `json 200 v${WIRE_VERSION}`,
      "compact 200 vundefined",
    ]);
    assertEquals(control.seqs(side.bootId), [0, 1]);
  }));
