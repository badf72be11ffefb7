/**
 * Sends batches to the control plane. Counters are cumulative, so a batch
 * that fails is not retried here: the next one carries the same totals.
 */
import { Batch, BatchAck } from "../control/wire/batch.ts";

export class Pusher {
  constructor(private readonly baseUrl: string, private readonly timeoutMs = 5000) {}

  async push(batch: Batch): Promise<BatchAck> {
    const body = JSON.stringify(Batch.parse(batch)); // never send what the server would refuse
    const res = await fetch(new URL("/api/v1/ingest", this.baseUrl), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`control plane answered ${res.status}: ${text.slice(0, 500)}`);
    return BatchAck.parse(JSON.parse(text));
  }
}
