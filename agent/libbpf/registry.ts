// SPDX-License-Identifier: Apache-2.0
/**
 * Every attachment made through this library (tc filter, XDP program, BPF
 * link) is recorded here until it is detached, so a caller can list them and
 * detach them all, e.g. on SIGTERM:
 *
 *   Deno.addSignalListener("SIGTERM", () => { detachAll(); Deno.exit(0); });
 *
 * The registry is per isolate (per Deno worker).
 */

export type AttachmentKind = "tc" | "xdp" | "cgroup" | "tracepoint" | "link";

export interface Attachment {
  readonly kind: AttachmentKind;
  /** Name of the attached program. */
  readonly program: string;
  /** Human description, e.g. "tc ifstats_ingress on ek8s0 ingress (netns ek8s-1-a)". */
  readonly description: string;
  /** False once detached. */
  readonly attached: boolean;
  /** Detaches; harmless when already detached. Throws LibbpfError on failure. */
  detach(): void;
  /** @internal identity of the BpfObject whose program this is. */
  readonly owner: object;
}

const active: Attachment[] = [];

/** @internal */
export function registerAttachment(a: Attachment): void {
  active.push(a);
}

/** @internal */
export function unregisterAttachment(a: Attachment): void {
  const i = active.indexOf(a);
  if (i >= 0) active.splice(i, 1);
}

/** Attachments currently in place, oldest first. */
export function listAttachments(owner?: object): Attachment[] {
  return active.filter((a) => owner === undefined || a.owner === owner);
}

export interface DetachReport {
  detached: string[];
  errors: Error[];
}

/**
 * Detaches everything (or everything of one owner), newest first. Continues
 * past failures and reports them; an attachment whose detach failed is
 * dropped from the registry too (retrying would fail the same way).
 */
export function detachAll(owner?: object): DetachReport {
  const report: DetachReport = { detached: [], errors: [] };
  for (const a of listAttachments(owner).reverse()) {
    try {
      a.detach();
      report.detached.push(a.description);
    } catch (e) {
      report.errors.push(e instanceof Error ? e : new Error(String(e)));
      unregisterAttachment(a);
    }
  }
  return report;
}
