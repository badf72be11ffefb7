// SPDX-License-Identifier: Apache-2.0
/**
 * The OpenAPI 3.1 document of the JSON API, generated from the operations'
 * zod schemas (z.toJSONSchema, JSON Schema 2020-12: OpenAPI 3.1's own
 * dialect; named schemas as components: components.ts). Requests are
 * documented in their input form (what a client sends: query parameters
 * are strings), responses in their output form.
 */
import { Components } from "./components.ts";
import { EVERY_OPERATION, type Operation, type ResponseSpec } from "./operation.ts";
import { accessErrors } from "./operation.ts";

export const OPENAPI_PATH = "/api/v1/openapi.json";
/** The API's version: its paths' `/api/v1`; compatible changes (new fields, new routes) keep it. */
export const API_VERSION = "1";
export const JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema";

type JsonSchema = Record<string, unknown>;

/** `getNodesNodeInterfaces` for GET /api/v1/nodes/{node}/interfaces: unique as method and path are. */
export function operationId(op: Pick<Operation, "method" | "path">): string {
  const words = op.path.replace(/^\/api\/v1\//, "").split(/[^A-Za-z0-9]+/).filter((w) => w !== "");
  return op.method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
}

/** Every response of `op`: its own, its access check's and the ones every operation may give, by status. */
export function responsesOf(op: Operation): Record<number, ResponseSpec> {
  return { ...EVERY_OPERATION, ...accessErrors(op.access), ...op.responses };
}

export const SECURITY_SCHEMES = {
  adminToken: {
    type: "http",
    scheme: "bearer",
    description: "The admin token (EBPF_K8S_ADMIN_TOKEN, or the one printed at first start): every operation.",
  },
  readToken: {
    type: "http",
    scheme: "bearer",
    description: "The read token (EBPF_K8S_READ_TOKEN): reads, when EBPF_K8S_READ_AUTH=token; open otherwise.",
  },
  nodeCredential: {
    type: "http",
    scheme: "bearer",
    description: "A node's credential, from POST /api/v1/join: what an agent sends.",
  },
} as const;

const SECURITY: Record<Operation["access"], Record<string, string[]>[]> = {
  open: [],
  // {}: no token at all, while reads are open (EBPF_K8S_READ_AUTH=open, the default).
  reader: [{}, { readToken: [] }, { adminToken: [] }],
  admin: [{ adminToken: [] }],
  node: [{ nodeCredential: [] }],
};

function parameters(op: Operation, components: Components): JsonSchema[] {
  const each = (where: "path" | "query", object: Operation["params"]) => {
    if (object === undefined) return [];
    const s = components.add(object, "input") as { properties?: Record<string, JsonSchema>; required?: string[] };
    return Object.entries(s.properties ?? {}).map(([name, schema]) => {
      const { description, ...rest } = schema;
      return {
        name,
        in: where,
        required: where === "path" || (s.required ?? []).includes(name),
        ...(description === undefined ? {} : { description }),
        schema: rest,
      };
    });
  };
  return [...each("path", op.params), ...each("query", op.query)];
}

function response(spec: ResponseSpec, components: Components): JsonSchema {
  const content: Record<string, JsonSchema> = {};
  if (spec.schema) content["application/json"] = { schema: components.add(spec.schema, spec.io ?? "output") };
  for (const [type, description] of Object.entries(spec.contentTypes ?? {})) {
    content[type] = {
      schema: { type: "string", description },
      // OpenAPI 3.1 has no schema for the items of a stream (3.2's itemSchema): an extension says it.
      ...(spec.lines ? { "x-line-schema": components.add(spec.lines, "output") } : {}),
    };
  }
  const headers = Object.entries(spec.headers ?? {}).map(([name, description]) => [
    name,
    { description, schema: { type: "string" } },
  ]);
  return {
    description: spec.description,
    ...(headers.length ? { headers: Object.fromEntries(headers) } : {}),
    ...(Object.keys(content).length ? { content } : {}),
  };
}

function operation(op: Operation, components: Components): JsonSchema {
  const params = parameters(op, components);
  const bodyTypes: Record<string, JsonSchema> = {};
  if (op.body) bodyTypes["application/json"] = { schema: components.add(op.body, "input") };
  for (const [type, description] of Object.entries(op.bodyContentTypes ?? {})) {
    bodyTypes[type] = { schema: { type: "string", description } };
  }
  return {
    operationId: operationId(op),
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    security: SECURITY[op.access],
    ...(params.length ? { parameters: params } : {}),
    ...(Object.keys(bodyTypes).length ? { requestBody: { required: true, content: bodyTypes } } : {}),
    responses: Object.fromEntries(
      Object.entries(responsesOf(op)).map(([status, spec]) => [status, response(spec, components)]),
    ),
  };
}

export interface DocumentInfo {
  version: string;
}

export function openApiDocument(operations: readonly Operation[], info: DocumentInfo): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const components = new Components();
  for (const op of operations) {
    const item = (paths[op.path] ??= {});
    if (item[op.method]) throw new Error(`${op.method.toUpperCase()} ${op.path} is documented twice`);
    item[op.method] = operation(op, components);
  }
  const tags = [...new Set(operations.map((op) => op.tag))].map((name) => ({ name }));
  return {
    openapi: "3.1.0",
    info: {
      title: "ebpf-k8s control plane",
      version: info.version,
      description: "The JSON API of the ebpf-k8s control plane: reads, administration, and the agents' endpoints. " +
        "Every error is `{ error, ...details }`; a 400 names each bad field in `issues`.",
    },
    jsonSchemaDialect: JSON_SCHEMA_DIALECT,
    tags,
    paths,
    components: { schemas: components.schemas, securitySchemes: SECURITY_SCHEMES },
  };
}
