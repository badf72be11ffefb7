// SPDX-License-Identifier: Apache-2.0
/**
 * The pages of upper and lower limits: /thresholds (list, create and edit
 * forms through htmx with inline errors, delete) and /alerts, read back as
 * HTML; alerts made by posting batches and evaluating at pinned times.
 */
import { describe, expect, it } from "vitest";
import { evaluateAlerts } from "../control/alerts/evaluate.ts";
import { SESSION_COOKIE } from "../control/auth/access.ts";
import { DEFAULT_RETENTION } from "../control/monitoring/rollup.ts";
import {
  AS_ADMIN,
  batch,
  getJson,
  iface,
  postBatch,
  READ_TOKEN,
  send,
  T0,
  useTestApp,
} from "../control/test-support.ts";
import { ADMIN, HTMX, pageRequests } from "./pages.test-support.ts";

const s = useTestApp();

const { page, postForm } = pageRequests(s);

const FORM = {
  metric: "rxBytesPerSec",
  scopeKind: "node",
  target: "node-a",
  lower: "",
  upper: "5000",
  holdSeconds: "0",
  description: "busy",
  enabled: "true",
};

async function createThreshold(
  body: object = { metric: "rxBytesPerSec", scope: { kind: "all" }, upper: 5_000, holdSeconds: 0 },
) {
  const res = await send(s.app, "POST", "/api/v1/thresholds", body, AS_ADMIN);
  expect(res.status).toBe(201);
  return (await res.json()).id as string;
}

/** node-a at 10,000 B/s RX (received at T0 + 10.5 s), above an every-node upper limit of 5,000: fired at T0 + 11 s. */
async function firing() {
  await postBatch(s.app, batch({ seq: 1, ts: T0, interfaces: [iface({ rxBytes: 0 })] }));
  s.clock.now = T0 + 10_500;
  await postBatch(s.app, batch({ seq: 2, ts: T0 + 10_000, interfaces: [iface({ rxBytes: 100_000 })] }));
  const id = await createThreshold();
  await evaluateAlerts(s.db, T0 + 11_000, { staleAfterMs: 30_000, retention: DEFAULT_RETENTION });
  s.clock.now = T0 + 41_000;
  return id;
}

