// SPDX-License-Identifier: Apache-2.0
/**
 * The /services list's filters and pages (control/queries/service-list.ts):
 * by namespace, name and state, 100 rows a page with previous and next
 * links that keep the filters and the window, the live region polling the
 * same view, and a form's answer keeping the view it was posted from.
 */
import { describe, expect, it } from "vitest";
import { backends, service } from "../control/services/fixtures.test-support.ts";
import { syncServices } from "../control/services/model.ts";
import { T0, useTestApp } from "../control/test-support.ts";
import type { ServiceInput } from "../control/wire/services.ts";
import { ADMIN, HTMX, pageRequests, SERVICE_FORM } from "./pages.test-support.ts";

const s = useTestApp();
const { page, postForm } = pageRequests(s);

/** shop/web (serving), shop/cart (degraded: one backend terminating), ops/probe (down: no backends). */
const MIXED: ServiceInput[] = [
  service("web", "10.96.0.10", { namespace: "shop", backends: backends("10.244.1.1", "10.244.1.2") }),
  service("cart", "10.96.0.11", {
    namespace: "shop",
    backends: backends("10.244.1.3", { ip: "10.244.1.4", state: "terminating" }),
  }),
  service("probe", "10.96.0.12", { namespace: "ops" }),
];

/** bulk/s000 … bulk/s249, each with one active backend. */
const BULK = Array.from(
  { length: 250 },
  (_, i) =>
    service(`s${String(i).padStart(3, "0")}`, `10.97.${Math.floor(i / 200)}.${(i % 200) + 1}`, {
      namespace: "bulk",
      backends: backends(`10.245.${Math.floor(i / 200)}.${(i % 200) + 1}`),
    }),
);

/** The services a page lists, as namespace/name, in order. */
const listed = (html: string) =>
  [...html.matchAll(/<a href="\/services\/([a-z0-9-]+)\/([a-z0-9-]+)\?since=[^"]*">/g)].map((m) => `${m[1]}/${m[2]}`);

describe("/services filters", () => {
  it("by namespace, by a piece of the name (any case) and by state, kept in the form and the live region", async () => {
    await syncServices(s.db, "kubernetes", MIXED, T0);
    expect(listed(await page("/services"))).toEqual(["ops/probe", "shop/cart", "shop/web"]);
    const shop = await page("/services?namespace=shop");
    expect(listed(shop)).toEqual(["shop/cart", "shop/web"]);
    expect(shop).toContain('<input type="text" name="namespace" value="shop" placeholder="namespace"');
    expect(shop).toContain('hx-get="/fragments/services?since=1h&amp;namespace=shop"');
    // the filter works without script (a GET of the page) and with htmx (the list's region swapped, URL pushed)
    expect(shop).toContain(
      '<form method="get" action="/services" class="filter" hx-get="/services" hx-select="#services" ' +
        'hx-target="#services" hx-swap="outerHTML" hx-push-url="true">',
    );
    // the window links keep the filter
    expect(shop).toContain('href="/services?since=24h&amp;namespace=shop"');

    expect(listed(await page("/fragments/services?q=CAR"))).toEqual(["shop/cart"]);
    expect(listed(await page("/fragments/services?q=shop/"))).toEqual(["shop/cart", "shop/web"]);
    expect(listed(await page("/fragments/services?state=serving"))).toEqual(["shop/web"]);
    expect(listed(await page("/fragments/services?state=degraded"))).toEqual(["shop/cart"]);
    const down = await page("/services?state=down");
    expect(listed(down)).toEqual(["ops/probe"]);
    expect(down).toContain('<option value="down" selected="">down</option>');
    // an unknown state is no filter
    expect(listed(await page("/fragments/services?state=sleeping"))).toHaveLength(3);

    const none = await page("/services?namespace=nowhere");
    expect(none).toContain("No service matches this filter.");
    expect(none).not.toContain("No services yet.");
  });
});

describe("/services pages", () => {
  it("100 rows a page, previous and next keeping the filters and the window; past the end, the last page", async () => {
    await syncServices(s.db, "kubernetes", [...MIXED, ...BULK], T0);
    const first = await page("/services?since=24h&namespace=bulk");
    expect(listed(first)).toEqual(BULK.slice(0, 100).map((b) => `bulk/${b.name}`));
    expect(first).toContain("250 services");
    expect(first).toContain('<span class="meta pager-count">1–100 of 250</span>');
    expect(first).toContain('<span class="meta">← previous</span>');
    expect(first).toContain(
      '<a href="/services?since=24h&amp;namespace=bulk&amp;offset=100" rel="next" ' +
        'hx-get="/services?since=24h&amp;namespace=bulk&amp;offset=100" hx-select="#services"',
    );

    const third = await page("/services?since=24h&namespace=bulk&offset=200");
    expect(listed(third)).toEqual(BULK.slice(200).map((b) => `bulk/${b.name}`));
    expect(third).toContain('<span class="meta pager-count">201–250 of 250</span>');
    expect(third).toContain('href="/services?since=24h&amp;namespace=bulk&amp;offset=100" rel="prev"');
    expect(third).toContain('<span class="meta">next →</span>');
    expect(third).toContain('hx-get="/fragments/services?since=24h&amp;namespace=bulk&amp;offset=200"');

    expect(listed(await page("/fragments/services?namespace=bulk&offset=5000"))).toHaveLength(50);
    // every service, on three pages: 253
    expect(await page("/services")).toContain('<span class="meta pager-count">1–100 of 253</span>');
  });

  it("a form's answer lists the page it was posted from", async () => {
    await syncServices(s.db, "kubernetes", [...MIXED, ...BULK], T0);
    const res = await postForm("/services", SERVICE_FORM, {
      ...ADMIN,
      ...HTMX,
      "hx-current-url": "http://control.test/services?namespace=bulk&offset=100",
    });
    const html = await res.text();
    expect(res.status, html).toBe(200);
    expect(listed(html)).toEqual(BULK.slice(100, 200).map((b) => `bulk/${b.name}`));
    expect(html).toContain('<span class="meta pager-count">101–200 of 250</span>');
  });
});
