// SPDX-License-Identifier: Apache-2.0
/**
 * Every documented operation called on a test app with data in it, and each
 * real answer checked against the published document (conformance.test-support.ts):
 * successes and the errors a client meets (400, 401, 403, 404, 409, 413).
 * The test fails when an operation was never answered with a success, so a
 * new operation must come with its call here.
 */
import { describe, expect, it } from "vitest";
import { evaluateAlerts } from "../alerts/evaluate.ts";
import { bodyReader } from "../flows-stream/lines.test-support.ts";
import { DEFAULT_RETENTION } from "../monitoring/rollup.ts";
import { KUBE_DNS, SCENARIO_DNS } from "../monitoring/dns-scenario.test-support.ts";
import { drop, flow } from "../monitoring/fixtures.test-support.ts";
import { post } from "../monitoring/scenario.test-support.ts";
import { ECHO, explorerBatches } from "../routes/flow-explorer.test-support.ts";
import { backends, service } from "../services/fixtures.test-support.ts";
import { AS_ADMIN, bearer, credentialFor, iface, inventory, READ_TOKEN, T0, useTestApp } from "../test-support.ts";
import { WIRE_VERSION } from "../wire/batch.ts";
import { JOIN_WIRE_VERSION_HEADER, MODULE_SINCE } from "../wire/version.ts";
import { COMPACT_CONTENT_TYPE } from "../wire/compact/http.ts";
import { Conformance } from "./conformance.test-support.ts";

const s = useTestApp();
const AS_READER = bearer(READ_TOKEN);

