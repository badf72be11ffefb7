// SPDX-License-Identifier: Apache-2.0
/**
 * What the ingest route checks beyond the wire `Batch` schema.
 */
import { z } from "zod";
import type { FieldIssue } from "../http/validation.ts";
import { Batch } from "../wire/batch.ts";
import { fieldsNewerThan } from "../wire/version.ts";

/** A problem across a batch's entries, at its path in the batch (`["interfaces", 3, "ifname"]`). */
export interface EntryIssue {
  path: (string | number)[];
  message: string;
}

/**
 * The checks across a batch's entries that storing it relies on, for a batch already valid for `Batch`: the
 * same for a plain JSON batch (IngestBatch) and a compact one (compact-body.ts), which is not re-validated
 * record by record.
 */
export function entryIssues(batch: Batch): EntryIssue[] {
  const issues: EntryIssue[] = [];
  // A batch says which version it is written in; a field a later version added would be read as that version's.
  for (const path of fieldsNewerThan(batch, batch.v)) {
    issues.push({ path, message: `not part of wire version ${batch.v} (added later)` });
  }
  // Totals are keyed by (node, ifname): two entries for one name would make
  // one silently overwrite the other.
  const seen = new Set<string>();
  batch.interfaces.forEach((iface, i) => {
    if (seen.has(iface.ifname)) {
      issues.push({ path: ["interfaces", i, "ifname"], message: `duplicate interface name '${iface.ifname}'` });
    }
    seen.add(iface.ifname);
  });
  // Pods are keyed by uid: a second report of one uid would contradict the first.
  const uids = new Set<string>();
  batch.pods?.forEach((pod, i) => {
    if (uids.has(pod.uid)) issues.push({ path: ["pods", i, "uid"], message: `duplicate pod uid '${pod.uid}'` });
    uids.add(pod.uid);
  });
  // The node page shows one state per module; two reports of one would contradict each other.
  const modules = new Set<string>();
  batch.inventory?.modules.forEach((module, i) => {
    if (modules.has(module.name)) {
      issues.push({ path: ["inventory", "modules", i, "name"], message: `duplicate module '${module.name}'` });
    }
    modules.add(module.name);
  });
  return issues;
}

/** The wire `Batch` plus checks across its entries that storing it relies on. */
export const IngestBatch = Batch.superRefine((batch, ctx) => {
  for (const { path, message } of entryIssues(batch)) ctx.addIssue({ code: "custom", path, message });
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
