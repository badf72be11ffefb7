/**
 * What the ingest route checks beyond the wire `Batch` schema.
 */
import { z } from "zod";
import type { FieldIssue } from "../http/validation.ts";
import { Batch } from "../wire/batch.ts";
import { fieldsNewerThan } from "../wire/version.ts";

/** The wire `Batch` plus checks across its entries that storing it relies on. */
export const IngestBatch = Batch.superRefine((batch, ctx) => {
  // A batch says which version it is written in; a field a later version added would be read as that version's.
  for (const path of fieldsNewerThan(batch, batch.v)) {
    ctx.addIssue({ code: "custom", path, message: `not part of wire version ${batch.v} (added later)` });
  }
  // Totals are keyed by (node, ifname): two entries for one name would make
  // one silently overwrite the other.
  const seen = new Set<string>();
  batch.interfaces.forEach((iface, i) => {
    if (seen.has(iface.ifname)) {
      ctx.addIssue({
        code: "custom",
        path: ["interfaces", i, "ifname"],
        message: `duplicate interface name '${iface.ifname}'`,
      });
    }
    seen.add(iface.ifname);
  });
  // Pods are keyed by uid: a second report of one uid would contradict the first.
  const uids = new Set<string>();
  batch.pods?.forEach((pod, i) => {
    if (uids.has(pod.uid)) {
      ctx.addIssue({ code: "custom", path: ["pods", i, "uid"], message: `duplicate pod uid '${pod.uid}'` });
    }
    uids.add(pod.uid);
  });
  // The node page shows one state per module; two reports of one would contradict each other.
  const modules = new Set<string>();
  batch.inventory?.modules.forEach((module, i) => {
    if (modules.has(module.name)) {
      ctx.addIssue({
        code: "custom",
        path: ["inventory", "modules", i, "name"],
        message: `duplicate module '${module.name}'`,
      });
    }
    modules.add(module.name);
  });
});
export type IngestBatch = z.output<typeof IngestBatch>;

/**
 * A batch of a version this control plane does not accept cannot be judged
 * field by field, so it gets a single, plain answer (409, with the versions
 * accepted) instead of a list of field errors. Undefined when `body` has no
 * `v` or an accepted one (the schema then reports what is wrong).
 */
export function versionMismatch(body: unknown, accepts: readonly number[]): FieldIssue | undefined {
  if (typeof body !== "object" || body === null || !("v" in body)) return undefined;
  if (typeof body.v === "number" && accepts.includes(body.v)) return undefined;
  return {
    path: "v",
    message: `this control plane accepts wire version${accepts.length > 1 ? "s" : ""} ${accepts.join(" and ")}, not ${
      JSON.stringify(body.v)
    }`,
  };
}
