// SPDX-License-Identifier: Apache-2.0
/**
 * The notification receivers' page actions (admin; shown on /thresholds, docs/alerts.md):
 *   GET  /fragments/receivers        the list alone
 *   POST /receivers                  add ┐ htmx: the form back with its errors next to the fields (422),
 *                                        │ or a blank form plus the refreshed list and a line in #flash
 *   POST /receivers/:id/enable       ┐ the refreshed list
 *   POST /receivers/:id/disable      │
 *   POST /receivers/:id/delete       ┘
 */
import { type Context, Hono } from "hono";
import { type AccessSettings, requireAdmin } from "../control/auth/access.ts";
import { limitBody, SMALL_BODY_BYTES } from "../control/http/body.ts";
import {
  createReceiver,
  deleteReceiver,
  listReceivers,
  NameTaken,
  updateReceiver,
} from "../control/notify/receivers.ts";
import type { Db } from "../control/queries/handle.ts";
import { ReceiverId } from "../control/routes/receivers.ts";
import {
  BLANK_RECEIVER,
  parseReceiverForm,
  RECEIVER_LIST_ID,
  ReceiverForm,
  receiverFormValues,
  ReceiverList,
  RECEIVERS_FRAGMENT_PATH,
  RECEIVERS_PATH,
} from "./components/notifications.tsx";
import { denyPage, FLASH_ID, flashError } from "./deny.tsx";

export function receiverPageRoutes(db: Db, { now, access }: { now: () => number; access: AccessSettings }): Hono {
  const routes = new Hono();
  const admin = requireAdmin(access, denyPage);
  const list = async () => <ReceiverList receivers={await listReceivers(db)} isAdmin />;

  routes.get(RECEIVERS_FRAGMENT_PATH, admin, async (c) => c.html(await list()));

  routes.post(RECEIVERS_PATH, limitBody(SMALL_BODY_BYTES, "form"), admin, async (c) => {
    const values = receiverFormValues(await c.req.parseBody());
    const parsed = parseReceiverForm(values);
    // Secrets are not sent back into the form: they are typed again.
    if (!parsed.ok) return c.html(<ReceiverForm values={values} errors={parsed.errors} />, 422);
    try {
      const made = await createReceiver(db, parsed.input, now());
      return c.html(
        <>
          <ReceiverForm values={BLANK_RECEIVER} errors={{}} />
          <div id={RECEIVER_LIST_ID} hx-swap-oob="innerHTML">
            {await list()}
          </div>
          <p id={FLASH_ID} class="flash" role="status" hx-swap-oob="true">
            Added the receiver {made.name}: alerts firing and resolving from now on are sent to it.
          </p>
        </>,
      );
    } catch (e) {
      if (!(e instanceof NameTaken)) throw e;
      return c.html(<ReceiverForm values={values} errors={{ name: e.message }} />, 422);
    }
  });

  const change = (action: string, work: (id: string) => Promise<unknown>) =>
    routes.post(`${RECEIVERS_PATH}/:id/${action}`, admin, async (c: Context) => {
      const id = ReceiverId.safeParse(c.req.param("id"));
      const done = id.success ? await work(id.data) : undefined;
      if (done === undefined) return flashError(c, "That receiver no longer exists.", 404);
      return c.html(await list());
    });
  change("enable", (id) => updateReceiver(db, id, { enabled: true }, now()));
  change("disable", (id) => updateReceiver(db, id, { enabled: false }, now()));
  change("delete", (id) => deleteReceiver(db, id));

  return routes;
}
