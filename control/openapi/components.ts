// SPDX-License-Identifier: Apache-2.0
/**
 * JSON Schemas with their named parts as components: a zod schema given a
 * name (`named`) becomes `#/components/schemas/NAME` wherever it appears,
 * so the document says NodeSummary once and a client generator gets the
 * type by that name. zod puts named schemas in `$defs`; this moves them to
 * the document's components and points the references there.
 *
 * A schema can read differently as a request (input: defaults optional) and
 * as an answer (output): the second form to come gets `NAMEInput` or
 * `NAMEOutput`. Building the same document twice gives the same names.
 */
import { z } from "zod";

type Json = Record<string, unknown>;

/** Gives `schema` its component name (kept with its description, in zod's global registry). */
export function named<S extends z.ZodType>(name: string, schema: S): S {
  z.globalRegistry.add(schema, { ...z.globalRegistry.get(schema), id: name });
  return schema;
}

const DEFS = "#/$defs/";
export const COMPONENTS = "#/components/schemas/";

export class Components {
  readonly schemas: Record<string, Json> = {};

  /**
   * `schema` as JSON Schema 2020-12, its named parts references to components. What JSON Schema cannot say
   * (a transform, a refinement) is left out: the schema then allows more than the route does, never less.
   */
  add(schema: z.ZodType, io: "input" | "output"): Json {
    const { $schema: _, $defs = {}, ...root } = z.toJSONSchema(schema, {
      target: "draft-2020-12",
      io,
      unrepresentable: "any",
    }) as Json & { $defs?: Record<string, Json> };
    const names = new Map<string, string>();
    const pending = new Set(Object.keys($defs));
    // A part is placed once the parts it refers to are, so its references already carry their final names.
    while (pending.size > 0) {
      const ready = [...pending].find((id) => [...refsIn($defs[id]!)].every((r) => r === id || !pending.has(r)));
      if (ready === undefined) throw new Error(`named schemas refer to each other in a cycle: ${[...pending]}`);
      names.set(ready, ready); // a part referring to itself keeps its own name while it is placed
      names.set(ready, this.#place(ready, io, rewrite($defs[ready]!, names)));
      pending.delete(ready);
    }
    return rewrite(root, names);
  }

  /** The component name of part `id` with `body`: its own name, or NAMEInput/NAMEOutput when that is taken otherwise. */
  #place(id: string, io: "input" | "output", body: Json): string {
    for (const name of [id, `${id}${io === "input" ? "Input" : "Output"}`]) {
      const there = this.schemas[name];
      if (there === undefined) {
        this.schemas[name] = body;
        return name;
      }
      if (JSON.stringify(there) === JSON.stringify(body)) return name;
    }
    throw new Error(`schema name '${id}' is given to three different schemas`);
  }
}

/** The `$defs` names a schema refers to. */
function refsIn(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => refsIn(v, out));
  else if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k === "$ref" && typeof v === "string" && v.startsWith(DEFS)) out.add(v.slice(DEFS.length));
      else refsIn(v, out);
    }
  }
  return out;
}

/** `value` with its `#/$defs/ID` references pointing at the components `names` gives. */
function rewrite<T>(value: T, names: Map<string, string>): T {
  if (Array.isArray(value)) return value.map((v) => rewrite(v, names)) as T;
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) =>
      k === "$ref" && typeof v === "string" && v.startsWith(DEFS)
        ? [k, COMPONENTS + (names.get(v.slice(DEFS.length)) ?? v.slice(DEFS.length))]
        : [k, rewrite(v, names)]
    ),
  ) as T;
}
