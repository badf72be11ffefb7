// SPDX-License-Identifier: Apache-2.0
/**
 * The time window of a monitoring query: `since` and `until`, each an ISO
 * 8601 time ("2024-05-01T12:00:00Z", "2024-05-01") or a duration back from
 * now ("90s", "5m", "2h", "7d"). Defaults: the last 5 minutes.
 *
 * The level is the finest one still holding data back to `since`
 * (levelFor); on 1m and 1h the window widens to whole buckets (windowOn),
 * and the JSON shows the widened bounds, which are what the numbers cover.
 */
import { z } from "zod";
import { levelFor, type RetentionSettings, type Window, windowOn, withHourParts } from "../../monitoring/rollup.ts";

/** An instant, or a duration back from the time of the request. */
export type TimeSpec = { at: number } | { ago: number };

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)([smhd])$/;
/** A date, or a date and time with its zone (a time without one would depend on the server's zone). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;
const TIME_HELP =
  'must be an ISO 8601 time such as "2024-05-01T12:00:00Z" or a duration back from now such as "90s", "5m", "2h" or "7d"';

export const TimeParam = z.string().transform((v, ctx): TimeSpec => {
  const d = DURATION.exec(v);
  if (d) return { ago: Number.parseFloat(d[1]!) * UNIT_MS[d[2]!]! };
  const at = ISO_TIME.test(v) ? Date.parse(v) : Number.NaN;
  if (!Number.isNaN(at)) return { at };
  ctx.addIssue({ code: "custom", message: TIME_HELP });
  return z.NEVER;
}).describe('An ISO 8601 time ("2024-05-01T12:00:00Z") or a duration back from now ("90s", "5m", "2h", "7d")');

export const DEFAULT_SINCE: TimeSpec = { ago: 5 * 60_000 };
const NOW: TimeSpec = { ago: 0 };

const toMs = (t: TimeSpec, now: number) => ("at" in t ? t.at : now - t.ago);

export interface WindowParams {
  since?: TimeSpec;
  until?: TimeSpec;
}

/** Report-time bounds (since, until] in ms; undefined when since is after until. */
export function windowBounds(p: WindowParams, now: number): { since: number; until: number } | undefined {
  const since = toMs(p.since ?? DEFAULT_SINCE, now);
  const until = toMs(p.until ?? NOW, now);
  return since > until ? undefined : { since, until };
}

/**
 * The window to query at `now`, on the finest level whose retention reaches
 * back to since. An until in the future stops at now (nothing was reported
 * after it), so `seconds` divides by time that has passed. Sums over a 1m
 * window read its whole hours from 1h (withHourParts).
 */
export function queryWindow(
  bounds: { since: number; until: number },
  now: number,
  retention: RetentionSettings,
): Window {
  const until = Math.max(bounds.since, Math.min(bounds.until, now));
  return withHourParts(windowOn(levelFor(bounds.since, now, retention), bounds.since, until, now), now, retention);
}

/** An optional query parameter; an empty one (`?node=`, as forms send) counts as absent. */
export function optionalParam<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === "" ? undefined : v), schema.optional());
}

/** The parameters of a windowed query as sent: `fields` plus since and until (what the API reference documents). */
export function windowParams<S extends z.ZodRawShape>(fields: S) {
  return z.strictObject({ ...fields, since: optionalParam(TimeParam), until: optionalParam(TimeParam) });
}

/**
 * A query's schema: `fields` plus since and until, resolved at `now` into
 * `window` (since after until is an issue of `since`). Unknown parameters
 * are refused, so a misspelt filter does not silently show everything.
 */
export function withWindow<S extends z.ZodRawShape>(fields: S, now: number, retention: RetentionSettings) {
  return windowParams(fields)
    .transform((q, ctx) => {
      const { since, until, ...rest } = q as unknown as WindowParams & Record<string, unknown>;
      const bounds = windowBounds({ since, until }, now);
      if (bounds === undefined) {
        ctx.addIssue({ code: "custom", path: ["since"], message: "must not be after until", input: since });
        return z.NEVER;
      }
      return { ...(rest as z.output<z.ZodObject<S>>), window: queryWindow(bounds, now, retention) };
    });
}

export interface WindowJson {
  since: string;
  until: string;
  level: Window["level"];
  seconds: number;
}

export function windowJson(w: Window): WindowJson {
  return {
    since: new Date(w.from).toISOString(),
    until: new Date(w.to).toISOString(),
    level: w.level,
    seconds: w.seconds,
  };
}
