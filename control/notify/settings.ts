// SPDX-License-Identifier: Apache-2.0
/** How alert notifications are delivered (control/config.ts EBPF_K8S_NOTIFY_*; docs/alerts.md). */
export interface NotifySettings {
  /** How often the deliverer looks for notifications due. */
  intervalMs: number;
  /** One POST's whole time (connect, send, answer) before it counts as failed. */
  timeoutMs: number;
  /** The backoff's first wait and its cap. */
  retryMinMs: number;
  retryMaxMs: number;
  /** A notification still not delivered this long after its event is given up (counted, shown). */
  giveUpAfterMs: number;
  /** Delivered and given-up notifications (and their attempts) are deleted this long after they finished. */
  retentionMs: number;
  /** Pending notifications per receiver: beyond it the oldest are given up, so a receiver down for long costs rows, bounded. */
  maxPending: number;
  /** Prefixed to the links in the payload (externalURL, generatorURL); main.ts fills in where it listens when unset. */
  externalUrl?: string;
}

/** Attempt records kept per notification (the latest; `attempts` on the notification counts them all). */
export const ATTEMPTS_KEPT = 20;

/** Notifications sent per receiver in one run of the deliverer: the rest waits for the next run. */
export const SEND_PER_RUN = 500;
