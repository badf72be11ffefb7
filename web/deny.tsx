// SPDX-License-Identifier: Apache-2.0
/**
 * How the pages refuse a request (control/auth/access.ts decides when):
 * - not logged in (401): a browser is sent to /login and back; an htmx
 *   request gets HX-Redirect, which htmx follows whatever the status;
 * - not allowed (403): htmx shows the reason in the page's #flash line; a
 *   plain request gets a short page saying why.
 */
import type { Context } from "hono";
import type { Deny } from "../control/auth/access.ts";
import { Layout, loginPath } from "./components/layout.tsx";

export const FLASH_ID = "flash";

export const denyPage: Deny = (c, status, reason) => {
  const isHtmx = c.req.header("hx-request") === "true";
  if (status === 401) {
    const target = loginPath(currentPagePath(c));
    return isHtmx ? c.body(null, 401, { "HX-Redirect": target }) : c.redirect(target, 303);
  }
  if (isHtmx) return flashError(c, reason, status);
  return c.html(
    <Layout title="Not allowed">
      <p class="error-text">{reason}</p>
    </Layout>,
    status,
  );
};

/** Puts `message` into the page's #flash line instead of the request's own target. */
export function flashError(c: Context, message: string, status: 400 | 403 | 404 | 409 = 400) {
  return c.html(<>{message}</>, status, { "HX-Retarget": `#${FLASH_ID}`, "HX-Reswap": "innerHTML" });
}

/** The page the browser shows: for htmx requests the page that made them, not the fragment URL. */
function currentPagePath(c: Context): string {
  const page = c.req.header("hx-current-url");
  const url = new URL(page ?? c.req.url, c.req.url);
  return url.origin === new URL(c.req.url).origin ? url.pathname : "/";
}
