// SPDX-License-Identifier: Apache-2.0
/**
 * Checks real answers against the OpenAPI document as published (the JSON
 * Schema that GET /api/v1/openapi.json serves, not the zod schemas it was
 * made from): the status must be documented for the operation, a JSON body
 * must validate against that status's schema (Ajv, JSON Schema 2020-12,
 * OpenAPI 3.1's dialect), another body must be of a documented media type.
 * Records which statuses each operation answered, for the coverage check.
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { expect } from "vitest";

type Json = Record<string, unknown>;
interface MediaType {
  schema?: Json;
  "x-line-schema"?: Json;
}
interface DocOperation {
  responses: Record<string, { content?: Record<string, MediaType> }>;
}

// ajv-formats is CommonJS: its function is the default export under Node, `.default` under a bundler.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv2020,
) => void;

export class Conformance {
  readonly #ajv = new Ajv2020({ strict: true, allErrors: true });
  readonly #compiled = new Map<Json, ValidateFunction>();
  readonly #templates: { method: string; template: string; pattern: RegExp; op: DocOperation }[] = [];
  /** `METHOD /template` → statuses answered. */
  readonly seen = new Map<string, Set<number>>();

  constructor(document: Json) {
    addFormats(this.#ajv);
    // The components are compiled once, as a schema of their own that every `#/components/schemas/…` ref points
    // into (a keyword that only holds schemas); each answer's schema is then small to compile.
    this.#ajv.addKeyword({ keyword: "components" });
    const doc = pointRefsAt(document, DOC_ID);
    this.#ajv.addSchema({ $id: DOC_ID, components: doc.components ?? {} });
    const paths = doc.paths as Record<string, Record<string, DocOperation>>;
    for (const [template, item] of Object.entries(paths)) {
      // A template's literal segments must match exactly; a `{param}` matches one segment.
      const pattern = new RegExp(`^${template.replace(/\{\w+\}/g, "[^/]+")}$`);
      for (const [method, op] of Object.entries(item)) this.#templates.push({ method, template, pattern, op });
    }
  }

  /** Every documented operation, as `METHOD /template`. */
  operations(): string[] {
    return this.#templates.map((t) => key(t.method, t.template));
  }

  /** The documented operation a request went to: literal paths win over templates (as Hono's routing does). */
  #operation(method: string, path: string) {
    const matches = this.#templates.filter((t) => t.method === method.toLowerCase() && t.pattern.test(path));
    matches.sort((a, b) => countParams(a.template) - countParams(b.template));
    const found = matches[0];
    if (found === undefined) throw new Error(`no documented operation for ${method} ${path}`);
    return found;
  }

  #validator(schema: Json): ValidateFunction {
    let v = this.#compiled.get(schema);
    if (v === undefined) this.#compiled.set(schema, v = this.#ajv.compile(pointRefsAt(schema, DOC_ID)));
    return v;
  }

  /** Asserts `res` (to `method` `url`) is as documented; returns its JSON body, if any. */
  async check(method: string, url: string, res: Response): Promise<unknown> {
    const { what, content, mediaType } = this.#head(method, url, res);
    const text = await res.text();
    if (content === undefined) {
      expect(text, `${what}: documented without a body`).toBe("");
      return undefined;
    }
    if (mediaType !== "application/json") return text;
    const body = JSON.parse(text);
    this.expectValid(content[mediaType]!.schema!, body, what);
    return body;
  }

  /**
   * Asserts a streamed answer's status and media type are documented, its body left unread; the returned
   * function checks one line (or event's data) against the stream's documented line schema.
   */
  checkStream(method: string, url: string, res: Response): (line: unknown) => void {
    const { what, content, mediaType } = this.#head(method, url, res);
    const schema = content?.[mediaType!]?.["x-line-schema"];
    expect(schema, `${what}: no line schema documented`).toBeDefined();
    return (line) => this.expectValid(schema!, line, `a line of ${what}`);
  }

  /** The status (recorded as seen) and content-type checked against the documented operation. */
  #head(method: string, url: string, res: Response) {
    const path = new URL(url, "http://x").pathname;
    const { template, op } = this.#operation(method, path);
    const what = `${method} ${url} → ${res.status}`;
    const documented = op.responses[String(res.status)];
    expect(documented, `${what}: status not documented for ${method} ${template}`).toBeDefined();
    const id = key(method, template);
    if (!this.seen.has(id)) this.seen.set(id, new Set());
    this.seen.get(id)!.add(res.status);
    const content = documented!.content;
    if (content === undefined) return { what, content, mediaType: undefined };
    const type = res.headers.get("content-type") ?? "";
    const mediaType = Object.keys(content).find((t) => type.split(";")[0] === t.split(";")[0]);
    expect(mediaType, `${what}: content-type ${type} is not among ${Object.keys(content).join(", ")}`).toBeDefined();
    return { what, content, mediaType };
  }

  expectValid(schema: Json, value: unknown, what: string): void {
    const validate = this.#validator(schema);
    const valid = validate(value);
    expect(valid, `${what}: ${this.#ajv.errorsText(validate.errors)}\n${JSON.stringify(value).slice(0, 2000)}`)
      .toBe(true);
  }
}

/** Where the document's components are, for Ajv. */
const DOC_ID = "urn:ebpf-k8s:openapi";

/** `value` with its `#/components/…` refs made absolute, pointing into the schema `id`. */
function pointRefsAt<T>(value: T, id: string): T {
  return JSON.parse(JSON.stringify(value).replaceAll('"$ref":"#/components/', `"$ref":"${id}#/components/`));
}

const key = (method: string, template: string) => `${method.toUpperCase()} ${template}`;
const countParams = (template: string) => (template.match(/\{/g) ?? []).length;
