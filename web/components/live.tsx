// SPDX-License-Identifier: Apache-2.0
/** A region htmx refreshes in place: it GETs `src` every few seconds and swaps the answer in as its contents. */
import type { Child } from "hono/jsx";

/** How often the monitoring pages poll: agents report every few seconds, and each poll runs a few queries. */
export const MONITORING_POLL_SECONDS = 5;

export function Live(props: { id: string; src: string; seconds?: number; children: Child }) {
  return (
    <div
      id={props.id}
      hx-get={props.src}
      hx-trigger={`every ${props.seconds ?? MONITORING_POLL_SECONDS}s`}
      hx-swap="innerHTML"
    >
      {props.children}
    </div>
  );
}

/** The header hint of a page holding a Live region. */
export const LIVE_HINT = `updates every ${MONITORING_POLL_SECONDS} s`;
