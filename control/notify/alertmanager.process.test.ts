// SPDX-License-Identifier: Apache-2.0
/**
 * A real Alertmanager (Debian's prometheus-alertmanager, on loopback) as a
 * receiver of format "alertmanager": it accepts our alert through its
 * /api/v2/alerts, lists it with the very fingerprint we computed
 * (payload.ts), and takes the resolution. Skipped where the binary is
 * missing (scripts/setup/dev.list installs it).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Proc, start, waitFor } from "../../scripts/procs.ts";
import { evaluateAlerts } from "../alerts/evaluate.ts";
import { DEFAULT_RETENTION } from "../monitoring/rollup.ts";
import { AS_ADMIN, batch, postBatch, send, useTestApp } from "../test-support.ts";
import { deliverDue } from "./deliver.ts";
import { listNotifications } from "./deliveries.ts";
import { freePort, TEST_NOTIFY } from "./receiver.test-support.ts";

const BINARY = "/usr/bin/prometheus-alertmanager";

interface AmAlert {
  labels: Record<string, string>;
  fingerprint: string;
  status: { state: string };
}

describe.skipIf(!existsSync(BINARY))("a real Alertmanager as a receiver", () => {
  const s = useTestApp();
  let dir: string;
  let am: Proc;
  let url: string;
  const amAlerts = async () => (await (await fetch(`${url}/api/v2/alerts`)).json()) as AmAlert[];

  beforeAll(async () => {
    dir = mkdtempSync(`${tmpdir()}/ek8s-am-`);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    writeFileSync(`${dir}/am.yml`, 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n');
    am = start("alertmanager", [
      BINARY,
      `--config.file=${dir}/am.yml`,
      `--storage.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=", // no gossip: a single instance, nothing on other addresses
    ]);
    await waitFor("Alertmanager to be ready", async () => (await fetch(`${url}/-/ready`)).ok, 30_000);
  });

  afterAll(async () => {
    await am?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("takes the firing alert with our fingerprint, then its resolution", async () => {
    const res = await send(s.app, "POST", "/api/v1/receivers", {
      name: "am",
      url: `${url}/api/v2/alerts`,
      format: "alertmanager",
    }, AS_ADMIN);
    expect(res.status).toBe(201);
    // Real times: Alertmanager judges startsAt and endsAt by its own clock.
    const base = Date.now() - 120_000;
    s.clock.now = base;
    await postBatch(s.app, batch({ node: "node-am", seq: 1, ts: base }));
    await send(s.app, "POST", "/api/v1/thresholds", {
      metric: "heartbeatAgeSeconds",
      scope: { kind: "node", target: "node-am" },
      upper: 60,
      holdSeconds: 0,
    }, AS_ADMIN);
    const values = { staleAfterMs: 30_000, retention: DEFAULT_RETENTION };
    expect(await evaluateAlerts(s.db, base + 70_000, values)).toMatchObject({ fired: 1 });
    expect(await deliverDue(s.db, Date.now, TEST_NOTIFY)).toMatchObject({ delivered: 1 });
    const [record] = await listNotifications(s.db);

    const [alert, ...more] = await waitFor("the alert in Alertmanager", async () => {
      const list = await amAlerts();
      return list.length > 0 ? list : undefined;
    });
    expect(more).toEqual([]);
    expect(alert!.labels).toMatchObject({ alertname: "EbpfK8sHeartbeatAgeSecondsHigh", node: "node-am" });
    expect(alert!.fingerprint, "Alertmanager's fingerprint is ours").toBe(record!.fingerprint);
    expect(alert!.status.state).toBe("active");

    s.clock.now = base + 80_000;
    await postBatch(s.app, batch({ node: "node-am", seq: 2, ts: base + 80_000 }));
    expect(await evaluateAlerts(s.db, base + 81_000, values)).toMatchObject({ resolved: 1 });
    expect(await deliverDue(s.db, Date.now, TEST_NOTIFY)).toMatchObject({ delivered: 1 });
    // Alertmanager's API lists alerts that have not ended: the resolution took it off.
    await waitFor("the alert resolved in Alertmanager", async () => (await amAlerts()).length === 0);
  }, 60_000);
});
