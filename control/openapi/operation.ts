// SPDX-License-Identifier: Apache-2.0
/**
 * One documented operation of the JSON API, as control/openapi/document.ts
 * turns it into OpenAPI 3.1: the zod schemas that validate its parameters and
 * body (the route's own, imported, never copied) and a zod schema per
 * response status. The error answers every route shares (control/http/json.ts
 * jsonError, validation's 400 with issues, the access checks) are built here
 * once, so each operation names only the statuses it can answer.
 */
import { z } from "zod";
import { NOT_GZIP, NOT_JSON } from "../http/body.ts";
import { named } from "./components.ts";

export type Method = "get" | "post" | "put" | "patch" | "delete";

/**
 * Who may call: anyone; a reader (open unless EBPF_K8S_READ_AUTH=token, then
 * the read or admin token); the admin token; an agent's node credential.
 */
export type Access = "open" | "reader" | "admin" | "node";

export interface ResponseSpec {
  description: string;
  /** The JSON body; absent for an empty body (204) or a body that is not JSON (contentTypes). */
  schema?: z.ZodType;
  /**
   * The form `schema` is documented in: "output" (the default) is what it produces; "input" is what its reader
   * accepts, for an answer an agent parses with defaults (its desired state: the control plane leaves out the
   * modules newer than the agent's wire version, which the agent reads as their defaults).
   */
  io?: "input" | "output";
  /** Other media types than JSON, each with what it carries. */
  contentTypes?: Record<string, string>;
  /** A streamed body (NDJSON, server-sent events): the schema of one JSON line or event's data. */
  lines?: z.ZodType;
  /** Response headers that matter to a client, each with what it says. */
  headers?: Record<string, string>;
}

export interface Operation {
  method: Method;
  /** The full path in OpenAPI's template form: `/api/v1/nodes/{node}`. */
  path: string;
  /** The group on the reference page and in the document. */
  tag: string;
  summary: string;
  description?: string;
  access: Access;
  /** Path parameters: an object schema with one key per `{name}` of `path`. */
  params?: z.ZodObject;
  /** Query parameters: an object schema, each key one parameter (their input form: strings). */
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The body's media types when not JSON alone (ingest also takes compact batches). */
  bodyContentTypes?: Record<string, string>;
  responses: Record<number, ResponseSpec>;
}

/** The one error shape of the API (jsonError): `error` says what went wrong; some answers add details. */
export const ErrorBody = named(
  "Error",
  z.looseObject({ error: z.string().describe("What went wrong, for a person to read") }),
);

/** A field the request got wrong, by its dotted path (`interfaces.0.rxBytes`, `(root)` for the body itself). */
export const FieldIssue = named("FieldIssue", z.strictObject({ path: z.string(), message: z.string() }));

/** The 400 of a request that failed its schema: every offending field named. */
export const ValidationError = named(
  "ValidationError",
  z.strictObject({ error: z.string(), issues: z.array(FieldIssue).min(1) }),
);

/**
 * 400: the body is not JSON (or, a compact batch sent gzipped, not gzip), or it or a parameter failed its schema
 * (then `issues` names each field).
 */
export const BadRequestBody = z.union([ValidationError, z.strictObject({ error: z.enum([NOT_JSON, NOT_GZIP]) })]);

/** 429 and 503 answers that say when to retry, in the body as well as in Retry-After. */
export const RetryBody = named(
  "RetryLater",
  z.looseObject({ error: z.string(), retryAfterSeconds: z.number().nonnegative().optional() }),
);

/** 413: the body is larger than the operation takes (control/http/body.ts limitBody). */
export const TooLarge = named("TooLarge", z.strictObject({ error: z.string(), maxBytes: z.number().int().positive() }));

export const RETRY_AFTER = { "Retry-After": "seconds to wait before retrying" };

const error = (description: string, schema: z.ZodType = ErrorBody): ResponseSpec => ({ description, schema });

/** The error answers by status, for the operations to pick from (`...errors(400, 404)`). */
export const ERRORS = {
  400: error(
    "Bad request: the body is not JSON, or a field or parameter is invalid (`issues` names each)",
    BadRequestBody,
  ),
  401: {
    ...error("No valid token (or node credential): `WWW-Authenticate: Bearer`"),
    headers: { "WWW-Authenticate": 'Bearer realm="ebpf-k8s"' },
  },
  403: error("The token is valid but not allowed here (the read token on an admin operation)"),
  404: error("Not found: the thing named in the path (or a filter) is unknown"),
  409: error("Conflict: `conflict` says with what"),
  413: error("Body larger than allowed: `maxBytes` says how large it may be", TooLarge),
  429: { ...error("Too many requests: retry after `Retry-After` seconds", RetryBody), headers: RETRY_AFTER },
  503: { ...error("Overloaded or too slow: retry after `Retry-After` seconds", RetryBody), headers: RETRY_AFTER },
} satisfies Record<number, ResponseSpec>;

export type ErrorStatus = keyof typeof ERRORS;

/** The named error answers, each documented once in ERRORS. */
export function errors(...statuses: ErrorStatus[]): Record<number, ResponseSpec> {
  return Object.fromEntries(statuses.map((s) => [s, ERRORS[s]]));
}

/** The answers of the access check of `access`: 401 without a valid token, 403 for the read token on admin. */
export function accessErrors(access: Access): Record<number, ResponseSpec> {
  switch (access) {
    case "open":
      return {};
    case "reader":
    case "node":
      return errors(401);
    case "admin":
      return errors(401, 403);
  }
}

/** Every request may time out (EBPF_K8S_REQUEST_TIMEOUT: 503) or fail unexpectedly (500). */
export const EVERY_OPERATION: Record<number, ResponseSpec> = {
  500: error("Internal error: the request failed unexpectedly (the control plane logs why)"),
  503: ERRORS[503],
};

/** A JSON 200 (or `status`) answer. */
export function ok(schema: z.ZodType, description: string): ResponseSpec {
  return { description, schema };
}
