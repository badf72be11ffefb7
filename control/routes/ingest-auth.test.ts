// SPDX-License-Identifier: Apache-2.0
/** Who may send batches, and how fast: credentials, node match, size first, rate limit per node. */
import { beforeEach, describe, expect, it } from "vitest";
import {
  ack,
  AS_ADMIN,
  batch,
  bearer,
  credentialFor,
  dumpTables,
  postBatch,
  send,
  T0,
  useTestApp,
} from "../test-support.ts";
import { MAX_BATCH_BYTES } from "../wire/batch.ts";

const s = useTestApp();

describe("ingest auth matrix", () => {
  let revoked: string;
  beforeEach(async () => {
    // node-c joined and was revoked; node-b is a live node whose credential is misused below.
    revoked = await credentialFor(s.app, "node-c");
    await send(s.app, "DELETE", "/api/v1/nodes/node-c/credentials", undefined, AS_ADMIN);
  });

  const rows: Array<
    [
      credential: string,
      headers: () => Promise<Record<string, string>>,
      node: string,
      status: number,
      error: string | null,
    ]
  > = [
    ["missing", async () => ({}), "node-a", 401, "node credential required (Authorization: Bearer); join first"],
    [
      "invalid",
      async () => bearer("ek8s_node_made-up-made-up-made-up-made-up"),
      "node-a",
      401,
      "unknown node credential (never issued, or its node was deleted); join again with a join token",
    ],
    [
      "not a bearer header",
      async () => ({ authorization: "Token abc" }),
      "node-a",
      401,
      "unknown node credential (never issued, or its node was deleted); join again with a join token",
    ],
    [
      "the admin token",
      async () => AS_ADMIN,
      "node-a",
      401,
      "unknown node credential (never issued, or its node was deleted); join again with a join token",
    ],
    [
      "of another node",
      async () => bearer(await credentialFor(s.app, "node-b")),
      "node-a",
      403,
      "this credential belongs to node 'node-b', not 'node-a'",
    ],
    ["revoked", async () => bearer(revoked), "node-c", 401, "node credential revoked; join again"],
    ["valid", async () => bearer(await credentialFor(s.app, "node-a")), "node-a", 200, null],
  ];

  it.each(rows)("%s credential → %s", async (_name, headers, node, status, error) => {
    const h = await headers();
    const before = await dumpTables(s.db);
    const res = await send(s.app, "POST", "/api/v1/ingest", batch({ node }), h);
    expect(res.status).toBe(status);
    if (error === null) {
      expect(await res.json()).toEqual(ack(1));
      return;
    }
    expect(await res.json()).toEqual({ error });
    if (status === 401) expect(res.headers.get("www-authenticate")).toBe('Bearer realm="ebpf-k8s"');
    expect(await dumpTables(s.db)).toEqual(before);
  });

  it("checks the credential before reading the body: garbage without a credential is 401, not 400", async () => {
    const res = await send(
      s.app,
      "POST",
      "/api/v1/ingest",
      "{not json",
      bearer("ek8s_node_made-up-made-up-made-up-made-up"),
    );
    expect(res.status).toBe(401);
  });

  it("checks the size before the credential: an oversized body is 413 whoever sends it", async () => {
    const res = await send(s.app, "POST", "/api/v1/ingest", "x", { "content-length": String(MAX_BATCH_BYTES + 1) });
    expect(res.status).toBe(413);
  });

  it("a malformed batch with a valid credential is 400, not 403, even if it names another node", async () => {
    const res = await postBatch(
      s.app,
      { ...batch({ node: "node-b" }), seq: -1 },
      bearer(await credentialFor(s.app, "node-a")),
    );
    expect(res.status).toBe(400);
  });
});

describe("ingest rate limit per node", () => {
  beforeEach(() => {
    s.rebuild({ settings: { ingestRatePerSec: 0.5, ingestBurst: 3 } });
  });

  const seqBatch = (seq: number, node = "node-a") => batch({ node, seq, ts: T0 + seq * 1_000 });

  it("allows the burst, then 429 with Retry-After and nothing stored; refills at the rate", async () => {
    for (let seq = 1; seq <= 3; seq++) expect((await postBatch(s.app, seqBatch(seq))).status).toBe(200);
    const before = await dumpTables(s.db);

    const limited = await postBatch(s.app, seqBatch(4));
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("2");
    expect(await limited.json()).toEqual({
      error: "too many batches from node 'node-a'; retry in 2 s",
      retryAfterSeconds: 2,
    });
    expect(await dumpTables(s.db)).toEqual(before);

    s.clock.now += 1_000;
    expect((await postBatch(s.app, seqBatch(4))).headers.get("retry-after")).toBe("1");
    s.clock.now += 1_000;
    expect((await postBatch(s.app, seqBatch(4))).status).toBe(200);
    expect((await postBatch(s.app, seqBatch(5))).status).toBe(429);
  });

  it("limits each node on its own", async () => {
    for (let seq = 1; seq <= 3; seq++) await postBatch(s.app, seqBatch(seq));
    expect((await postBatch(s.app, seqBatch(4))).status).toBe(429);
    expect((await postBatch(s.app, seqBatch(1, "node-b"))).status).toBe(200);
  });

  it("counts rejected requests too (a node sending garbage fast is throttled before parsing)", async () => {
    for (let i = 0; i < 3; i++) expect((await postBatch(s.app, "{garbage")).status).toBe(400);
    expect((await postBatch(s.app, "{garbage")).status).toBe(429);
  });
});
