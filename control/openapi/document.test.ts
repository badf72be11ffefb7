// SPDX-License-Identifier: Apache-2.0
/**
 * The document served at /api/v1/openapi.json is valid OpenAPI 3.1 (the
 * OpenAPI Initiative's schema, through @seriousme/openapi-schema-validator,
 * offline), and every error it documents has the API's error shape.
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { useTestApp } from "../test-support.ts";
import { Conformance } from "./conformance.test-support.ts";

const s = useTestApp();

async function served(): Promise<Record<string, unknown>> {
  const res = await s.app.request("/api/v1/openapi.json");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return res.json();
}

type Responses = Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
const operationsOf = (doc: Record<string, unknown>) =>
  Object.entries(doc.paths as Record<string, Record<string, { operationId: string; responses: Responses }>>)
    .flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, ...op })));

// Compiling the OpenAPI schema and the document's takes a second or more on a busy machine.
describe("GET /api/v1/openapi.json", { timeout: 60_000 }, () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const validator = new Validator();
    const result = await validator.validate(await served());
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("is told apart from an invalid one (the validator is not a no-op)", async () => {
    const doc = await served();
    const broken = { ...doc, paths: { "/x": { get: { responses: { 200: { content: "none" } } } } } };
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it("refers only to components it has, and has no component nothing refers to", async () => {
    const doc = await served();
    const text = JSON.stringify(doc);
    const refs = new Set([...text.matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1]!));
    const names = Object.keys((doc.components as { schemas: object }).schemas);
    expect(refs.size).toBeGreaterThan(40);
    expect([...refs].filter((r) => !names.includes(r))).toEqual([]);
    expect(names.filter((n) => !refs.has(n))).toEqual([]);
    expect(text).not.toContain("#/$defs/");
  });

  it("names each operation uniquely", async () => {
    const ids = operationsOf(await served()).map((op) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("documents every error, 400 to 503, with the error shape: a string `error` at least", async () => {
    const doc = await served();
    const check = new Conformance(doc);
    let errors = 0;
    for (const op of operationsOf(doc)) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        const schema = response.content?.["application/json"]?.schema;
        expect(schema, `${op.method} ${op.path} ${status}`).toBeDefined();
        for (const bad of [{}, { error: 1 }, []]) {
          expect(() => check.expectValid(schema!, bad, "")).toThrow();
        }
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(100);
  });
});
