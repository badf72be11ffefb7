// SPDX-License-Identifier: Apache-2.0
/**
 * Event-loop delay, measured the same way under Node and Deno: a timer every `resolutionMs`, and how late each
 * tick ran. (node:perf_hooks' monitorEventLoopDelay exists in Deno too, but measures something else there: a loop
 * blocked 60 ms every 100 ms shows a p99 of 0.01 ms, against 70 ms under Node; a ratio of the two would be
 * meaningless.) Ticks that cannot run while the loop is blocked are not counted, as with monitorEventLoopDelay: a
 * block of 100 ms is one sample of about 100 ms.
 */
import { quantile } from "./ingest-result.ts";

export interface LoopDelay {
  /** Stops sampling; the p-quantile of the delays, ms. */
  stop(p: number): number;
}

export function sampleLoopDelay(resolutionMs = 10): LoopDelay {
  const delays: number[] = [];
  let due = performance.now() + resolutionMs;
  const timer = setInterval(() => {
    const now = performance.now();
    delays.push(Math.max(0, now - due));
    due = now + resolutionMs;
  }, resolutionMs);
  return {
    stop(p) {
      clearInterval(timer);
      return quantile(delays, p);
    },
  };
}
