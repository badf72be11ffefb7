// SPDX-License-Identifier: Apache-2.0
/**
 * Where the lease shows: /readyz (which also checks the database, 503 when
 * it does not answer, while /healthz stays up), /metrics and the overview,
 * each from two replicas (two apps on two connections to one libSQL file).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { describe, expect, it } from "vitest";
import { createApp } from "../app.ts";
import type { Db } from "../db/client.ts";
import * as schema from "../db/schema.ts";
import { parseExposition, valueOf } from "../metrics/parse.test-support.ts";
import { READY_TIMEOUT_MS } from "../routes/health.ts";
import { T0 } from "../test-support.ts";
import { LeaseKeeper } from "./keeper.ts";
import { ONCE_ONLY_LEASE } from "./lease.ts";
import { useTwoConnections } from "./two-connections.test-support.ts";

const s = useTwoConnections();
const { clock, now } = s;

/** Replica `id` on `db`: its keeper (stepped by hand) and its app. */
function replica(db: Db, id: string) {
  const keeper = new LeaseKeeper(
    { db, replica: id, name: ONCE_ONLY_LEASE, leaseMs: 15_000, renewMs: 5_000, now, log: () => undefined },
    [],
  );
  return { keeper, app: createApp(db, { now, lease: () => keeper.status() }) };
}

describe("/readyz and /healthz", () => {
  it("/readyz checks the database and says who holds the lease; this replica's side too", async () => {
    const a = replica(s.file.db, "pod-a/1"), b = replica(s.other, "pod-b/2");
    let res = await b.app.request("/readyz");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      ok: true,
      lease: { holder: null, expiresAt: null, self: { held: false } },
    });
    await a.keeper.step();
    await b.keeper.step();
    res = await b.app.request("/readyz");
    expect(await res.json()).toEqual({
      ok: true,
      lease: {
        holder: "pod-a/1",
        expiresAt: T0 + 15_000,
        self: {
          replica: "pod-b/2",
          held: false,
          holder: "pod-a/1",
          expiresAt: T0 + 15_000,
          acquisitions: 0,
          failures: 0,
        },
      },
    });
    clock.now = T0 + 15_000; // expired, not renewed: nobody holds it
    expect((await (await b.app.request("/readyz")).json()).lease.holder).toBe(null);
  });

  it("/readyz is 503 when the database fails, while /healthz (liveness) stays 200", async () => {
    const { app } = replica(s.other, "pod-b/2");
    s.other.$client.close();
    const res = await app.request("/readyz");
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ok: false, error: expect.stringMatching(/^database: .+/) });
    expect((await app.request("/healthz")).status).toBe(200);
  });

  it("/readyz is 503 within its timeout when a libSQL server does not answer", async () => {
    const held: Array<() => void> = [];
    const server: Server = createServer((_req, res) => held.push(() => res.destroy())); // accepts, never answers
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const client = createClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    try {
      const app = createApp(drizzle(client, { schema }) as Db, { now });
      const started = Date.now();
      const res = await app.request("/readyz");
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ ok: false, error: `database: no answer within ${READY_TIMEOUT_MS} ms` });
      expect(Date.now() - started).toBeLessThan(READY_TIMEOUT_MS + 1_000);
    } finally {
      client.close();
      for (const end of held) end();
      await new Promise((r) => server.close(r));
    }
  });
});

describe("the lease on /metrics and the overview", () => {
  it("both replicas name the holder; each says whether it is the one", async () => {
    const a = replica(s.file.db, "pod-a/1"), b = replica(s.other, "pod-b/2");
    await a.keeper.step();
    await b.keeper.step();
    for (const [r, held] of [[a, 1], [b, 0]] as const) {
      const { samples, types } = parseExposition(await (await r.app.request("/metrics")).text());
      expect(samples.filter((s) => s.name === "ebpf_k8s_lease_holder_info")).toEqual([
        { name: "ebpf_k8s_lease_holder_info", labels: { replica: "pod-a/1" }, value: 1 },
      ]);
      const self = { replica: r.keeper.status().replica };
      expect(valueOf(samples, "ebpf_k8s_lease_held", self)).toBe(held);
      expect(valueOf(samples, "ebpf_k8s_lease_acquisitions_total", self)).toBe(held);
      expect(valueOf(samples, "ebpf_k8s_lease_renewal_failures_total", self)).toBe(0);
      expect(types.get("ebpf_k8s_lease_acquisitions_total")).toBe("counter");
    }
    const page = await (await b.app.request("/")).text();
    expect(page).toContain("runs on replica <code>pod-a/1</code>");
    expect(page).toContain("This page: <code>pod-b/2</code>.");
    expect(await (await a.app.request("/")).text()).toContain("This page: <code>pod-a/1</code> (the holder).");

    await a.keeper.stop(); // releases: no holder until b's next try
    const { samples } = parseExposition(await (await b.app.request("/metrics")).text());
    expect(samples.filter((s) => s.name === "ebpf_k8s_lease_holder_info")).toEqual([]);
    expect(await (await b.app.request("/")).text()).toContain("no replica holds the lease right now");
  });
});
