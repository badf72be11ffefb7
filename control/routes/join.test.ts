// SPDX-License-Identifier: Apache-2.0
/** Join tokens (admin), joining, credentials, their revocation, and re-joins (refused while live, unless Lost, revoked or approved). */
import { describe, expect, it } from "vitest";
import {
  AS_ADMIN,
  batch,
  bearer,
  DEFAULT_DESIRED,
  dumpTables,
  getJson,
  newJoinToken,
  postBatch,
  postJoin,
  READ_TOKEN,
  send,
  T0,
  useTestApp,
} from "../test-support.ts";
import { DEFAULT_APP_SETTINGS } from "../config.ts";
import { JoinResponse } from "../wire/batch.ts";
import { JOIN_WIRE_VERSION_HEADER, MODULE_SINCE } from "../wire/version.ts";

const s = useTestApp();

const listTokens = async () => (await getJson(s.app, "/api/v1/join-tokens", AS_ADMIN)).body;

describe("POST /api/v1/join-tokens", () => {
  it("makes a token valid for a day by default, shown once and stored hashed", async () => {
    const res = await send(s.app, "POST", "/api/v1/join-tokens", undefined, AS_ADMIN); // no body at all
    expect(res.status).toBe(201);
    const made = await res.json();
    expect(made).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{16}$/),
      token: expect.stringMatching(/^ek8s_join_[\w-]{43}$/),
      expiresAt: new Date(s.clock.now + 86_400_000).toISOString(),
    });

    const stored = JSON.stringify(await dumpTables(s.db));
    expect(stored).not.toContain(made.token);
    expect(await listTokens()).toEqual([
      {
        id: made.id,
        description: null,
        createdAt: new Date(s.clock.now).toISOString(),
        expiresAt: made.expiresAt,
        revokedAt: null,
        expired: false,
        revoked: false,
        uses: 0,
        lastUsedAt: null,
      },
    ]);
  });

  it("takes ttlSeconds and a description", async () => {
    const made = await newJoinToken(s.app, { ttlSeconds: 600, description: "workers pool A" });
    expect(made.expiresAt).toBe(new Date(s.clock.now + 600_000).toISOString());
    expect((await listTokens())[0]).toMatchObject({ description: "workers pool A" });
  });

  it.each([
    [{ ttlSeconds: 30 * 86_400 + 1 }, "ttlSeconds"],
    [{ ttlSeconds: 0 }, "ttlSeconds"],
    [{ ttlSeconds: 1.5 }, "ttlSeconds"],
    [{ ttlSeconds: "60" }, "ttlSeconds"],
    [{ description: "x".repeat(257) }, "description"],
    [{ secret: "mine" }, "secret"],
  ])("400 naming the field for %o", async (body, path) => {
    const res = await send(s.app, "POST", "/api/v1/join-tokens", body, AS_ADMIN);
    expect(res.status).toBe(400);
    expect((await res.json()).issues).toContainEqual(expect.objectContaining({ path }));
  });

  it("400 for a body that is not JSON", async () => {
    expect((await send(s.app, "POST", "/api/v1/join-tokens", "{", AS_ADMIN)).status).toBe(400);
  });
});

describe("DELETE /api/v1/join-tokens/:id", () => {
  it("revokes, keeps the first revocation time when repeated, and lists the token as revoked", async () => {
    const { id } = await newJoinToken(s.app);
    const revokedAt = new Date(s.clock.now).toISOString();
    const first = await send(s.app, "DELETE", `/api/v1/join-tokens/${id}`, undefined, AS_ADMIN);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ id, revoked: true, revokedAt });
    s.clock.now += 5_000;
    expect(await (await send(s.app, "DELETE", `/api/v1/join-tokens/${id}`, undefined, AS_ADMIN)).json()).toMatchObject({
      revokedAt,
    });
    expect((await listTokens())[0]).toMatchObject({ revoked: true, expired: false });
  });

  it("404 for an unknown id, 400 for a malformed one", async () => {
    expect((await send(s.app, "DELETE", "/api/v1/join-tokens/0000000000000000", undefined, AS_ADMIN)).status).toBe(404);
    const bad = await send(s.app, "DELETE", "/api/v1/join-tokens/nope", undefined, AS_ADMIN);
    expect(bad.status).toBe(400);
    expect((await bad.json()).issues).toEqual([{ path: "id", message: expect.stringMatching(/16 hex digits/) }]);
  });
});

