// SPDX-License-Identifier: Apache-2.0
/**
 * The wait before the next attempt after `attempts` failed ones: the first
 * wait doubled per failure, capped, plus the same random part as every other
 * retry of the project (control/wire/retry.ts), so receivers back from an
 * outage are not hit by every replica's and every event's retry at once; the
 * cap holds with the random part included.
 */
import { jitteredRetryMs } from "../wire/retry.ts";
import type { NotifySettings } from "./settings.ts";

export function retryDelayMs(
  attempts: number,
  s: Pick<NotifySettings, "retryMinMs" | "retryMaxMs">,
  random: () => number = Math.random,
): number {
  const doubled = s.retryMinMs * 2 ** Math.min(Math.max(attempts - 1, 0), 40);
  return Math.min(s.retryMaxMs, jitteredRetryMs(Math.min(doubled, s.retryMaxMs), random));
}
