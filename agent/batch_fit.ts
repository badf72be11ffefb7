/**
 * Keeps a batch within MAX_BATCH_BYTES: the record caps bound each kind by
 * count, but all kinds full at once (and many pods) can still be too big for
 * the control plane, which would refuse the whole batch. Records are cut from
 * the end of their lists (each list is sorted most important first), the
 * biggest list first, and counted as cut like those the caps left out.
 */
import type { Batch } from "../control/wire/batch.ts";

export type RecordKind = "flows" | "tcp" | "drops";
const KINDS: RecordKind[] = ["flows", "tcp", "drops"];
const CUT_FIELD = { flows: "flowRecordsCut", tcp: "tcpRecordsCut", drops: "dropRecordsCut" } as const;

/**
 * Cuts records until the JSON fits `maxBytes`; returns how many of each kind
 * went (also added to batch.monitoring) and the JSON's final size.
 */
export function fitBatch(batch: Batch, maxBytes: number): { cut: Record<RecordKind, number>; bytes: number } {
  const cut = { flows: 0, tcp: 0, drops: 0 };
  let size = JSON.stringify(batch).length;
  while (size > maxBytes) {
    const sizes = KINDS.map((k) => ({ k, list: batch[k] ?? [], bytes: JSON.stringify(batch[k] ?? []).length }));
    const biggest = sizes.filter((s) => s.list.length).sort((a, b) => b.bytes - a.bytes)[0];
    if (!biggest) break; // nothing left to cut: the caller refuses the batch
    const perRecord = biggest.bytes / biggest.list.length;
    const n = Math.min(biggest.list.length, Math.ceil((size - maxBytes) / perRecord) + 1);
    biggest.list.splice(biggest.list.length - n, n);
    cut[biggest.k] += n;
    if (batch.monitoring) batch.monitoring[CUT_FIELD[biggest.k]] += n;
    size = JSON.stringify(batch).length;
  }
  return { cut, bytes: size };
}