describe("POST /api/v1/join", () => {
  it("a valid token → a credential for the node and its desired state; the token counts the use", async () => {
    const { token } = await newJoinToken(s.app);
    const res = await postJoin(s.app, "node-a", token);
    expect(res.status).toBe(200);
    const body = JoinResponse.parse(await res.json());
    expect(body).toEqual({
      node: "node-a",
      credential: expect.stringMatching(/^ek8s_node_[\w-]{43}$/),
      desired: DEFAULT_DESIRED,
    });
    expect((await listTokens())[0]).toMatchObject({ uses: 1, lastUsedAt: new Date(s.clock.now).toISOString() });
    expect(JSON.stringify(await dumpTables(s.db))).not.toContain(body.credential);

    const ingest = await postBatch(s.app, batch(), bearer(body.credential));
    expect(ingest.status).toBe(200);
  });

  it("cuts the desired state for the wire version the join names (its header); without it, for the one before", async () => {
    const { token } = await newJoinToken(s.app);
    // pre-provisioned: dns (added in wire version 6) switched off before the nodes join
    for (const node of ["pre-a", "pre-b", "pre-c", "pre-d"]) {
      expect((await send(s.app, "PUT", `/api/v1/nodes/${node}/modules/dns`, { enabled: false }, AS_ADMIN)).status)
        .toBe(200);
    }
    const join = async (node: string, headers: Record<string, string>) =>
      (await (await send(s.app, "POST", "/api/v1/join", { token, node }, headers)).json()).desired.modules;
    const older = await join("pre-a", { [JOIN_WIRE_VERSION_HEADER]: String(MODULE_SINCE.dns - 1) });
    expect(older).not.toHaveProperty("dns"); // what a version-5 agent's strict schema reads
    expect(older).toHaveProperty("flows", true);
    expect(await join("pre-b", { [JOIN_WIRE_VERSION_HEADER]: String(MODULE_SINCE.dns) })).toHaveProperty("dns", false);
    // no header (an agent before the header: every later one sends it), or one that names no version: cut for
    // the version before the header, so an agent of version 5 joins a node with dns switched off
    expect(await join("pre-c", {})).not.toHaveProperty("dns");
    expect(await join("pre-d", { [JOIN_WIRE_VERSION_HEADER]: "six" })).not.toHaveProperty("dns");
  });

  it("one token serves many nodes (a DaemonSet) until it expires", async () => {
    const { token } = await newJoinToken(s.app, { ttlSeconds: 60 });
    for (const node of ["node-a", "node-b", "node-c"]) expect((await postJoin(s.app, node, token)).status).toBe(200);
    s.clock.now += 60_000;
    const late = await postJoin(s.app, "node-d", token);
    expect(late.status).toBe(401);
    expect(await late.json()).toEqual({ error: "join token expired" });
    expect((await listTokens())[0]).toMatchObject({ uses: 3, expired: true });
  });

  it("401 for a revoked token and for an unknown one; nothing is written", async () => {
    const { id, token } = await newJoinToken(s.app);
    await send(s.app, "DELETE", `/api/v1/join-tokens/${id}`, undefined, AS_ADMIN);
    const before = await dumpTables(s.db);
    const revoked = await postJoin(s.app, "node-a", token);
    expect(revoked.status).toBe(401);
    expect(await revoked.json()).toEqual({ error: "join token revoked" });
    const unknown = await postJoin(s.app, "node-a", "ek8s_join_not-a-token-anyone-made");
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toEqual({ error: "join token unknown" });
    expect(await dumpTables(s.db)).toEqual(before);
  });

  it.each([
    [{ node: "node-a" }, "token"],
    [{ token: "short", node: "node-a" }, "token"],
    [{ token: "x".repeat(40), node: "Node_A" }, "node"],
    [{ token: "x".repeat(40), node: "node-a", extra: 1 }, "extra"],
  ])("400 naming the field for %o", async (body, path) => {
    const res = await send(s.app, "POST", "/api/v1/join", body);
    expect(res.status).toBe(400);
    expect((await res.json()).issues).toContainEqual(expect.objectContaining({ path }));
  });

  it("a credential made with a token stays valid after that token is revoked or expires", async () => {
    const { id, token } = await newJoinToken(s.app, { ttlSeconds: 60 });
    const { credential } = await (await postJoin(s.app, "node-a", token)).json();
    await send(s.app, "DELETE", `/api/v1/join-tokens/${id}`, undefined, AS_ADMIN);
    s.clock.now += 120_000;
    expect((await postBatch(s.app, batch(), bearer(credential))).status).toBe(200);
  });

  it("after repeated failures from one address: 429 with Retry-After, even for a good token; it recovers", async () => {
    s.rebuild({ settings: { authFailureBurst: 3, authFailureRatePerSec: 0.2 } });
    const { token } = await newJoinToken(s.app);
    // Many good joins first: only failures count.
    for (let i = 0; i < 10; i++) expect((await postJoin(s.app, `node-${i}`, token)).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      expect((await postJoin(s.app, "node-a", `ek8s_join_guess-number-${i}-xxxxxxx`)).status).toBe(401);
    }

    const limited = await postJoin(s.app, "node-a", token);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("5");
    expect(await limited.json()).toEqual({
      error: "too many failed joins from this address; retry in 5 s",
      retryAfterSeconds: 5,
    });

    s.clock.now += 5_000;
    expect((await postJoin(s.app, "node-a", token)).status).toBe(200);
  });

  it("counts failures per client address", async () => {
    s.rebuild({ settings: { authFailureBurst: 1 } });
    const from = (address: string) => ({ incoming: { socket: { remoteAddress: address } } });
    const guess = (address: string) =>
      s.app.request("/api/v1/join", {
        method: "POST",
        body: JSON.stringify({ token: "ek8s_join_guess-guess-guess", node: "node-a" }),
      }, from(address));
    expect((await guess("10.0.0.1")).status).toBe(401);
    expect((await guess("10.0.0.1")).status).toBe(429);
    expect((await guess("10.0.0.2")).status).toBe(401);
  });
});

