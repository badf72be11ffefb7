// SPDX-License-Identifier: Apache-2.0
/**
 * The /flows page and its fragment over real libSQL, batches posted through
 * /api/v1/ingest (control/routes/flow-explorer.test-support.ts): the rows in
 * order with their verdicts and links, the filter form, sortable headers,
 * the pager, the URL pushed on a change but not on a poll, the navigation
 * entry, and 400s in words.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { BY_BYTES, ECHO, explorerBatches, VERDICTS } from "../control/routes/flow-explorer.test-support.ts";
import { post } from "../control/monitoring/scenario.test-support.ts";
import { AS_ADMIN, send, T0, useTestApp } from "../control/test-support.ts";
import { HTMX, pageRequests } from "./pages.test-support.ts";

const s = useTestApp();
const { page } = pageRequests(s);

beforeEach(async () => {
  expect((await send(s.app, "POST", "/api/v1/services", ECHO, AS_ADMIN)).status).toBe(201);
  for (const b of explorerBatches(T0)) await post(s, b);
  s.clock.now = T0 + 90_000;
});

/** The verdict of each row, in order. */
const verdicts = (html: string) => [...html.matchAll(/<tr[^>]*data-verdict="(\w+)"/g)].map((m) => m[1]);
const text = (html: string) =>
  html.replace(/<[^>]+>/g, " ").replace(/&amp;/g, "&").replace(/&#39;/g, "'").replace(/\s+/g, " ");

describe("the /flows page", () => {
  it("lists every flow, most bytes first, with verdict badges, pod and service links, and is in the navigation", async () => {
    const html = await page("/flows");
    expect(verdicts(html)).toEqual(BY_BYTES.map((l) => VERDICTS[l]));
    expect(html).toContain('<a href="/flows" aria-current="page">Flows</a>');
    expect(html).toContain('<a href="/pods/default/web">default/web</a>');
    expect(html).toContain('<a href="/services/demo/echo">demo/echo</a>');
    expect(html).toContain('<span class="verdict verdict-timed_out"');
    expect(text(html)).toContain("8 flows 9.69 KiB · 54 packets");
    expect(text(html)).toContain("1–8 of 8");
    // the table body a live stream appends to, and the polling results
    expect(html).toContain('<tbody id="flow-rows">');
    expect(html).toMatch(
      /id="flow-results" hx-get="\/fragments\/flows" hx-trigger="every 5s \[document.visibilityState/,
    );
    // no per-flow drop verdict, and the page says why
    expect(text(html)).toContain("Drops are counted per pod and reason, not per flow");
  });

  it("filters by the form's fields; the form keeps them, a filter matching nothing says so", async () => {
    const failing = await page("/flows?failures=true");
    expect(verdicts(failing)).toEqual(BY_BYTES.map((l) => VERDICTS[l]).filter((v) => v !== "ok"));
    expect(failing).toMatch(/<input type="checkbox" name="failures" value="true" checked/);
    const echo = await page("/flows?service=demo%2Fecho&protocol=tcp");
    expect(verdicts(echo)).toEqual(["timed_out"]);
    expect(echo).toContain('name="service" value="demo/echo"');
    expect(echo).toContain('<option value="tcp" selected="">TCP</option>');
    const none = await page("/flows?pod=default/ghost");
    expect(verdicts(none)).toEqual([]);
    expect(text(none)).toContain("No flow matches these filters in this window.");
  });

  it("sorts by its headers and pages with previous and next, keeping the filters", async () => {
    const html = await page("/flows?namespace=default&limit=3&offset=3");
    // every flow but 192.168.1.60 → data/db touches the namespace
    const inDefault = BY_BYTES.filter((l) => !l.startsWith("192.168.1.60"));
    expect(text(html)).toContain("4–6 of 7");
    expect(verdicts(html)).toEqual(inDefault.slice(3, 6).map((l) => VERDICTS[l]));
    expect(html).toContain(
      'href="/flows?namespace=default&amp;limit=3" hx-get="/fragments/flows?namespace=default&amp;limit=3"',
    );
    expect(html).toContain('href="/flows?namespace=default&amp;limit=3&amp;offset=6"');
    // bytes is the active sort (descending); its header flips it, another starts descending, both from the first page
    expect(html).toMatch(
      /<th aria-sort="descending">Total <a href="\/flows\?namespace=default&amp;sort=bytes&amp;order=asc&amp;limit=3"/,
    );
    expect(html).toContain('href="/flows?namespace=default&amp;sort=first_seen&amp;order=desc&amp;limit=3"');
    const asc = await page("/flows?sort=bytes&order=asc");
    // the smallest first; equal bytes still by key (1.1.1.1:53 before data/db:9000)
    expect(verdicts(asc)).toEqual(["ok", "failed", "timed_out", "no_reply", "reset", "ok", "ok", "refused"]);
    expect(asc).toContain('<th aria-sort="ascending">Total ');
  });

  it("the fragment pushes the page's URL on a change, not on its own poll", async () => {
    const res = await s.app.request("http://control.test/fragments/flows?failures=true&port=", { headers: HTMX });
    expect(res.status).toBe(200);
    expect(res.headers.get("hx-push-url")).toBe("/flows?failures=true");
    const body = await res.text();
    expect(body.startsWith('<section class="panel" id="flow-results"')).toBe(true);
    expect(verdicts(body)).toHaveLength(5);
    const poll = await s.app.request("http://control.test/fragments/flows?failures=true", {
      headers: { ...HTMX, "hx-trigger": "flow-results" },
    });
    expect(poll.headers.get("hx-push-url")).toBeNull();
  });

  it("a bad parameter is a 400 page in words (the fragment: the words alone)", async () => {
    expect(text(await page("/flows?sort=size", {}, 400))).toContain(
      "The parameter 'sort' must be one of bytes, packets, first_seen, last_seen.",
    );
    expect(text(await page("/flows?port=http", {}, 400))).toContain("The parameter 'port' must be a whole number");
    const res = await s.app.request("http://control.test/fragments/flows?protocol=tcpx", { headers: HTMX });
    expect(res.status).toBe(400);
    expect(text(await res.text())).toContain("The parameter 'protocol' must be");
  });
});