describe("/thresholds", () => {
  it("explains an empty list; without the admin token it is read-only", async () => {
    const html = await page("/thresholds");
    expect(html).toContain("No thresholds yet.");
    expect(html).not.toContain('id="threshold-form"');
    expect(html).toContain('<a href="/login?next=%2Fthresholds">log in</a>');
    await createThreshold();
    const list = await page("/thresholds", { cookie: `${SESSION_COOKIE}=${READ_TOKEN}` });
    expect(list).toContain("RX bytes/s");
    expect(list).not.toContain("delete");
  });

  it("lists thresholds with limits in human units and refreshes the list in place", async () => {
    await createThreshold({
      metric: "rxBytesPerSec",
      scope: { kind: "pod", target: "default/web" },
      upper: 1_048_576,
      lower: 1_024,
      holdSeconds: 30,
      description: "web",
    });
    const html = await page("/thresholds", ADMIN);
    expect(html).toMatch(
      /<div id="thresholds" hx-get="\/fragments\/thresholds" hx-trigger="every 5s" hx-swap="innerHTML">/,
    );
    expect(html).toContain(
      '<td>one pod<span class="sub">default/web</span></td><td>1.00 KiB/s</td><td>1.00 MiB/s</td><td>30 s</td>',
    );
    expect(html).toContain('<span class="state state-on">within limits</span>');
    expect(await page("/fragments/thresholds")).not.toContain("<html");
  });

  it("creates through the form: a blank form comes back with the list and a line saying what was made", async () => {
    const res = await postForm("/thresholds", FORM);
    const html = await res.text();
    expect(res.status, html).toBe(200);
    expect(res.headers.get("hx-push-url")).toBe("/thresholds");
    expect(html).toContain('<section class="panel" id="threshold-form"><h3>New threshold</h3>');
    expect(html).toContain('<div id="thresholds" hx-swap-oob="innerHTML">');
    expect(html).toContain("Created: RX bytes/s for node-a, alert when above 4.88 KiB/s for 0 s.");
    const [made] = (await getJson(s.app, "/api/v1/thresholds")).body;
    expect(made).toMatchObject({
      scope: { kind: "node", target: "node-a" },
      upper: 5_000,
      lower: null,
      holdSeconds: 0,
      description: "busy",
      enabled: true,
    });
  });

  it("offers the DNS metrics, shows latency in ms, and says why a p95 limit must stay below the last bound", async () => {
    const html = await page("/thresholds", ADMIN);
    expect(html).toContain('<option value="dnsNxdomainPerSec">DNS NXDOMAIN/s (/s)</option>');
    expect(html).toContain('<option value="dnsServfailPerSec">DNS SERVFAIL/s (/s)</option>');
    expect(html).toContain('<option value="dnsLatencyP95Ms">DNS latency p95 (ms)</option>');
    const made = await (await postForm("/thresholds", { ...FORM, metric: "dnsLatencyP95Ms", upper: "150" })).text();
    expect(made).toContain("Created: DNS latency p95 for node-a, alert when above 150 ms for 0 s.");
    const past = await (await postForm("/thresholds", { ...FORM, metric: "dnsLatencyP95Ms", upper: "3000" })).text();
    expect(past).toContain(
      '<span class="field-error" id="f-upper-error">must be below 2500 for dnsLatencyP95Ms: a value past 2500 reads as 2500</span>',
    );
  });

  it("422 with each error next to its field, and what was typed kept", async () => {
    const res = await postForm("/thresholds", { ...FORM, target: "", upper: "lots", holdSeconds: "1.5" });
    const html = await res.text();
    expect(res.status).toBe(422);
    expect(html).toContain(
      '<input name="upper" id="f-upper" value="lots" inputmode="decimal" aria-invalid="true" aria-describedby="f-upper-error"/><span class="field-error" id="f-upper-error">must be a number</span>',
    );
    expect(html).toContain('<span class="field-error" id="f-target-error">required</span>');
    expect(html).toContain('<span class="field-error" id="f-holdSeconds-error">must be whole seconds</span>');
    expect(html).not.toContain("hx-swap-oob");
    const both = await (await postForm("/thresholds", { ...FORM, lower: "6000" })).text();
    expect(both).toContain('<span class="field-error" id="f-lower-error">must be below the upper limit</span>');
    const heartbeat =
      await (await postForm("/thresholds", { ...FORM, metric: "heartbeatAgeSeconds", scopeKind: "all-pods" })).text();
    expect(heartbeat).toContain(
      '<span class="field-error" id="f-scopeKind-error">heartbeatAgeSeconds applies to nodes only (&quot;all&quot; or &quot;node&quot;)</span>',
    );
    const none = await (await postForm("/thresholds", { ...FORM, upper: "" })).text();
    expect(none).toContain(
      '<span class="field-error" id="f-upper-error">give an upper or a lower limit (or both)</span>',
    );
    expect((await getJson(s.app, "/api/v1/thresholds")).body).toEqual([]);
  });

  it("edits: ?edit=ID fills the form, which saves to that threshold; unticked means switched off", async () => {
    const id = await createThreshold();
    const html = await page(`/thresholds?edit=${id}`, ADMIN);
    expect(html).toContain(`<form class="threshold-form" hx-post="/thresholds/${id}"`);
    expect(html).toContain('<option value="all" selected="">every node</option>');
    expect(html).toContain('<input name="upper" id="f-upper" value="5000" inputmode="decimal"/>');
    const { enabled: _, ...unticked } = FORM;
    const res = await postForm(`/thresholds/${id}`, { ...unticked, upper: "7000" });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(
      "Saved: RX bytes/s for node-a, alert when above 6.84 KiB/s for 0 s (switched off).",
    );
    expect((await getJson(s.app, `/api/v1/thresholds/${id}`)).body).toMatchObject({
      upper: 7_000,
      enabled: false,
      scope: { kind: "node", target: "node-a" },
    });
    // An edit with an error stays an edit.
    const bad = await (await postForm(`/thresholds/${id}`, { ...FORM, upper: "x" })).text();
    expect(bad).toContain(`hx-post="/thresholds/${id}"`);
    expect(await page("/thresholds?edit=0123456789abcdef", ADMIN, 404)).toContain(
      "No threshold has the id 0123456789abcdef",
    );
  });

  it("deletes after asking, and says so", async () => {
    const id = await createThreshold();
    const html = await page("/thresholds", ADMIN);
    expect(html).toContain(
      `hx-post="/thresholds/${id}/delete" hx-target="#thresholds" hx-swap="innerHTML" hx-confirm="Delete the threshold on RX bytes/s for every node?`,
    );
    const res = await postForm(`/thresholds/${id}/delete`, {});
    const body = await res.text();
    expect(res.status).toBe(200);
    expect(body).toContain("No thresholds yet.");
    expect(body).toContain("Deleted: RX bytes/s for every node");
    expect((await postForm(`/thresholds/${id}/delete`, {})).status).toBe(404);
  });

  it("refuses writes: not logged in (to /login), the read token (403), a cookie write from another site (403)", async () => {
    const anonymous = await postForm("/thresholds", FORM, HTMX);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("hx-redirect")).toBe("/login?next=%2Fthresholds");
    const reader = await postForm("/thresholds", FORM, { cookie: `${SESSION_COOKIE}=${READ_TOKEN}`, ...HTMX });
    expect(reader.status).toBe(403);
    expect(await reader.text()).toBe("this needs the admin token, not the read token");
    expect((await postForm("/thresholds", FORM, { ...ADMIN, origin: "http://evil.test" })).status).toBe(403);
    expect((await getJson(s.app, "/api/v1/thresholds")).body).toEqual([]);
  });
});

