// SPDX-License-Identifier: Apache-2.0
/**
 * Notification receivers on /thresholds (admin: list, add through the htmx
 * form with errors next to the fields, switch off, delete; secrets never on
 * a page) and the delivery records on /alerts.
 */
import { describe, expect, it } from "vitest";
import { evaluateAlerts } from "../control/alerts/evaluate.ts";
import { SESSION_COOKIE } from "../control/auth/access.ts";
import { DEFAULT_RETENTION } from "../control/monitoring/rollup.ts";
import { deliverDue } from "../control/notify/deliver.ts";
import { startTestReceiver, TEST_NOTIFY } from "../control/notify/receiver.test-support.ts";
import { AS_ADMIN, batch, getJson, postBatch, READ_TOKEN, send, T0, useTestApp } from "../control/test-support.ts";
import { ADMIN, pageRequests } from "./pages.test-support.ts";

const s = useTestApp();
const { page, postForm } = pageRequests(s);

const FORM = {
  name: "slack-net",
  url: "https://hooks.slack.com/services/T0/B0/SECRETPATH",
  bearerToken: "tok-secret-1",
  headerName: "X-Api-Key",
  headerValue: "key-secret-2",
};

describe("notification receivers on /thresholds", () => {
  it("an admin adds one through the form: a blank form, the list and a line back; no secret on any page", async () => {
    expect(await page("/thresholds", ADMIN)).toContain("No receiver: alerts show on these pages only.");
    const res = await postForm("/receivers", FORM);
    const html = await res.text();
    expect(res.status, html).toBe(200);
    expect(html).toContain('<section class="panel" id="receiver-form"><h3>New notification receiver</h3>');
    expect(html).toContain('<div id="receivers" hx-swap-oob="innerHTML">');
    expect(html).toContain("Added the receiver slack-net");
    const list = await page("/thresholds", ADMIN);
    expect(list).toContain("<code>https://hooks.slack.com/services/…</code>");
    expect(list).toContain("bearer token, header X-Api-Key (not shown)");
    for (const secret of ["SECRETPATH", "tok-secret-1", "key-secret-2"]) {
      expect(html).not.toContain(secret);
      expect(list).not.toContain(secret);
    }
    const [made] = (await getJson(s.app, "/api/v1/receivers", AS_ADMIN)).body;
    expect(made).toMatchObject({ name: "slack-net", bearerToken: true, header: "X-Api-Key", enabled: true });
  });

  it("422 with each error next to its field, nothing written; a reader sees no receivers and cannot add", async () => {
    const res = await postForm("/receivers", { ...FORM, name: "Slack Net", url: "hooks.slack.com", headerValue: "" });
    const html = await res.text();
    expect(res.status).toBe(422);
    expect(html).toContain('id="f-name-error"');
    expect(html).toContain('id="f-url-error"');
    expect(html).toContain('id="f-headerValue-error"');
    expect(html).not.toContain("tok-secret-1"); // secrets are typed again, not sent back
    expect((await getJson(s.app, "/api/v1/receivers", AS_ADMIN)).body).toEqual([]);

    const reader = { cookie: `${SESSION_COOKIE}=${READ_TOKEN}` };
    expect(await page("/thresholds", reader)).not.toContain("receiver-form");
    expect((await postForm("/receivers", FORM, { ...reader, "hx-request": "true" })).status).toBe(403);
  });

  it("switches one off and on, and deletes it, in place", async () => {
    await postForm("/receivers", FORM);
    const [{ id }] = (await getJson(s.app, "/api/v1/receivers", AS_ADMIN)).body;
    const off = await (await postForm(`/receivers/${id}/disable`, {})).text();
    expect(off).toContain('<span class="na">switched off</span>');
    expect(off).toContain("switch on");
    expect(await (await postForm(`/receivers/${id}/enable`, {})).text()).toContain("enabled");
    expect(await (await postForm(`/receivers/${id}/delete`, {})).text()).toContain("No receiver");
    expect((await postForm(`/receivers/${id}/delete`, {})).status).toBe(404);
  });
});

describe("notifications on /alerts", () => {
  it("says when no receiver is set, then lists each event's delivery with its attempts and the totals", async () => {
    expect(await page("/alerts")).toContain("No receiver is configured: alerts reach nobody outside these pages.");
    const rx = await startTestReceiver();
    try {
      rx.answers.push(503);
      await send(s.app, "POST", "/api/v1/receivers", { name: "team", url: rx.url }, AS_ADMIN);
      await postBatch(s.app, batch({ seq: 1, ts: T0 }));
      await send(s.app, "POST", "/api/v1/thresholds", {
        metric: "heartbeatAgeSeconds",
        scope: { kind: "all" },
        upper: 60,
        holdSeconds: 0,
      }, AS_ADMIN);
      await evaluateAlerts(s.db, T0 + 70_000, { staleAfterMs: 30_000, retention: DEFAULT_RETENTION });
      await deliverDue(s.db, () => T0 + 71_000, TEST_NOTIFY, { random: () => 0 });
      const pending = await page("/alerts");
      expect(pending).toContain("<strong>team</strong>: 0 delivered · 1 pending");
      expect(pending).toContain("firing · heartbeat age above 60 s on node node-a");
      expect(pending).toMatch(/<td>pending<span class="sub">next try <time/);
      expect(pending).toContain("last: HTTP 503");
      await deliverDue(s.db, () => T0 + 73_000, TEST_NOTIFY, { random: () => 0 });
      const delivered = await page("/fragments/alerts");
      expect(delivered).toContain("<strong>team</strong>: 1 delivered");
      expect(delivered).toMatch(/<td>delivered<\/td><td>2<span class="sub">last: HTTP 200, \d+ ms<\/span>/);
    } finally {
      await rx.close();
    }
  });
});
