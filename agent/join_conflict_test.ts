// SPDX-License-Identifier: Apache-2.0
/**
 * Joining cannot take over a live node, as the agent meets it: against the
 * real control plane (a process of its own), a second agent with the same
 * node name but a fresh state directory is refused (409). It keeps its
 * batches spooled, says once what an admin has to do, and asks again on a
 * slow backoff (on a clock of the test's: no request in between, however
 * often delivery runs); the first agent keeps working. The admin's approval
 * lets the next join in; the agent that was replaced is refused in turn. An
 * agent restarting with its stored credential does not join at all. No
 * kernel needed: the spool, state directory, credentials and delivery of
 * the agent, without its modules.
 */
import { type Batch, WIRE_VERSION } from "../control/wire/batch.ts";
import { ControlApi } from "./control_api.ts";
import { Credentials, JOIN_TAKEN_BACKOFF_MS } from "./credentials.ts";
import { Delivery } from "./delivery.ts";
import { Refusals } from "./refusals.ts";
import { Quarantine } from "./spool/quarantine.ts";
import { Spool } from "./spool/spool.ts";
import { StateDir } from "./state/state_dir.ts";
import { assert, assertEquals, assertStringIncludes } from "./testing/assert.ts";
import { withControlProcess } from "./testing/control_process.ts";
import { withTempDir } from "./testing/temp.ts";

const NODE = "conflict-n1";

/** The control plane's answers to this agent's calls, counted. */
class CountingApi extends ControlApi {
  readonly calls: string[] = [];
  override join(token: string, node: string, signal?: AbortSignal) {
    this.calls.push("join");
    return super.join(token, node, signal);
  }
  override ingest(body: Parameters<ControlApi["ingest"]>[0], credential: string, signal?: AbortSignal) {
    this.calls.push("ingest");
    return super.ingest(body, credential, signal);
  }
}

/** An agent's delivery side with its own state directory, on the test's clock. */
class AgentSide {
  readonly logs: string[] = [];
  readonly api: CountingApi;
  readonly state: StateDir;
  readonly spool: Spool;
  readonly credentials: Credentials;
  readonly delivery: Delivery;
  readonly bootId = crypto.randomUUID();
  #seq = 0;

  constructor(control: string, stateDir: string, token: string | undefined, clock: { now: number }) {
    const log = (m: string) => this.logs.push(m);
    this.api = new CountingApi(control);
    this.state = StateDir.open(stateDir, log);
    this.spool = Spool.open(this.state.spoolDir, 100, log);
    this.credentials = new Credentials(this.state, this.api, NODE, token, () => {}, log, () => clock.now);
    const refusals = new Refusals(Quarantine.open(`${stateDir}/quarantine`, 100, log), this.api, log);
    this.delivery = new Delivery(this.spool, this.api, this.credentials, () => {}, log, refusals);
  }

  /** Spools the next batch of this agent's boot. */
  add(): void {
    const batch: Batch = {
      v: WIRE_VERSION,
      node: NODE,
      bootId: this.bootId,
      seq: this.#seq++,
      ts: Date.now(),
      interval: 1,
      interfaces: [{
        ifname: "eth0",
        ifindex: 2,
        rxPackets: this.#seq,
        rxBytes: 0,
        txPackets: 0,
        txBytes: 0,
        drops: 0,
      }],
    };
    this.spool.add(batch);
  }

  said(text: string): string[] {
    return this.logs.filter((l) => l.includes(text));
  }
}

