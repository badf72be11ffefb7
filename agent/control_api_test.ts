// SPDX-License-Identifier: Apache-2.0
/** How the control plane's answers are sorted (the HTTP contract), against a local server. */
import { assertEquals } from "./testing/assert.ts";
import { DEFAULT_MODULES, WIRE_VERSION } from "../control/wire/batch.ts";
import { JOIN_WIRE_VERSION_HEADER } from "../control/wire/version.ts";
import { ControlApi, retryAfterMs } from "./control_api.ts";
import { COMPACT_CONTENT_TYPE, compactBody, UNKNOWN_PART } from "../control/wire/compact/http.ts";
import { interfacesOnly } from "../control/wire/compact/fixtures.test-support.ts";

Deno.test("Retry-After: seconds or an HTTP date", () => {
  const now = Date.parse("2025-01-01T00:00:00Z");
  assertEquals(retryAfterMs("7", now), 7000);
  assertEquals(retryAfterMs("Wed, 01 Jan 2025 00:00:30 GMT", now), 30_000);
  assertEquals(retryAfterMs("soon", now), undefined);
  assertEquals(retryAfterMs(null, now), undefined);
});

Deno.test("answers: 200 ok, 401/403 unauthorized, 400/413 rejected, 429 and 503 retry after, 5xx and others retry, no listener retry", async () => {
  let status = 200;
  let body = "";
  let retryAfter: string | undefined;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(body, { status, headers: retryAfter ? { "retry-after": retryAfter } : {} }),
  );
  try {
    const api = new ControlApi(`http://127.0.0.1:${server.addr.port}`);
    const kind = async (s: number, b = "{}", after?: string) => {
      status = s;
      body = b;
      retryAfter = after;
      const a = await api.ingest("{}", "c");
      return a.kind === "retry" ? `retry${a.retryAfterMs ? ` ${a.retryAfterMs}` : ""}` : a.kind;
    };
    const desired = { version: 1, modules: { ...DEFAULT_MODULES } };
    assertEquals(await kind(200, JSON.stringify({ ok: true, seq: 3, duplicate: false, desired })), "ok");
    assertEquals(await kind(200, "<html>proxy</html>"), "retry");
    assertEquals(await kind(401), "unauthorized");
    assertEquals(await kind(403), "unauthorized");
    assertEquals(await kind(400), "rejected");
    assertEquals(await kind(413), "rejected");
    assertEquals(await kind(429, "{}", "3"), "retry 3000");
    assertEquals(await kind(429), "retry 1000", "429 without Retry-After: a second");
    assertEquals(await kind(503, "{}", "2"), "retry 2000", "a control plane at capacity says when to come back");
    assertEquals(await kind(503), "retry");
    assertEquals(await kind(404), "retry");
  } finally {
    await server.shutdown();
  }
  const gone = await new ControlApi(`http://127.0.0.1:${server.addr.port}`).ingest("{}", "c");
  assertEquals(gone.kind, "retry");
});

Deno.test("lb state long-poll: 200 state, 204 unchanged, asked with after and wait, 200 unreadable retried, 401 unauthorized", async () => {
  let status = 200;
  let body = "";
  const urls: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    urls.push(
      `${req.method} ${new URL(req.url).pathname}${new URL(req.url).search} ${req.headers.get("authorization")}`,
    );
    return new Response(status === 204 ? null : body, { status });
  });
  try {
    const api = new ControlApi(`http://127.0.0.1:${server.addr.port}`);
    body = JSON.stringify({ version: 4, services: [] });
    const a = await api.lbState("cred", null);
    assertEquals(a, { kind: "ok", value: { version: 4, services: [] } });
    status = 204;
    assertEquals(await api.lbState("cred", 4, undefined, 3), { kind: "ok", value: null });
    assertEquals(urls, ["GET /api/v1/lb/state?wait=25 Bearer cred", "GET /api/v1/lb/state?after=4&wait=3 Bearer cred"]);
    status = 200;
    body = JSON.stringify({ version: 5, services: [{ id: 1 }] });
    assertEquals((await api.lbState("cred", 4)).kind, "retry");
    status = 401;
    assertEquals((await api.lbState("cred", 4)).kind, "unauthorized");
  } finally {
    await server.shutdown();
  }
});

