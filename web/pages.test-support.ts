// SPDX-License-Identifier: Apache-2.0
/** Page requests for the web tests: as a browser (origin control.test), the admin by session cookie, forms posted the way htmx posts them. */
import { expect } from "vitest";
import { SESSION_COOKIE } from "../control/auth/access.ts";
import { ADMIN_TOKEN, type TestContext } from "../control/test-support.ts";

export const ADMIN = { cookie: `${SESSION_COOKIE}=${ADMIN_TOKEN}` };
export const HTMX = { "hx-request": "true" };

/** The service form's fields for default/api on 10.96.0.20:8080/TCP with two backends, as a person fills them in. */
export const SERVICE_FORM = {
  namespace: "default",
  name: "api",
  portName: "",
  vip: "10.96.0.20",
  port: "8080",
  protocol: "TCP",
  affinity: "none",
  affinityTimeoutS: "10800",
  backends: "10.244.1.9:8080\n10.244.2.9:8080 2\n",
};

/** Requests against `s.app` (read at each call: it is replaced for every test). */
export function pageRequests(s: Pick<TestContext, "app">) {
  return {
    /** GETs an HTML page and checks its status. */
    async page(path: string, headers: Record<string, string> = {}, status = 200): Promise<string> {
      const res = await s.app.request(`http://control.test${path}`, { headers });
      const body = await res.text();
      expect(res.status, body).toBe(status);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      return body;
    },
    /** POSTs form fields, by default as the admin through htmx. */
    async postForm(
      path: string,
      fields: Record<string, string>,
      headers: Record<string, string> = { ...ADMIN, ...HTMX },
    ): Promise<Response> {
      return s.app.request(`http://control.test${path}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
        body: new URLSearchParams(fields).toString(),
      });
    },
  };
}
