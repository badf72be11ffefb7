// SPDX-License-Identifier: Apache-2.0
/**
 * The time window of the monitoring pages: `?since=` with a few choices as
 * links (any value the API takes works too), and a line saying what the
 * numbers cover (the storage level and the exact bounds).
 */
import type { Window } from "../../control/monitoring/rollup.ts";
import { Time } from "./time.tsx";

export const WINDOW_CHOICES = [
  { since: "5m", label: "5 min" },
  { since: "1h", label: "1 h" },
  { since: "24h", label: "24 h" },
] as const;

/** The API's default window (DEFAULT_SINCE in control/queries/monitoring/window.ts). */
export const DEFAULT_WINDOW = "5m";

/** When the window starts, for the tables' empty states: "5 min ago", "90s ago", or an ISO time as given. */
export function windowStart(since: string): string {
  const choice = WINDOW_CHOICES.find((c) => c.since === since);
  if (choice) return `${choice.label} ago`;
  return /^[\d.]+[smhd]$/.test(since) ? `${since} ago` : since;
}

/** What a window covers, for titles: "last 5 min", "last 90s", or "since" an ISO time as given. */
export function windowSpan(since: string): string {
  const start = windowStart(since);
  return start.endsWith(" ago") ? `last ${start.slice(0, -" ago".length)}` : `since ${start}`;
}

/** What a window covers, within a sentence: "in the last 5 min", or "since" an ISO time as given. */
export function during(since: string): string {
  const span = windowSpan(since);
  return span.startsWith("last ") ? `in the ${span}` : span;
}

export function WindowLinks(props: { since: string; href: (since: string) => string }) {
  return (
    <nav class="windows" aria-label="time window">
      <span class="meta">Window</span>
      {WINDOW_CHOICES.map((c) => (
        <a href={props.href(c.since)} aria-current={c.since === props.since ? "page" : undefined}>
          {c.label}
        </a>
      ))}
    </nav>
  );
}

const LEVEL_TEXT: Record<Window["level"], string> = {
  raw: "every report",
  "1m": "1-minute sums",
  "1h": "1-hour sums",
};

/** "Since 5 min ago, from every report (… to …)". */
export function WindowNote(props: { since: string; window: Window }) {
  const w = props.window;
  return (
    <p class="window-note meta">
      Since {windowStart(props.since)}, from {LEVEL_TEXT[w.level]} (<Time ms={w.from} /> to <Time ms={w.to} />)
    </p>
  );
}
