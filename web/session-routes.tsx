// SPDX-License-Identifier: Apache-2.0
/**
 * GET/POST /login and POST /logout. The token itself goes into the cookie
 * (HttpOnly: page scripts cannot read it; SameSite=Strict: other sites'
 * requests do not carry it; Secure over HTTPS), so nothing about sessions is
 * stored server-side and every replica accepts it; changing the token ends
 * every session.
 */
import { type Context, Hono } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import { type AccessSettings, callerOf, roleOfToken, SESSION_COOKIE } from "../control/auth/access.ts";
import { clientAddress } from "../control/http/client-address.ts";
import { limitBody, SMALL_BODY_BYTES } from "../control/http/body.ts";
import { TokenBuckets } from "../control/http/rate-limit.ts";
import { LoginPage } from "./pages/login.tsx";

const SESSION_SECONDS = 7 * 86_400;

/** Where to go after logging in: a path on this server only (never `//elsewhere` or a full URL). */
const LocalPath = z
  .string()
  .max(512)
  .regex(/^\/(?![/\\])[^\s]*$/)
  .catch("/");
const LoginQuery = z.object({ next: LocalPath.default("/") });
const LoginForm = z.object({ token: z.string().max(512).catch(""), next: LocalPath.default("/") });

export interface SessionOptions {
  now: () => number;
  access: AccessSettings;
  /** Failed logins per address, like failed joins. */
  failureRatePerSec: number;
  failureBurst: number;
}

export function sessionRoutes({ now, access, failureRatePerSec, failureBurst }: SessionOptions): Hono {
  const routes = new Hono();
  const failures = new TokenBuckets({ ratePerSec: failureRatePerSec, burst: failureBurst, now });

  const page = async (c: Context, next: string, error?: string, status: 200 | 401 | 429 = 200) => {
    const session = { role: (await callerOf(c, access)).role, path: "/login" };
    return c.html(<LoginPage next={next} session={session} error={error} readAuth={access.readAuth} />, status);
  };

  routes.get("/login", (c) => page(c, LoginQuery.parse(c.req.query()).next));

  routes.post("/login", limitBody(SMALL_BODY_BYTES, "login form"), async (c) => {
    const form = LoginForm.parse(await c.req.parseBody());
    const address = clientAddress(c);
    const wait = failures.waitSeconds(address);
    if (wait > 0) return page(c, form.next, `Too many wrong tokens from this address; try again in ${wait} s.`, 429);

    const role = await roleOfToken(form.token, access);
    if (role === null) {
      failures.take(address);
      return page(c, form.next, "That token is neither the admin token nor the read token.", 401);
    }
    setCookie(c, SESSION_COOKIE, form.token, {
      httpOnly: true,
      sameSite: "Strict",
      secure: new URL(c.req.url).protocol === "https:",
      path: "/",
      maxAge: SESSION_SECONDS,
    });
    return c.redirect(form.next, 303);
  });

  routes.post("/logout", (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.redirect("/", 303);
  });

  return routes;
}