Deno.test("join: 409 is the node name taken (with the control plane's explanation), never a retry", async () => {
  let status = 409;
  let body = JSON.stringify({ error: "node 'n1' already has a live credential", conflict: "node", node: "n1" });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(body, { status }),
  );
  try {
    const api = new ControlApi(`http://127.0.0.1:${server.addr.port}`);
    const taken = await api.join("ek8s_join_token-token-token", "n1");
    assertEquals(taken.kind, "taken");
    assertEquals(taken.kind === "taken" && taken.error, "node 'n1' already has a live credential");
    body = "<html>conflict</html>";
    const bare = await api.join("ek8s_join_token-token-token", "n1");
    assertEquals([bare.kind, bare.kind === "taken" && bare.error], ["taken", undefined]);
    status = 401;
    assertEquals((await api.join("ek8s_join_token-token-token", "n1")).kind, "unauthorized");
  } finally {
    await server.shutdown();
  }
});

Deno.test("join: names the wire version the agent writes in its header, so the answer is cut for it", async () => {
  const seen: (string | null)[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    seen.push(req.headers.get(JOIN_WIRE_VERSION_HEADER));
    return new Response("{}", { status: 401 });
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}`;
    await new ControlApi(url).join("ek8s_join_token-token-token", "n1");
    await new ControlApi(url, undefined, WIRE_VERSION - 1).join("ek8s_join_token-token-token", "n1");
    assertEquals(seen, [String(WIRE_VERSION), String(WIRE_VERSION - 1)]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("ingest: 409 unsupported wire version says which are accepted; another 409 is a retry; GET /api/v1/wire", async () => {
  let status = 409;
  let body = "";
  const paths: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    paths.push(`${req.method} ${new URL(req.url).pathname}`);
    return new Response(body, { status });
  });
  try {
    const api = new ControlApi(`http://127.0.0.1:${server.addr.port}`);
    body = JSON.stringify({ error: "unsupported wire version", version: 2, accepts: [1, 2], started: 5, issues: [] });
    const a = await api.ingest("{}", "c");
    assertEquals(a.kind === "unsupported" && a.versions, { version: 2, accepts: [1, 2], started: 5 });
    body = JSON.stringify({ error: "something else" });
    assertEquals((await api.ingest("{}", "c")).kind, "retry");
    body = JSON.stringify({ error: "unsupported wire version" }); // no versions: cannot be acted on
    assertEquals((await api.ingest("{}", "c")).kind, "retry");
    status = 200;
    body = JSON.stringify({ version: 3, accepts: [2, 3], later: "fields a newer control plane adds are ignored" });
    const w = await api.wireVersions();
    assertEquals(w.kind === "ok" && w.value, { version: 3, accepts: [2, 3] });
    status = 404;
    assertEquals((await api.wireVersions()).kind, "retry", "a control plane older than the rule");
    assertEquals(paths.at(-1), "GET /api/v1/wire");
  } finally {
    await server.shutdown();
  }
});

Deno.test("ingest compact: sent with its Content-Type and Content-Encoding; 412 unknown part names the parts, another 412 is a retry; 415 rejected", async () => {
  let status = 412;
  let body = "";
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const bytes = new Uint8Array(await req.arrayBuffer());
    seen.push(`${req.headers.get("content-type")} ${req.headers.get("content-encoding")} ${bytes.byteLength}`);
    return new Response(body, { status });
  });
  try {
    const api = new ControlApi(`http://127.0.0.1:${server.addr.port}`);
    const compact = await compactBody(interfacesOnly());
    body = JSON.stringify({ error: UNKNOWN_PART, parts: ["inventory", "pods"], later: "ignored" });
    assertEquals(await api.ingest(compact, "c"), {
      kind: "unknownPart",
      message: `/api/v1/ingest answered 412: ${body}`,
      parts: ["inventory", "pods"],
    });
    assertEquals(seen, [`${COMPACT_CONTENT_TYPE} gzip ${compact.body.byteLength}`]);
    body = JSON.stringify({ error: "precondition failed" }); // not the contract's: a proxy's
    assertEquals((await api.ingest(compact, "c")).kind, "retry");
    status = 415;
    assertEquals((await api.ingest(compact, "c")).kind, "rejected");
    assertEquals((await api.ingest("{}", "c")).kind, "rejected");
    assertEquals(seen.at(-1), "application/json null 2");
  } finally {
    await server.shutdown();
  }
});