describe("every operation's real answers match the OpenAPI document", { timeout: 60_000 }, () => {
  it("for successes and errors, and every operation is answered with a success", async () => {
    const docRes = await s.app.request("/api/v1/openapi.json");
    const doc = new Conformance(await docRes.clone().json());
    await doc.check("GET", "/api/v1/openapi.json", docRes);

    /** Sends a request, checks its answer against the document, and its status; returns the body. */
    async function call(
      method: string,
      url: string,
      status: number,
      opts: { body?: unknown; headers?: Record<string, string> } = {},
    ) {
      const { body, headers = AS_ADMIN } = opts;
      const res = await s.app.request(url, {
        method,
        headers: { "content-type": "application/json", ...headers },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
      const clone = res.clone();
      expect(res.status, `${method} ${url}: ${await clone.text()}`).toBe(status);
      // deno-lint-ignore no-explicit-any -- the document's schema has just checked the body
      return (await doc.check(method, url, res)) as any;
    }

    // Probes, metrics, the wire versions.
    await call("GET", "/healthz", 200);
    await call("GET", "/readyz", 200);
    await call("GET", "/metrics", 200);
    await call("GET", "/api/v1/wire", 200, { headers: {} });

    // Access: no token, the read token on an admin operation, a body too large.
    await call("GET", "/api/v1/join-tokens", 401, { headers: {} });
    await call("GET", "/api/v1/join-tokens", 403, { headers: AS_READER });
    await call("POST", "/api/v1/join-tokens", 413, { body: { description: "x".repeat(20_000) } });

    // Join tokens and joining.
    const token = await call("POST", "/api/v1/join-tokens", 201, { body: { description: "openapi" } });
    await call("POST", "/api/v1/join-tokens", 400, { body: { ttlSeconds: 0 } });
    await call("POST", "/api/v1/join-tokens", 400, { body: "{not json" });
    await call("GET", "/api/v1/join-tokens", 200);
    // Without the version header the desired state is cut for an agent before dns; with it, dns is named.
    const joined = await call("POST", "/api/v1/join", 200, {
      body: { token: token.token, node: "node-j" },
      headers: {},
    });
    expect(joined.desired.modules).not.toHaveProperty("dns");
    const dnsAgent = { [JOIN_WIRE_VERSION_HEADER]: String(MODULE_SINCE.dns) };
    const joinedK = await call("POST", "/api/v1/join", 200, {
      body: { token: token.token, node: "node-k" },
      headers: dnsAgent,
    });
    expect(joinedK.desired.modules.dns).toBe(true);
    await call("POST", "/api/v1/join", 409, { body: { token: token.token, node: "node-j" }, headers: {} });
    await call("POST", "/api/v1/join", 401, { body: { token: "ek8s_join_" + "0".repeat(32), node: "x" }, headers: {} });
    await call("DELETE", `/api/v1/join-tokens/${token.id}`, 200);
    await call("DELETE", "/api/v1/join-tokens/0123456789abcdef", 404);
    await call("DELETE", "/api/v1/join-tokens/nope", 400);

    // A service the flows address, then the monitoring scenario's batches (control/routes/flow-explorer.test-support.ts),
    // and node-a's DNS (control/monitoring/dns-scenario.test-support.ts) to kube-dns, whose backend is the db pod.
    await call("POST", "/api/v1/services", 201, { body: ECHO });
    await call("POST", "/api/v1/services", 409, { body: ECHO });
    await call("POST", "/api/v1/services", 201, { body: KUBE_DNS });
    for (const b of explorerBatches(T0)) await post(s, b);
    await post(s, {
      node: "node-a",
      seq: 4,
      ts: T0 + 50_000,
      inventory: inventory(),
      drops: [drop({ ifname: "veth0" }), drop({ pod: "u-web", service: "demo/echo", packets: 3, bytes: 180 })],
      dns: SCENARIO_DNS,
    });
    // node-c at 10,000 B/s RX, over a threshold of 5,000 B/s: one alert fires.
    await post(s, { node: "node-c", seq: 1, ts: T0 + 50_000, interfaces: [iface({ rxBytes: 0 })] });
    await post(s, { node: "node-c", seq: 2, ts: T0 + 60_000, interfaces: [iface({ rxBytes: 100_000 })] });
    const threshold = await call("POST", "/api/v1/thresholds", 201, {
      body: { metric: "rxBytesPerSec", scope: { kind: "node", target: "node-c" }, upper: 5_000, holdSeconds: 0 },
    });
    await evaluateAlerts(s.db, T0 + 61_000, { staleAfterMs: 30_000, retention: DEFAULT_RETENTION });
    s.clock.now = T0 + 90_000;

    // Ingest: a duplicate, bad JSON, bad gzip, an unknown version, no credential, another node's credential.
    const credential = bearer(await credentialFor(s.app, "node-a"));
    const again = { v: WIRE_VERSION, node: "node-a", bootId: "6f1c1c8e-5a3e-4c1b-9a55-0f6e0d2a1b11" };
    const batchA = { ...again, seq: 4, ts: T0 + 50_000, interval: 1, interfaces: [iface()] };
    expect((await call("POST", "/api/v1/ingest", 200, { body: batchA, headers: credential })).duplicate).toBe(true);
    // An agent of the version before: its answer's desired state leaves out what that version does not know.
    await call("POST", "/api/v1/ingest", 200, { body: { ...batchA, v: WIRE_VERSION - 1 }, headers: credential });
    await call("POST", "/api/v1/ingest", 400, { body: "{", headers: credential });
    await call("POST", "/api/v1/ingest", 400, { body: { ...batchA, seq: -1 }, headers: credential });
    await call("POST", "/api/v1/ingest", 409, { body: { ...batchA, v: 1 }, headers: credential });
    await call("POST", "/api/v1/ingest", 401, { body: batchA, headers: {} });
    const brotli = { ...credential, "content-type": COMPACT_CONTENT_TYPE, "content-encoding": "br" };
    await call("POST", "/api/v1/ingest", 415, { body: "{}", headers: brotli });
    const gzip = { ...brotli, "content-encoding": "gzip" };
    expect((await call("POST", "/api/v1/ingest", 400, { body: "not gzip", headers: gzip })).error)
      .toBe("body is not valid gzip");
    await call("POST", "/api/v1/ingest", 403, { body: { ...batchA, node: "node-b" }, headers: credential });

    // Nodes and modules.
    const nodes = await call("GET", "/api/v1/nodes", 200, { headers: AS_READER });
    expect(nodes.map((n: { name: string }) => n.name)).toEqual(["node-a", "node-b", "node-c"]);
    expect((await call("GET", "/api/v1/nodes/node-a", 200)).inventory).not.toBeNull();
    await call("GET", "/api/v1/nodes/node-z", 404);
    await call("GET", "/api/v1/nodes/Node_A", 400);
    await call("GET", "/api/v1/nodes/node-a/interfaces", 200);
    await call("GET", "/api/v1/nodes/node-z/interfaces", 404);
    await call("GET", "/api/v1/nodes/node-a/modules", 200);
    await call("PUT", "/api/v1/nodes/node-a/modules/flows", 200, { body: { enabled: false } });
    await call("PUT", "/api/v1/nodes/node-a/modules/nope", 400, { body: { enabled: false } });
    await call("PUT", "/api/v1/nodes/node-a/modules/flows", 403, { body: { enabled: true }, headers: AS_READER });
    await call("DELETE", "/api/v1/nodes/node-a/modules/flows", 200);
    await call("DELETE", "/api/v1/nodes/node-a/modules/nope", 400);
    await call("GET", "/api/v1/module-defaults", 200, { headers: AS_READER });
    await call("PUT", "/api/v1/module-defaults", 200, { body: { modules: { lb: false } } });
    await call("PUT", "/api/v1/module-defaults", 400, { body: { modules: { nope: true } } });
    await call("PUT", "/api/v1/module-defaults", 413, { body: { modules: {}, pad: "x".repeat(20_000) } });
    const never = await call("POST", "/api/v1/join-tokens", 201, { body: { expires: "never" } });
    expect(never.expiresAt).toBeNull();
    await call("POST", "/api/v1/join", 200, { body: { token: never.token, node: "node-gone" } });
    await call("DELETE", "/api/v1/nodes/node-gone", 200);
    await call("DELETE", "/api/v1/nodes/node-gone", 404);
    await call("DELETE", "/api/v1/nodes/Node_A", 400);
    await call("GET", "/api/v1/nodes/node-a/series?since=2m", 200);
    await call("GET", "/api/v1/nodes/node-a/series?ifname=nope0", 404);
    await call("GET", "/api/v1/nodes/node-a/series?since=soon", 400);

    // Monitoring reads, each with real rows.
    expect((await call("GET", "/api/v1/pods", 200)).pods.length).toBe(3);
    await call("GET", "/api/v1/pods?node=node-z", 404);
    await call("GET", "/api/v1/pods/default/web", 200);
    await call("GET", "/api/v1/pods/default/nobody", 404);
    expect((await call("GET", "/api/v1/flows", 200)).flows.length).toBe(8);
    await call("GET", "/api/v1/flows?limit=0", 400);
    await call("GET", "/api/v1/flows?pod=default/nobody", 404);
    expect((await call("GET", "/api/v1/tcp", 200)).connections.length).toBeGreaterThan(0);
    expect((await call("GET", "/api/v1/drops", 200)).drops.length).toBe(2);
    const dns = await call("GET", "/api/v1/dns", 200);
    expect(dns.servers.length).toBe(SCENARIO_DNS.servers.length);
    expect(dns.names.map((n: { pod: { label: string } }) => n.pod.label)).toEqual(["default/cache", "default/web"]);
    expect((await call("GET", "/api/v1/dns?server=10.0.2.2&limit=1", 200)).servers.length).toBe(1);
    await call("GET", "/api/v1/dns?server=nope", 400);
    await call("GET", "/api/v1/dns?node=node-z", 404);
    await call("GET", "/api/v1/dns?pod=default/nobody", 404);
    const map = await call("GET", "/api/v1/servicemap", 200);
    expect(map.edges.length).toBeGreaterThan(0);
    expect(map.dns.length).toBeGreaterThan(0);
    expect(map.nodes.find((n: { id: string }) => n.id === "svc:kube-system/kube-dns").dns.queries).toBeGreaterThan(0);
    expect((await call("GET", "/api/v1/toptalkers", 200)).talkers.length).toBeGreaterThan(0);
    expect((await call("GET", "/api/v1/toptalkers?by=pairs", 200)).talkers.length).toBeGreaterThan(0);
    await call("GET", "/api/v1/toptalkers?by=nodes", 400);

    // The flow stream: its head, then a line published by a batch stored while it is followed.
    await call("GET", "/api/v1/flows/stream?port=x", 400);
    const streamRes = await s.app.request("/api/v1/flows/stream");
    expect(streamRes.status).toBe(200);
    const checkLine = doc.checkStream("GET", "/api/v1/flows/stream", streamRes);
    const lines = bodyReader(streamRes.body);
    try {
      await post(s, { node: "node-a", seq: 5, ts: T0 + 95_000, flows: [flow({ packets: 1, bytes: 60 })] });
      const [line] = await lines.lines(1);
      expect(line!.type).toBe("flow");
      checkLine(line);
    } finally {
      await lines.cancel();
    }
    s.clock.now = T0 + 100_000;

    // Services: every path form, the unnamed port as "-" and as no segment.
    const web = service("web", "10.96.0.10", { portName: "http", backends: backends("10.244.1.5", "10.244.2.7") });
    await call("POST", "/api/v1/services", 201, { body: web });
    await call("POST", "/api/v1/services", 400, { body: { ...web, vip: "nope" } });
    expect((await call("GET", "/api/v1/services", 200)).services.length).toBe(3);
    await call("GET", "/api/v1/services?since=later", 400);
    await call("GET", "/api/v1/services/default/web", 200);
    await call("GET", "/api/v1/services/default/nope", 404);
    await call("GET", "/api/v1/services/default/web/http", 200);
    await call("GET", "/api/v1/services/demo/echo/-", 200);
    await call("PUT", "/api/v1/services/default/web/http", 200, { body: { ...web, port: 8080 } });
    await call("PUT", "/api/v1/services/demo/echo", 200, { body: { ...ECHO, port: 81 } });
    await call("PUT", "/api/v1/services/default/nope/http", 404, { body: { ...web, name: "nope" } });
    await call("PUT", "/api/v1/services/default/web/http", 409, { body: { ...web, vip: "10.96.0.20", port: 81 } });
    await call("PATCH", "/api/v1/services/default/web/http/backends/10.244.1.5:8080", 200, {
      body: { state: "terminating" },
    });
    await call("PATCH", "/api/v1/services/default/web/http/backends/10.9.9.9:8080", 404, {
      body: { state: "terminating" },
    });
    await call("PATCH", "/api/v1/services/default/web/http/backends/nope", 400, { body: { state: "active" } });
    await call("DELETE", "/api/v1/services/default/web/http", 200);
    await call("DELETE", "/api/v1/services/default/web/http", 404);
    await call("DELETE", "/api/v1/services/demo/echo", 200);

    // Acceleration rules.
    const rule = await call("POST", "/api/v1/accel/rules", 201, {
      body: { kind: "pods", namespace: "default", selector: { app: "redis" } },
    });
    await call("POST", "/api/v1/accel/rules", 400, { body: { kind: "pods", namespace: "default", selector: {} } });
    await call("GET", "/api/v1/accel/rules", 200);
    await call("GET", `/api/v1/accel/rules/${rule.id}`, 200);
    await call("GET", "/api/v1/accel/rules/999", 404);
    await call("GET", "/api/v1/accel/rules/0", 400);
    await call("PUT", `/api/v1/accel/rules/${rule.id}`, 200, {
      body: { kind: "service", namespace: "default", name: "redis" },
    });
    await call("PUT", "/api/v1/accel/rules/999", 404, { body: { kind: "service", namespace: "a", name: "b" } });
    await call("DELETE", `/api/v1/accel/rules/${rule.id}`, 200);
    await call("DELETE", `/api/v1/accel/rules/${rule.id}`, 404);

    // Thresholds and alerts (one active alert, from node-c).
    await call("POST", "/api/v1/thresholds", 400, { body: { metric: "rxBytesPerSec", scope: { kind: "all" } } });
    await call("GET", "/api/v1/thresholds", 200);
    await call("GET", `/api/v1/thresholds/${threshold.id}`, 200);
    await call("GET", "/api/v1/thresholds/0123456789abcdef", 404);
    await call("GET", "/api/v1/thresholds/nope", 400);
    expect((await call("GET", "/api/v1/alerts?state=active", 200)).length).toBe(1);
    await call("GET", "/api/v1/alerts?state=nope", 400);
    // Notification receivers; the threshold's change below resolves its alert and notifies the receiver.
    const receiver = await call("POST", "/api/v1/receivers", 201, {
      body: { name: "team", url: "http://127.0.0.1:9/hook", bearerToken: "t0ken", header: { name: "X-K", value: "v" } },
    });
    await call("POST", "/api/v1/receivers", 409, { body: { name: "team", url: "http://127.0.0.1:9/" } });
    await call("POST", "/api/v1/receivers", 400, { body: { name: "Team", url: "ftp://x" } });
    await call("GET", "/api/v1/receivers", 200);
    await call("GET", `/api/v1/receivers/${receiver.id}`, 200);
    await call("GET", "/api/v1/receivers/0123456789abcdef", 404);
    await call("PATCH", `/api/v1/receivers/${receiver.id}`, 200, { body: { bearerToken: null } });
    await call("PATCH", "/api/v1/receivers/0123456789abcdef", 404, { body: { enabled: false } });
    await call("PUT", `/api/v1/thresholds/${threshold.id}`, 200, {
      body: { metric: "rxBytesPerSec", scope: { kind: "all" }, upper: 50_000 },
    });
    await call("PUT", "/api/v1/thresholds/0123456789abcdef", 404, {
      body: { metric: "rxBytesPerSec", scope: { kind: "all" }, upper: 1 },
    });
    await call("DELETE", `/api/v1/thresholds/${threshold.id}`, 200);
    expect((await call("GET", "/api/v1/alerts", 200))[0].state).toBe("resolved");
    expect((await call("GET", "/api/v1/notifications?state=pending", 200))[0]?.status).toBe("resolved");
    await call("GET", "/api/v1/notifications?state=nope", 400);
    await call("DELETE", `/api/v1/receivers/${receiver.id}`, 200);

    // Node credentials: approve a re-join of a live node, revoke, and the agents' lb state.
    await call("POST", "/api/v1/nodes/node-a/rejoin", 200, { body: { ttlSeconds: 60 } });
    await call("POST", "/api/v1/nodes/node-z/rejoin", 404, { body: {} });
    await call("POST", "/api/v1/nodes/node-a/rejoin", 400, { body: { ttlSeconds: -1 } });
    const state = await call("GET", "/api/v1/lb/state", 200, { headers: credential });
    await call("GET", `/api/v1/lb/state?after=${state.version}&wait=0`, 204, { headers: credential });
    await call("GET", "/api/v1/lb/state?wait=61", 400, { headers: credential });
    await call("GET", "/api/v1/lb/state", 401, { headers: {} });
    await call("DELETE", "/api/v1/nodes/node-a/credentials", 200);
    await call("DELETE", "/api/v1/nodes/Node_A/credentials", 400);

    // Every operation answered with a success at least once.
    const unanswered = doc.operations().filter((op) => ![...(doc.seen.get(op) ?? [])].some((st) => st < 300));
    expect({ unanswered }).toEqual({ unanswered: [] });
  });
});
