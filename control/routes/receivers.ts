// SPDX-License-Identifier: Apache-2.0
/**
 * Alert notification receivers (admin only: they hold secrets and decide where alerts go) and their delivery
 * records (readers), control/notify/ and docs/alerts.md:
 *   GET    /api/v1/receivers         → ReceiverView[] (by name; secrets never shown)
 *   POST   /api/v1/receivers         ReceiverInput → 201 ReceiverView
 *   GET    /api/v1/receivers/:id     → ReceiverView
 *   PATCH  /api/v1/receivers/:id     ReceiverPatch (what is left out stays; null removes a secret) → ReceiverView
 *   DELETE /api/v1/receivers/:id     → ReceiverView (its notifications, pending ones too, go with it)
 *   GET    /api/v1/notifications?receiver=&state=pending|delivered|gave-up&alert=&limit=
 *                                    → NotificationView[], latest first, each with its latest attempts
 *
 * 400 names the bad field or parameter, 404 an unknown receiver id, 409 a name already taken.
 */
import { Hono } from "hono";
import { z } from "zod";
import { type AccessSettings, requireAdmin, requireReader } from "../auth/access.ts";
import type { Db } from "../db/client.ts";
import { limitBody, readJson, SMALL_BODY_BYTES } from "../http/body.ts";
import { jsonError, jsonResponse } from "../http/json.ts";
import { invalidParameters, parseOr400 } from "../http/validation.ts";
import { listNotifications } from "../notify/deliveries.ts";
import {
  createReceiver,
  deleteReceiver,
  getReceiver,
  InvalidReceiver,
  listReceivers,
  NameTaken,
  ReceiverInput,
  ReceiverPatch,
  updateReceiver,
} from "../notify/receivers.ts";
import { optionalParam } from "../queries/monitoring/window.ts";
import { Limit } from "./monitoring.ts";

export const ReceiverId = z.string().regex(/^[0-9a-f]{16}$/, "must be a receiver id (16 hex digits)");
export const ReceiverParams = z.object({ id: ReceiverId });

export const NotificationQuery = z.strictObject({
  receiver: optionalParam(ReceiverId),
  state: optionalParam(
    z.enum(["pending", "delivered", "gave-up"], { error: 'must be "pending", "delivered" or "gave-up"' }),
  ),
  alert: optionalParam(z.coerce.number({ error: "must be an alert id" }).int().positive()),
  limit: optionalParam(Limit),
});

export function receiverRoutes(db: Db, { now, access }: { now: () => number; access: AccessSettings }): Hono {
  const routes = new Hono();
  const admin = requireAdmin(access);
  const found = (id: string, view: unknown) =>
    view === undefined ? jsonError(404, `receiver '${id}' not found`) : jsonResponse(view);
  /** A name taken (409) or a change that conflicts with the receiver's secrets (400); anything else is thrown on. */
  const refused = (e: unknown) => {
    if (e instanceof NameTaken) return jsonError(409, e.message, { conflict: "name" });
    if (e instanceof InvalidReceiver) {
      return jsonError(400, "invalid receiver", { issues: [{ path: e.path, message: e.message }] });
    }
    throw e;
  };

  routes.get("/receivers", admin, async () => jsonResponse(await listReceivers(db)));

  routes.post("/receivers", limitBody(SMALL_BODY_BYTES), admin, async (c) => {
    const body = await readJson(c);
    if (!body.ok) return body.response;
    const input = parseOr400(ReceiverInput, body.data, "invalid receiver");
    if (!input.ok) return input.response;
    return createReceiver(db, input.data, now()).then((view) => jsonResponse(view, 201), refused);
  });

  routes.get("/receivers/:id", admin, async (c) => {
    const params = parseOr400(ReceiverParams, c.req.param(), invalidParameters("path"));
    if (!params.ok) return params.response;
    return found(params.data.id, await getReceiver(db, params.data.id));
  });

  routes.patch("/receivers/:id", limitBody(SMALL_BODY_BYTES), admin, async (c) => {
    const params = parseOr400(ReceiverParams, c.req.param(), invalidParameters("path"));
    if (!params.ok) return params.response;
    const body = await readJson(c);
    if (!body.ok) return body.response;
    const patch = parseOr400(ReceiverPatch, body.data, "invalid receiver");
    if (!patch.ok) return patch.response;
    return updateReceiver(db, params.data.id, patch.data, now()).then((v) => found(params.data.id, v), refused);
  });

  routes.delete("/receivers/:id", admin, async (c) => {
    const params = parseOr400(ReceiverParams, c.req.param(), invalidParameters("path"));
    if (!params.ok) return params.response;
    return found(params.data.id, await deleteReceiver(db, params.data.id));
  });

  routes.get("/notifications", requireReader(access), async (c) => {
    const query = parseOr400(NotificationQuery, c.req.query(), invalidParameters("query"));
    if (!query.ok) return query.response;
    const { receiver, state, alert, limit } = query.data;
    return jsonResponse(await listNotifications(db, { receiverId: receiver, state, alertId: alert, limit }));
  });

  return routes;
}