Deno.test("join 409: batches stay spooled, one line says what an admin must do, asked again on a slow backoff until approved", () =>
  withControlProcess((control) =>
    withTempDir("ek8s-join-conflict-", async (dir) => {
      const token = await control.joinToken();
      const clock = { now: 1_000_000 };
      const first = new AgentSide(control.url, `${dir}/first`, token, clock);
      first.add();
      await first.delivery.drain();
      assertEquals([first.spool.pending, first.api.calls], [0, ["join", "ingest"]]);

      // Another agent as the same node, with a fresh state directory: refused, and it keeps what it has.
      const second = new AgentSide(control.url, `${dir}/second`, token, clock);
      second.add();
      second.add();
      await second.delivery.drain();
      assertEquals([second.spool.pending, second.api.calls, second.credentials.current], [2, ["join"], null]);
      const refused = second.said("join refused");
      assertEquals(refused.length, 1, second.logs.join("\n"));
      for (
        const part of [
          `node ${NODE} already has a live credential`,
          `an admin approves its re-join (POST /api/v1/nodes/${NODE}/rejoin)`,
          `revokes the old credential (DELETE /api/v1/nodes/${NODE}/credentials)`,
          "Batches stay spooled; asking again in 30 s, then at most every 300 s",
          `(control plane: node '${NODE}' already has a live credential (its agent was last heard from 0 s ago)`,
        ]
      ) assertStringIncludes(refused[0], part);
      assert(!refused[0].includes("\n"), "one line");

      // Delivery runs every interval; the join is asked again only on the backoff: 30 s, doubling, at most 5 min.
      const delays = [30, 60, 120, 240, 300, 300].map((s) => s * 1000);
      assertEquals(delays[0], JOIN_TAKEN_BACKOFF_MS.first);
      for (const [i, delay] of delays.entries()) {
        for (let k = 0; k < 5; k++) await second.delivery.drain();
        clock.now += delay - 1;
        await second.delivery.drain();
        assertEquals(second.api.calls.length, 1 + i, `no request before ${delay} ms`);
        clock.now += 1;
        await second.delivery.drain();
        assertEquals(second.api.calls.length, 2 + i, `asked again after ${delay} ms`);
      }
      assertEquals(second.api.calls.every((c) => c === "join"), true);
      assertEquals([second.spool.pending, second.said("join refused").length], [2, 1]);

      // The first agent was never cut off.
      first.add();
      await first.delivery.drain();
      assertEquals([first.spool.pending, first.api.calls.length], [0, 3]);

      // An admin approves the re-join: at the next ask the second agent joins and sends what it spooled.
      const approval = await control.admin("POST", `/api/v1/nodes/${NODE}/rejoin`);
      assertEquals(approval.status, 200);
      clock.now += JOIN_TAKEN_BACKOFF_MS.max;
      await second.delivery.drain();
      assertEquals(second.spool.pending, 0);
      assertEquals(second.api.calls.slice(-3), ["join", "ingest", "ingest"]);
      assertEquals(second.said("joined the control plane").length, 1);

      // The replaced agent: its credential is revoked, and its own re-join meets the new holder (409).
      first.add();
      await first.delivery.drain();
      assertEquals(first.spool.pending, 1);
      assertEquals(first.api.calls.slice(3), ["ingest", "join"]);
      assertStringIncludes(first.said("credential refused")[0], "node credential revoked; join again");
      assertEquals(first.said("join refused").length, 1);
      await first.delivery.drain(); // no credential to send, no join before the backoff: no request
      assertEquals(first.api.calls.length, 5);
      first.state.close();

      // The second agent restarts with its stored credential: no join.
      second.state.close();
      const restarted = new AgentSide(control.url, `${dir}/second`, token, clock);
      assert(restarted.credentials.current !== null, "the credential was stored");
      restarted.add();
      await restarted.delivery.drain();
      assertEquals([restarted.spool.pending, restarted.api.calls], [0, ["ingest"]]);
      restarted.state.close();
    })
  ));

Deno.test("a node deleted by an admin: its agent says why its credential is refused; with the join token it joins again fresh, without it keeps its batches", () =>
  withControlProcess((control) =>
    withTempDir("ek8s-node-deleted-", async (dir) => {
      const token = await control.joinToken();
      const clock = { now: 1_000_000 };
      const withToken = new AgentSide(control.url, `${dir}/with-token`, token, clock);
      withToken.add();
      await withToken.delivery.drain();
      assertEquals([withToken.spool.pending, withToken.api.calls], [0, ["join", "ingest"]]);

      assertEquals((await control.admin("DELETE", `/api/v1/nodes/${NODE}`)).status, 200);
      withToken.add();
      await withToken.delivery.drain();
      const refused = withToken.said("credential refused");
      assertEquals(refused.length, 1, withToken.logs.join("\n"));
      assertStringIncludes(refused[0], "unknown node credential (never issued, or its node was deleted)");
      assertStringIncludes(refused[0], "joining again with the join token");
      assertEquals(withToken.spool.pending, 0, "resent after joining again");
      assertEquals(withToken.api.calls.slice(2), ["ingest", "join", "ingest"]);
      const nodes = (await control.admin("GET", "/api/v1/nodes")).body as Array<{ name: string }>;
      assertEquals(nodes.map((n) => n.name), [NODE]);
      withToken.state.close();

      // Without a join token (a systemd agent whose token was used up): refused, and its batches stay spooled.
      assertEquals((await control.admin("DELETE", `/api/v1/nodes/${NODE}`)).status, 200);
      const stored = new AgentSide(control.url, `${dir}/with-token`, undefined, clock);
      assert(stored.credentials.current !== null, "the credential was stored");
      stored.add();
      await stored.delivery.drain();
      assertEquals([stored.spool.pending, stored.api.calls], [1, ["ingest"]]);
      assertStringIncludes(stored.said("credential refused")[0], "its node was deleted");
      assertStringIncludes(stored.said("credential refused")[0], "no --join-token to join again");
      stored.state.close();
    })
  ));