/** Joins `node` with `token`; the credential, failing the test on anything but 200. */
async function joinOk(node: string, token: string): Promise<string> {
  const res = await postJoin(s.app, node, token);
  expect(res.status, await res.clone().text()).toBe(200);
  return JoinResponse.parse(await res.json()).credential;
}

const LOST_AFTER_MS = DEFAULT_APP_SETTINGS.lostAfterMs;

describe("joining cannot take a node whose credential is live", () => {
  it("409 naming the node and the ways on; nothing written, the node's credential keeps working", async () => {
    const { token } = await newJoinToken(s.app);
    const credential = await joinOk("node-a", token);
    expect((await postBatch(s.app, batch({ seq: 1 }), bearer(credential))).status).toBe(200);
    const lastBatch = s.clock.now;
    s.clock.now += 60_000;

    const before = await dumpTables(s.db);
    const res = await postJoin(s.app, "node-a", token);
    expect(res.status).toBe(409);
    const body = await res.json();
    expect(body).toEqual({
      error: expect.stringContaining(
        "node 'node-a' already has a live credential (its agent was last heard from 60 s ago)",
      ),
      conflict: "node",
      node: "node-a",
      lastActiveAt: new Date(lastBatch).toISOString(),
      lostAt: new Date(lastBatch + LOST_AFTER_MS).toISOString(),
    });
    expect(body.error).toContain("an admin approves the re-join (POST /api/v1/nodes/node-a/rejoin)");
    expect(body.error).toContain("revokes the old credential (DELETE /api/v1/nodes/node-a/credentials)");
    expect(body.error).toContain("once the node is Lost (nothing heard from it for 120 s)");
    expect(await dumpTables(s.db)).toEqual(before); // no credential, no revocation, the token's uses unchanged

    expect((await postBatch(s.app, batch({ seq: 2, ts: T0 + 60_000 }), bearer(credential))).status).toBe(200);
    expect((await postJoin(s.app, "node-b", token)).status).toBe(200); // other names are free as ever
  });

  it("a node that joined and sent nothing yet is live from its join; an lb-state poll keeps it live too", async () => {
    const { token } = await newJoinToken(s.app);
    const credential = await joinOk("node-a", token);
    s.clock.now += LOST_AFTER_MS - 1;
    expect((await postJoin(s.app, "node-a", token)).status).toBe(409);
    expect((await getJson(s.app, "/api/v1/lb/state?wait=0", bearer(credential))).status).toBe(200);
    const polled = s.clock.now;
    s.clock.now += LOST_AFTER_MS - 1;
    const res = await postJoin(s.app, "node-a", token);
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ lastActiveAt: new Date(polled).toISOString() });
  });

  it("two joins racing for a free name: exactly one gets it", async () => {
    const { token } = await newJoinToken(s.app);
    const statuses = await Promise.all([1, 2, 3].map(async () => (await postJoin(s.app, "node-a", token)).status));
    expect(statuses.sort()).toEqual([200, 409, 409]);
    const live = await s.db.$client.execute("SELECT count(*) AS n FROM node_credentials WHERE revoked_at IS NULL");
    expect(live.rows[0]!.n).toBe(1);
  });

  it("a 409 is no failed join: it does not count towards the per-address limit", async () => {
    s.rebuild({ settings: { authFailureBurst: 1 } });
    const { token } = await newJoinToken(s.app);
    await joinOk("node-a", token);
    for (let i = 0; i < 5; i++) expect((await postJoin(s.app, "node-a", token)).status).toBe(409);
    expect((await postJoin(s.app, "node-b", token)).status).toBe(200);
  });

  it("allowed once the node is Lost (EBPF_K8S_LOST_AFTER without a batch): the old credential is revoked", async () => {
    s.rebuild({ settings: { staleAfterMs: 5_000, lostAfterMs: 10_000 } });
    const { token } = await newJoinToken(s.app);
    const old = await joinOk("node-a", token);
    expect((await postBatch(s.app, batch({ seq: 1 }), bearer(old))).status).toBe(200);
    s.clock.now += 9_999;
    expect((await getJson(s.app, "/api/v1/nodes/node-a")).body.status).toBe("Stale");
    expect((await postJoin(s.app, "node-a", token)).status).toBe(409);
    s.clock.now += 1;
    expect((await getJson(s.app, "/api/v1/nodes/node-a")).body.status).toBe("Lost");

    const fresh = await joinOk("node-a", token);
    const refused = await postBatch(s.app, batch({ seq: 2, ts: T0 + 10_000 }), bearer(old));
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: "node credential revoked; join again" });
    expect((await postBatch(s.app, batch({ seq: 2, ts: T0 + 10_000 }), bearer(fresh))).status).toBe(200);
    // the new holder is live now: the next join is refused again
    expect((await postJoin(s.app, "node-a", token)).status).toBe(409);
  });

  it("allowed after an admin revoked the node's credentials", async () => {
    const { token } = await newJoinToken(s.app);
    const old = await joinOk("node-a", token);
    expect((await postBatch(s.app, batch({ seq: 1 }), bearer(old))).status).toBe(200);
    expect((await postJoin(s.app, "node-a", token)).status).toBe(409);
    await send(s.app, "DELETE", "/api/v1/nodes/node-a/credentials", undefined, AS_ADMIN);
    const fresh = await joinOk("node-a", token);
    expect((await postBatch(s.app, batch({ seq: 2, ts: T0 + 1_000 }), bearer(fresh))).status).toBe(200);
  });
});

