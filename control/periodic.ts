// SPDX-License-Identifier: Apache-2.0
/**
 * Background work on a timer (alert evaluation): one run at a time; a tick
 * that comes while the previous run is still going is skipped rather than
 * queued, so a slow database never builds up a backlog of runs.
 */
export interface Periodic {
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

export function repeatEvery(
  intervalMs: number,
  work: () => Promise<unknown>,
  onError: (err: unknown) => void,
): Periodic {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = work()
      .catch(onError)
      .finally(() => (running = undefined));
  }, intervalMs);
  // The timer alone must not keep the process alive (tests, shutdown).
  (timer as { unref?: () => void }).unref?.();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
