// SPDX-License-Identifier: Apache-2.0
/**
 * A moment on a page. The server writes it in UTC; web/assets/local-time.js
 * rewrites the text into the browser's time zone (as the charts draw), and
 * the title keeps the UTC for hover. Without script the UTC text stays.
 */

/** "datetime": date, time and zone; "time": the time of day alone (a table column of recent times). */
export type TimeFormat = "datetime" | "time";

/** "2026-12-07 00:08:50" in UTC (milliseconds dropped). */
export function utcText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

export function Time(props: { ms: number; format?: TimeFormat }) {
  const format = props.format ?? "datetime";
  const utc = utcText(props.ms);
  return (
    <time datetime={new Date(props.ms).toISOString()} title={`UTC ${utc}`} data-local={format}>
      {format === "time" ? utc.slice(11) : `${utc} UTC`}
    </time>
  );
}