describe("POST /api/v1/nodes/:node/rejoin", () => {
  const approve = (node: string, body?: unknown) => send(s.app, "POST", `/api/v1/nodes/${node}/rejoin`, body, AS_ADMIN);

  it("lets exactly the next join replace the credential, which works until then; the approval is used up", async () => {
    const { token } = await newJoinToken(s.app);
    const old = await joinOk("node-a", token);
    expect((await postBatch(s.app, batch({ seq: 1 }), bearer(old))).status).toBe(200);

    const res = await approve("node-a"); // no body: the default window
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ node: "node-a", approvedUntil: new Date(s.clock.now + 900_000).toISOString() });
    s.clock.now += 1_000;
    expect((await postBatch(s.app, batch({ seq: 2, ts: T0 + 1_000 }), bearer(old))).status).toBe(200);

    s.clock.now += 60_000;
    const fresh = await joinOk("node-a", token);
    expect((await postBatch(s.app, batch({ seq: 3, ts: T0 + 61_000 }), bearer(old))).status).toBe(401);
    expect((await postBatch(s.app, batch({ seq: 3, ts: T0 + 61_000 }), bearer(fresh))).status).toBe(200);

    // single use: a second join within the window meets the new, unapproved credential
    const again = await postJoin(s.app, "node-a", token);
    expect(again.status).toBe(409);
    expect((await postBatch(s.app, batch({ seq: 4, ts: T0 + 62_000 }), bearer(fresh))).status).toBe(200);
  });

  it("expires after ttlSeconds; approving again sets a new deadline", async () => {
    const { token } = await newJoinToken(s.app);
    const old = await joinOk("node-a", token);
    expect(await (await approve("node-a", { ttlSeconds: 30 })).json()).toMatchObject({
      approvedUntil: new Date(s.clock.now + 30_000).toISOString(),
    });
    s.clock.now += 30_000;
    expect((await postBatch(s.app, batch({ seq: 1 }), bearer(old))).status).toBe(200); // live
    const before = await dumpTables(s.db);
    expect((await postJoin(s.app, "node-a", token)).status).toBe(409);
    expect(await dumpTables(s.db)).toEqual(before);

    expect((await approve("node-a", { ttlSeconds: 60 })).status).toBe(200);
    s.clock.now += 59_999;
    await joinOk("node-a", token);
  });

  it("approves only that node", async () => {
    const { token } = await newJoinToken(s.app);
    await joinOk("node-a", token);
    await joinOk("node-b", token);
    expect((await approve("node-a")).status).toBe(200);
    expect((await postJoin(s.app, "node-b", token)).status).toBe(409);
    await joinOk("node-a", token);
  });

  it("404 when the node has no live credential (never joined, or revoked): any join may take it", async () => {
    const never = await approve("node-z");
    expect(never.status).toBe(404);
    expect(await never.json()).toEqual({
      error:
        "node 'node-z' has no live credential: any join with a valid join token may take the name, nothing to approve",
    });
    const { token } = await newJoinToken(s.app);
    await joinOk("node-a", token);
    await send(s.app, "DELETE", "/api/v1/nodes/node-a/credentials", undefined, AS_ADMIN);
    expect((await approve("node-a")).status).toBe(404);
  });

  it.each([
    [{ ttlSeconds: 0 }, "ttlSeconds"],
    [{ ttlSeconds: 86_401 }, "ttlSeconds"],
    [{ ttlSeconds: "60" }, "ttlSeconds"],
    [{ until: 5 }, "until"],
  ])("400 naming the field for %o", async (body, path) => {
    const res = await approve("node-a", body);
    expect(res.status).toBe(400);
    expect((await res.json()).issues).toContainEqual(expect.objectContaining({ path }));
  });

  it("400 for a bad node name; only the admin may approve or revoke (the read token gets 403, nobody else 401)", async () => {
    expect((await approve("Bad_Name")).status).toBe(400);
    const { token } = await newJoinToken(s.app);
    const credential = await joinOk("node-a", token);
    const callers: Array<[Record<string, string>, number]> = [
      [bearer(READ_TOKEN), 403],
      [bearer(credential), 401], // the node itself
      [bearer(token), 401], // whoever holds the join token
      [{}, 401],
    ];
    for (const [headers, status] of callers) {
      const approval = await send(s.app, "POST", "/api/v1/nodes/node-a/rejoin", {}, headers);
      const revoke = await send(s.app, "DELETE", "/api/v1/nodes/node-a/credentials", undefined, headers);
      expect([approval.status, revoke.status]).toEqual([status, status]);
    }
    expect((await postJoin(s.app, "node-a", token)).status).toBe(409); // nothing was approved
    expect((await postBatch(s.app, batch(), bearer(credential))).status).toBe(200); // nothing was revoked
  });
});

