/** Join tokens (admin), joining, credentials and their revocation. */
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
  send,
  T0,
  useTestApp,
} from "../test-support.ts";
import { JoinResponse } from "../wire/batch.ts";

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

  it("joining again replaces the node's credential: the old one is revoked, other nodes are untouched", async () => {
    const { token } = await newJoinToken(s.app);
    const first = (await (await postJoin(s.app, "node-a", token)).json()).credential;
    const other = (await (await postJoin(s.app, "node-b", token)).json()).credential;
    const second = (await (await postJoin(s.app, "node-a", token)).json()).credential;
    expect(second).not.toBe(first);

    const old = await postBatch(s.app, batch(), bearer(first));
    expect(old.status).toBe(401);
    expect(await old.json()).toEqual({ error: "node credential revoked; join again" });
    expect((await postBatch(s.app, batch(), bearer(second))).status).toBe(200);
    expect((await postBatch(s.app, batch({ node: "node-b" }), bearer(other))).status).toBe(200);
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
