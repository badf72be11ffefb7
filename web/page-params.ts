// SPDX-License-Identifier: Apache-2.0
/**
 * Query parameters of the pages: the window (`?since=`, as the API takes it)
 * and the words a bad parameter is refused with.
 */
import type { z } from "zod";
import type { RetentionSettings, Window } from "../control/monitoring/rollup.ts";
import {
  optionalParam,
  queryWindow,
  TimeParam,
  type TimeSpec,
  windowBounds,
} from "../control/queries/monitoring/window.ts";
import { DEFAULT_WINDOW } from "./components/window-links.tsx";

/** `?since=`: an ISO time or a duration back from now; the last 5 minutes when absent. */
export const sinceParam = optionalParam(TimeParam);

/** "The parameter 'since' must be …": the first issue, named, for people. */
export function badParameterText(error: z.ZodError): string {
  const issue = error.issues[0]!;
  return `The parameter '${issue.path.join(".")}' ${issue.message}.`;
}

/** The window ?since= asks for at `at`: as written (for links) and as queried; or why not. */
export function pageWindow(
  raw: string | undefined,
  parsed: TimeSpec | undefined,
  at: number,
  retention: RetentionSettings,
): { ok: true; since: string; window: Window } | { ok: false; message: string } {
  const bounds = windowBounds({ since: parsed }, at);
  if (bounds === undefined) return { ok: false, message: "The parameter 'since' must not be in the future." };
  return { ok: true, since: raw?.trim() || DEFAULT_WINDOW, window: queryWindow(bounds, at, retention) };
}