describe("DELETE /api/v1/nodes/:node/credentials", () => {
  it("revokes every credential of the node: its next batch is 401 until it joins again", async () => {
    const { token } = await newJoinToken(s.app);
    const { credential } = await (await postJoin(s.app, "node-a", token)).json();
    expect((await postBatch(s.app, batch({ seq: 1 }), bearer(credential))).status).toBe(200);

    const res = await send(s.app, "DELETE", "/api/v1/nodes/node-a/credentials", undefined, AS_ADMIN);
    expect(await res.json()).toEqual({ node: "node-a", revoked: 1 });
    expect((await postBatch(s.app, batch({ seq: 2, ts: T0 + 1_000 }), bearer(credential))).status).toBe(401);
    expect(await (await send(s.app, "DELETE", "/api/v1/nodes/node-a/credentials", undefined, AS_ADMIN)).json()).toEqual(
      { node: "node-a", revoked: 0 },
    );

    const again = (await (await postJoin(s.app, "node-a", token)).json()).credential;
    expect((await postBatch(s.app, batch({ seq: 2, ts: T0 + 1_000 }), bearer(again))).status).toBe(200);
  });

  it("400 for a bad node name", async () => {
    expect((await send(s.app, "DELETE", "/api/v1/nodes/Bad_Name/credentials", undefined, AS_ADMIN)).status).toBe(400);
  });
});
