// SPDX-License-Identifier: Apache-2.0
/** The API reference page: every documented operation, grouped, from the document /api/v1/openapi.json serves. */
import { describe, expect, it } from "vitest";
import { useTestApp } from "../control/test-support.ts";
import { pageRequests } from "./pages.test-support.ts";
import { typeOf } from "./pages/api.tsx";

const s = useTestApp();
const { page } = pageRequests(s);

describe("GET /api", () => {
  it("lists every operation of the document under its group, with its parameters and answers", async () => {
    const doc = await (await s.app.request("/api/v1/openapi.json")).json();
    const html = await page("/api");
    const ops = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>)
      .flatMap((item) => Object.values(item));
    expect(ops.length).toBeGreaterThan(40);
    for (const op of ops) expect(html).toContain(`<tr id="${op.operationId}">`);
    for (const { name } of doc.tags) expect(html).toContain(`<h3>${name}<span class="meta">`);
    // One row in full: a path parameter, a query parameter, and the answers with the error statuses.
    const row = html.slice(
      html.indexOf('<tr id="getNodesNodeSeries">'),
      html.indexOf("</tr>", html.indexOf("getNodesNodeSeries")),
    );
    expect(row).toContain("<code>/api/v1/nodes/{node}/series</code>");
    expect(row).toContain('<code>node</code> <span class="muted">(path, required)</span>');
    expect(row).toContain('<code>since</code> <span class="muted">(query)</span>');
    for (const status of [200, 400, 401, 404, 500, 503]) expect(row).toContain(`<code>${status}</code>`);
    expect(html).toContain('<a href="/api/v1/openapi.json">');
    // Rendered here, nothing fetched from elsewhere (no CDN): every script, style and link is this server's.
    expect(html.match(/(?:src|href)="(?:[a-z]+:)?\/\/[^"]*"/g) ?? []).toEqual([]);
    expect(row).toContain('The points, oldest first<span class="muted">: SeriesAnswer</span>');
    // Every named schema, with its members.
    for (const name of Object.keys(doc.components.schemas)) expect(html).toContain(`id="schema-${name}"`);
    const summary = html.slice(
      html.indexOf('id="schema-NodeSummary"'),
      html.indexOf("</section>", html.indexOf('id="schema-NodeSummary"')),
    );
    expect(summary).toContain(
      "<code>status</code></td><td>&quot;Ready&quot; | &quot;Stale&quot; | &quot;Lost&quot;</td>",
    );
    expect(summary).toContain("<code>agentVersion</code></td><td>string | null</td>");
    expect(summary).toContain("<code>lastSeen</code></td><td>string (date-time)</td>");
  });

  it("is open like the document, and linked from every page's sections", async () => {
    s.rebuild({ settings: { readAuth: "token" } });
    expect(await page("/api")).toContain('<a href="/api" aria-current="page">API</a>');
    expect(await page("/login")).toContain('<a href="/api">API</a>');
  });

  it("says a parameter's type in a few words", () => {
    expect(typeOf({ type: "string", enum: ["asc", "desc"] })).toBe('"asc" | "desc"');
    expect(typeOf({ type: "string", pattern: "^\\d+$" })).toBe("string (pattern ^\\d+$)");
    expect(typeOf({ type: "array", items: { type: "integer" } })).toBe("array of integer");
    expect(typeOf({})).toBe("any");
    expect(typeOf({ type: ["string", "null"] })).toBe("string | null");
    expect(typeOf({ type: "string", format: "date-time", pattern: "^…$" })).toBe("string (date-time)");
    expect(typeOf({ type: "array", items: { $ref: "#/components/schemas/Flow" } })).toBe("array of Flow");
  });
});
