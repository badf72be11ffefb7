// SPDX-License-Identifier: Apache-2.0
/** The acceleration page: empty state, rules with counters from batches, the add form (422 with errors next to the fields), delete, refusals. */
import { describe, expect, it } from "vitest";
import { createRule } from "../control/accel/rules.ts";
import { batch, bearer, credentialFor, postBatch, T0, useTestApp } from "../control/test-support.ts";
import { ADMIN, HTMX, pageRequests } from "./pages.test-support.ts";

const s = useTestApp();
const { page, postForm } = pageRequests(s);

describe("/accel", () => {
  it("explains an empty list in words; without the admin token there is no form", async () => {
    const html = await page("/accel");
    expect(html).toContain("No acceleration rules.");
    expect(html).not.toContain('id="accel-form"');
    expect(html).toContain('<a href="/login?next=%2Faccel">log in</a>');
    expect(html).toContain('<a href="/accel" aria-current="page">Acceleration</a>');
    expect(html).toContain('hx-get="/fragments/accel"');
  });

  it("lists each rule with what it accelerated over the hour, summed over nodes", async () => {
    await createRule(s.db, { kind: "service", namespace: "default", name: "redis", description: "cache" }, T0);
    await createRule(s.db, { kind: "pods", namespace: "ingress", selector: { app: "nginx" } }, T0);
    const { version } =
      await (await s.app.request("/api/v1/lb/state", { headers: bearer(await credentialFor(s.app, "node-a")) })).json();
    await postBatch(
      s.app,
      batch({ node: "node-a", ts: T0 + 1000, accel: { version, rules: [[1, 12, 3 * 1024 * 1024], [2, 1, 2048]] } }),
    );
    await postBatch(s.app, batch({ node: "node-b", ts: T0 + 1000, accel: { version, rules: [[1, 3, 1024 * 1024]] } }));
    const html = await page("/fragments/accel");
    expect(html).toContain("2 rules");
    expect(html).toMatch(
      /<tr id="accel-rule-1"><td>1<\/td><td>service default\/redis \(every port\)<\/td><td>cache<\/td><td>15<\/td><td>4.00 MiB<\/td>/,
    );
    expect(html).toMatch(
      /<tr id="accel-rule-2"><td>2<\/td><td>pods in ingress with app=nginx<\/td><td><\/td><td>1<\/td><td>2.00 KiB<\/td>/,
    );
    expect(html).not.toContain("delete");
    expect(await page("/fragments/accel", ADMIN)).toContain('hx-post="/accel/1/delete"');
  });

  it("the admin adds a rule through the form; errors come back next to the fields (422); delete removes it", async () => {
    const bad = await postForm("/accel", {
      kind: "pods",
      namespace: "default",
      name: "",
      portName: "",
      selector: "",
      description: "",
    });
    expect(bad.status).toBe(422);
    const badHtml = await bad.text();
    expect(badHtml).toContain('id="accel-form"');
    expect(badHtml).toMatch(/name="selector"[^>]*aria-invalid="true"/);
    const ok = await postForm("/accel", {
      kind: "service",
      namespace: "default",
      name: "redis",
      portName: "-",
      selector: "",
      description: "",
    });
    expect(ok.status).toBe(200);
    const okHtml = await ok.text();
    expect(okHtml).toContain("Added rule 1: service default/redis port (unnamed).");
    const api = await (await s.app.request("/api/v1/accel/rules/1")).json();
    expect(api.rule).toEqual({ id: 1, kind: "service", namespace: "default", name: "redis", portName: "" });
    const del = await postForm("/accel/1/delete", {});
    expect(await del.text()).toContain("Deleted rule 1");
    expect((await s.app.request("/api/v1/accel/rules/1")).status).toBe(404);
    const again = await postForm("/accel/1/delete", {});
    expect(again.status).toBe(404);
  });

  it("refuses the form without the admin token", async () => {
    const res = await postForm("/accel", {
      kind: "service",
      namespace: "default",
      name: "redis",
      portName: "",
      selector: "",
      description: "",
    }, { ...HTMX });
    expect([401, 403]).toContain(res.status);
  });
});
