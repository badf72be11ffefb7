// SPDX-License-Identifier: Apache-2.0
/** The overview page, the fragment htmx polls, and the local assets. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { batch, BOOT_A, iface, postBatch, T0, useTestApp } from "../control/test-support.ts";

const s = useTestApp();

async function html(path: string) {
  const res = await s.app.request(`http://control.test:8080${path}`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/html/);
  return res.text();
}

async function reportTraffic() {
  const counters = { rxPackets: 1_000, rxBytes: 1_048_576, txPackets: 10, txBytes: 2_048, drops: 3 };
  await postBatch(s.app, batch({ seq: 1, ts: T0, interfaces: [iface(counters)] }));
  await postBatch(
    s.app,
    batch({
      seq: 2,
      ts: T0 + 2_000,
      interfaces: [
        iface({ rxPackets: 5_000, rxBytes: 1_048_576 + 4 * 1_048_576, txPackets: 30, txBytes: 4_096, drops: 3 }),
      ],
    }),
  );
  s.clock.now += 5_000;
}

describe("GET /", () => {
  it("explains the empty state and how to start an agent", async () => {
    const page = await html("/");
    expect(page.startsWith("<!doctype html>")).toBe(true);
    expect(page).toContain("No agent has reported yet.");
    expect(page).toContain("deno task agent --control http://control.test:8080 --node NAME --interfaces IF");
  });

  it("loads htmx and the stylesheet from this server, and polls the fragment every 2 s", async () => {
    const page = await html("/");
    expect(page).toContain('<script src="/assets/htmx.min.js"');
    expect(page).toContain('<link rel="stylesheet" href="/assets/style.css"/>');
    expect(page).not.toMatch(/https?:\/\/(?!control\.test)/); // no CDN
    expect(page).toMatch(/<div id="nodes" hx-get="\/fragments\/nodes" hx-trigger="every 2s" hx-swap="innerHTML">/);
  });

  it("shows nodes, rates in human units and last seen", async () => {
    await reportTraffic();
    const page = await html("/");
    expect(page).not.toContain("No agent has reported yet.");
    expect(page).toContain('<a href="/nodes/node-a">node-a</a>');
    expect(page).toContain(BOOT_A.slice(0, 8));
    expect(page).toContain("2.00 MiB/s"); // 4 MiB over 2 s
    expect(page).toContain("2.00 kpps"); // 4000 packets over 2 s
    expect(page).toContain("1.00 KiB/s");
    expect(page).toContain("10 pps");
    expect(page).toContain("last seen 5 s ago");
  });
});

describe("GET /fragments/nodes", () => {
  it("is the node list alone, for htmx to swap in", async () => {
    await reportTraffic();
    const fragment = await html("/fragments/nodes");
    expect(fragment).not.toContain("<html");
    expect(fragment).toContain('<table class="nodes">');
    expect(fragment).toContain("2.00 MiB/s");
  });

  it("shows a dash for rates until a second report", async () => {
    await postBatch(s.app, batch());
    const fragment = await html("/fragments/nodes");
    expect(fragment).toContain('<td class="na" title="rate known after the next report">—</td>');
    // Nor in the totals: no interface knows a rate yet, which is not zero.
    expect(fragment).toContain('<th>RX now</th><td class="na" title="rate known after the next report">—</td>');
  });

  it("has the empty state too", async () => {
    expect(await html("/fragments/nodes")).toContain("No agent has reported yet.");
  });
});

describe("assets", () => {
  it("serves htmx from node_modules as JavaScript, with an ETag", async () => {
    const res = await s.app.request("/assets/htmx.min.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    const body = await res.text();
    expect(body).toBe(readFileSync(new URL("../node_modules/htmx.org/dist/htmx.min.js", import.meta.url), "utf8"));
    expect(body).toContain("htmx");

    const etag = res.headers.get("etag")!;
    expect(etag).toBeTruthy();
    const again = await s.app.request("/assets/htmx.min.js", { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
  });

  it("serves the stylesheet", async () => {
    const res = await s.app.request("/assets/style.css");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/css; charset=utf-8");
  });

  it("serves the icon the pages link, and the same at /favicon.ico, which browsers ask for on their own", async () => {
    expect(await html("/")).toContain('<link rel="icon" type="image/svg+xml" href="/assets/icon.svg"/>');
    const svg = readFileSync(new URL("./assets/icon.svg", import.meta.url), "utf8");
    for (const path of ["/assets/icon.svg", "/favicon.ico"]) {
      const res = await s.app.request(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type"), path).toBe("image/svg+xml; charset=utf-8");
      expect(res.headers.get("etag"), path).toBeTruthy();
      expect(await res.text(), path).toBe(svg);
    }
  });

  it("404 for anything else", async () => {
    expect((await s.app.request("/assets/nope.js")).status).toBe(404);
    expect((await s.app.request("/assets/..%2Fpackage.json")).status).toBe(404);
  });
});
