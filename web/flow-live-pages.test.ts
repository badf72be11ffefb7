// SPDX-License-Identifier: Apache-2.0
/**
 * The /flows page's live mode over real libSQL, batches posted through /api/v1/ingest: the "Follow live"
 * button and htmx's SSE extension on the page, the live table fragment connected to the stream with the page's
 * filters, the stream's events carrying FlowTableRow HTML, 400s in words.
 */
import { describe, expect, it } from "vitest";
import { bodyReader } from "../control/flows-stream/lines.test-support.ts";
import { flow } from "../control/monitoring/fixtures.test-support.ts";
import { CACHE, post, report, WEB } from "../control/monitoring/scenario.test-support.ts";
import { T0, useTestApp } from "../control/test-support.ts";
import { pageRequests } from "./pages.test-support.ts";

const s = useTestApp();
const { page } = pageRequests(s);

describe("the /flows page's live mode", () => {
  it("offers a Follow live button and loads htmx's SSE extension from its package", async () => {
    const html = await page("/flows?namespace=default&since=1h&sort=packets");
    expect(html).toContain('<script src="/assets/htmx-ext-sse.min.js" defer=""></script>');
    expect(html).toMatch(
      /<button type="button" id="flow-live-start" hx-get="\/fragments\/flows\/live\?namespace=default&amp;sort=packets&amp;since=1h" hx-target="#flow-results" hx-swap="outerHTML"/,
    );
    const asset = await s.app.request("/assets/htmx-ext-sse.min.js");
    expect(asset.status).toBe(200);
    expect(await asset.text()).toContain('defineExtension("sse"');
  });

  it("swaps in a table connected to the stream with the filters only; Stop goes back to the explorer", async () => {
    const html = await page("/fragments/flows/live?namespace=default&port=80&since=1h&sort=packets");
    expect(html).toMatch(
      /<section class="panel live" id="flow-results" hx-ext="sse" sse-connect="\/flows\/live\?namespace=default&amp;port=80">/,
    );
    expect(html).toContain('sse-swap="flow" hx-target="#flow-rows" hx-swap="afterbegin" hx-on--sse-message=');
    expect(html).toContain('<tbody id="flow-rows"></tbody>');
    expect(html).toMatch(
      /id="flow-live-stop" hx-get="\/fragments\/flows\?namespace=default&amp;port=80&amp;sort=packets&amp;since=1h"/,
    );
  });

  it("streams each row as a table row's HTML, id the sequence", async () => {
    await post(s, { node: "node-a", seq: 1, ts: T0, pods: [report(WEB, 1), report(CACHE, 1)] });
    const res = await s.app.request("/flows/live?pod=default/cache");
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const events = bodyReader(res.body);
    await post(s, {
      node: "node-a",
      seq: 2,
      ts: T0 + 10_000,
      flows: [
        flow({ dst: "1.1.1.1", port: 53, proto: 17 }),
        flow({ dst: "10.0.1.3", port: 6379, packets: 3, bytes: 300, tcpFlags: 0x02 }),
      ],
    });
    await events.until((t) => t.endsWith("\n\n"));
    const [head, id, ...data] = events.text.trimEnd().split("\n");
    expect(head).toBe("event: flow");
    expect(id).toMatch(/^id: [12]$/); // one of the batch's two rows
    const row = data.map((l) => l.replace(/^data: /, "")).join("\n");
    // web → cache, a SYN with no packet back on the same node: no reply.
    expect(row).toMatch(/^<tr class="failing" data-verdict="no_reply">/);
    expect(row).toContain('<a href="/pods/default/web">default/web</a>');
    expect(row).toContain('<a href="/pods/default/cache">default/cache</a>');
    await events.cancel();
  });

  it("answers a bad filter with 400 in words", async () => {
    const res = await s.app.request("/flows/live?port=http");
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/^port: must be a whole number/);
    const fragment = await s.app.request("/fragments/flows/live?protocol=gre");
    expect(fragment.status).toBe(400);
    expect(await fragment.text()).toContain("protocol: must be");
  });
});