describe("/alerts", () => {
  it("shows active alerts with the reading and the limit crossed, refreshed in place, then the history", async () => {
    await firing();
    const html = await page("/alerts");
    expect(html).toMatch(/<div id="alerts" hx-get="\/fragments\/alerts" hx-trigger="every 5s" hx-swap="innerHTML">/);
    expect(html).toContain(
      '<tr class="alert-active"><td><a href="/nodes/node-a">node-a</a><span class="sub">node</span></td>',
    );
    expect(html).toContain("RX bytes/s <strong>9.77 KiB/s</strong>, above 4.88 KiB/s");
    expect(html).toContain("30 s ago"); // fired at T0 + 11 s, shown at T0 + 41 s
    expect(html).toContain("No alert has resolved yet.");

    s.clock.now = T0 + 20_500;
    await postBatch(s.app, batch({ seq: 3, ts: T0 + 20_000, interfaces: [iface({ rxBytes: 110_000 })] }));
    await evaluateAlerts(s.db, T0 + 21_000, { staleAfterMs: 30_000, retention: DEFAULT_RETENTION });
    s.clock.now = T0 + 41_000;
    const after = await page("/fragments/alerts");
    expect(after).not.toContain("<html");
    expect(after).toContain("Nothing is out of its limits: no alert is active.");
    expect(after).toContain("back within the limits");
  });

  it("?node= narrows to a node; a bad name is a 400 in words", async () => {
    await firing();
    expect(await page("/alerts?node=node-a")).toContain(
      '<a href="/nodes/node-a">node-a</a><span class="sub">node</span>',
    );
    expect(await page("/alerts?node=node-b")).toContain("no alert is active");
    expect(await page("/alerts?node=Bad_Name", {}, 400)).toContain("The parameter &#39;node&#39; must be a node name");
  });
});

describe("alerts on the overview and the node page", () => {
  it("the overview: a banner naming each active alert and a count beside the node's status, both refreshed in place", async () => {
    await firing();
    for (const html of [await page("/"), await page("/fragments/nodes")]) {
      expect(html).toContain(
        '<section class="alert-banner" role="alert"><strong>1 active alert</strong> · <a href="/alerts">all alerts</a>',
      );
      expect(html).toContain(
        '<li><a href="/nodes/node-a">node-a</a>: RX bytes/s <strong>9.77 KiB/s</strong>, above 4.88 KiB/s · fired 30 s ago</li>',
      );
      expect(html).toContain(
        '<a class="alert-count" href="/alerts?node=node-a" title="active alerts on this node and its pods">1 alert</a>',
      );
    }
  });

  it("the overview says when nothing is firing", async () => {
    await postBatch(s.app, batch());
    const html = await page("/");
    expect(html).toContain("No active alerts.");
    expect(html).not.toContain('class="alert-count"');
  });

  it("the node page lists the node's active alerts in its live status region, with a link to its history", async () => {
    await firing();
    const html = await page("/nodes/node-a");
    expect(html).toContain(
      '<section class="panel" id="node-alerts"><h3>Active alerts<span class="meta"><a href="/alerts?node=node-a">history</a></span></h3>',
    );
    expect(html).toContain("RX bytes/s <strong>9.77 KiB/s</strong>, above 4.88 KiB/s");
    expect(await page("/fragments/nodes/node-a")).toContain('id="node-alerts"');
    s.clock.now = T0 + 10_500;
    await postBatch(s.app, batch({ node: "node-b", interfaces: [iface({ rxBytes: 0 })] }));
    s.clock.now = T0 + 41_000;
    expect(await page("/nodes/node-b")).toContain("Nothing on node-b or its pods is out of its limits.");
  });
});
