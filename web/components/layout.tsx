// SPDX-License-Identifier: Apache-2.0
/** The HTML shell every page shares: local stylesheet and htmx, page header with the session. */
import type { Context } from "hono";
import type { Child } from "hono/jsx";
import { raw } from "hono/html";
import { type AccessSettings, callerOf, type Role } from "../../control/auth/access.ts";
import {
  assetPath,
  CHARTS_ASSET,
  HTMX_ASSET,
  ICON_ASSET,
  KEEP_SCROLL_ASSET,
  LOCAL_TIME_ASSET,
  STYLE_ASSET,
  UPLOT_ASSET,
  UPLOT_STYLE_ASSET,
} from "../assets.ts";

/** Who is looking, for the header and for showing admin controls. */
export interface Session {
  role: Role | null;
  /** Where /login should send the browser back to. */
  path: string;
}

/** The session of a request: the caller's role, and the page's path to come back to after logging in. */
export async function sessionOf(c: Context, access: AccessSettings): Promise<Session> {
  return { role: (await callerOf(c, access)).role, path: new URL(c.req.url).pathname };
}

/** The sections every page links to; a section is current for its path and the paths below it. */
const SECTIONS = [
  { href: "/", label: "Nodes", below: "/nodes/" },
  { href: "/pods", label: "Pods", below: "/pods/" },
  { href: "/flows", label: "Flows", below: "/flows/" },
  { href: "/servicemap", label: "Service map", below: "/servicemap/" },
  { href: "/services", label: "Services", below: "/services/" },
  { href: "/accel", label: "Acceleration", below: "/accel/" },
  { href: "/alerts", label: "Alerts", below: "/alerts/" },
  { href: "/thresholds", label: "Thresholds", below: "/thresholds/" },
  { href: "/api", label: "API", below: "/api/" },
] as const;

function Nav(props: { path?: string }) {
  const { path } = props;
  return (
    <nav class="sections">
      {SECTIONS.map((s) => (
        <a href={s.href} aria-current={path === s.href || path?.startsWith(s.below) ? "page" : undefined}>
          {s.label}
        </a>
      ))}
    </nav>
  );
}

/**
 * htmx swaps 4xx answers too (by default it drops them), so a refused switch
 * can say why in the page; 5xx answers still leave the page as it was. A 422
 * is a form sent back with its errors next to the fields: an answer, not a
 * failure, so htmx does not log it as an error in the console.
 */
const HTMX_CONFIG = JSON.stringify({
  responseHandling: [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "422", swap: true },
    { code: "4..", swap: true, error: true },
    { code: "...", swap: false, error: true },
  ],
});

/** `charts`: the page draws time-series charts (uPlot and web/assets/charts.js, served locally). */
export function Layout(props: { title: string; hint?: string; session?: Session; charts?: boolean; children: Child }) {
  return (
    <>
      {raw("<!doctype html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="htmx-config" content={HTMX_CONFIG} />
          <title>{props.title} · ebpf-k8s</title>
          <link rel="icon" type="image/svg+xml" href={assetPath(ICON_ASSET)} />
          <link rel="stylesheet" href={assetPath(STYLE_ASSET)} />
          <script src={assetPath(HTMX_ASSET)} defer></script>
          <script src={assetPath(LOCAL_TIME_ASSET)} defer></script>
          <script src={assetPath(KEEP_SCROLL_ASSET)} defer></script>
          {props.charts && (
            <>
              <link rel="stylesheet" href={assetPath(UPLOT_STYLE_ASSET)} />
              <script src={assetPath(UPLOT_ASSET)} defer></script>
              <script src={assetPath(CHARTS_ASSET)} defer></script>
            </>
          )}
        </head>
        <body>
          <header class="top">
            <h1>
              <a href="/">ebpf-k8s</a> · {props.title}
            </h1>
            <Nav path={props.session?.path} />
            {props.hint && <span class="hint">{props.hint}</span>}
            {props.session && <SessionLinks session={props.session} />}
          </header>
          <main>{props.children}</main>
        </body>
      </html>
    </>
  );
}

export function loginPath(next: string): string {
  return next === "/" ? "/login" : `/login?next=${encodeURIComponent(next)}`;
}

function SessionLinks(props: { session: Session }) {
  const { role, path } = props.session;
  if (role === null) {
    return (
      <span class="session">
        <a href={loginPath(path)}>log in</a>
      </span>
    );
  }
  return (
    <form class="session" method="post" action="/logout">
      {role === "admin" ? "admin" : "read-only"} · <button type="submit" class="link">log out</button>
    </form>
  );
}
