// SPDX-License-Identifier: Apache-2.0
/**
 * Turns zod failures into the API's 400 answer, which names every offending
 * field by its dotted path (`interfaces.0.rxBytes`).
 */
import { z } from "zod";
import { jsonError } from "./json.ts";

export interface FieldIssue {
  path: string;
  message: string;
}

export type Parsed<T> = { ok: true; data: T } | { ok: false; response: Response };

/** `parsed` with its data made into another value (a failure as it is). */
export function mapParsed<T, U>(parsed: Parsed<T>, f: (data: T) => U): Parsed<U> {
  return parsed.ok ? { ok: true, data: f(parsed.data) } : parsed;
}

/**
 * Says "required" for a missing field instead of zod's "expected number,
 * received undefined" (or "expected 1" for a literal); everything else keeps
 * zod's wording.
 */
const errorMap: z.core.$ZodErrorMap = (issue) =>
  issue.input === undefined && (issue.code === "invalid_type" || issue.code === "invalid_value")
    ? "required"
    : undefined;

/** Validates `input`; on failure answers 400 `{ error: what, issues }` (`what` may be made from the issues). */
export function parseOr400<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string | ((issues: FieldIssue[]) => string),
): Parsed<z.output<S>> {
  const result = validate(schema, input);
  if (result.ok) return result;
  const { issues } = result;
  return { ok: false, response: jsonError(400, typeof what === "string" ? what : what(issues), { issues }) };
}

/** Validates `input` with the API's wording, for callers that answer otherwise (the pages' forms). */
export function validate<S extends z.ZodType>(
  schema: S,
  input: unknown,
): { ok: true; data: z.output<S> } | { ok: false; issues: FieldIssue[] } {
  const result = schema.safeParse(input, { error: errorMap });
  return result.success ? { ok: true, data: result.data } : { ok: false, issues: fieldIssues(result.error) };
}

/** A `what` naming each bad parameter: `invalid query parameter 'since': must be …` (where: "query" or "path"). */
export function invalidParameters(where: "query" | "path"): (issues: FieldIssue[]) => string {
  return (issues) => {
    const each = issues.map((i) => `'${i.path}': ${i.message}`);
    return `invalid ${where} parameter${each.length > 1 ? "s" : ""} ${each.join("; ")}`;
  };
}

export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.flatMap((issue) =>
    // Strict objects report unknown keys once for the object; name each key instead.
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: "unknown field" }))
      : [{ path: formatPath(issue.path), message: issue.message }]
  );
}

/** `["interfaces", 0, "rxBytes"]` → `"interfaces.0.rxBytes"`; the body itself is `(root)`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? "(root)" : path.map(String).join(".");
}
