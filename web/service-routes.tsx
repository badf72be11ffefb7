// SPDX-License-Identifier: Apache-2.0
/**
 * The services pages (read-protected like the overview):
 *   GET  /services?since=&edit=&namespace=&q=&state=&offset=   the list (filtered, 100 a page) and, for an admin, the
 *                                              form that creates one
 *                                              (?edit=namespace/name/port fills it with that port, to change it)
 *   GET  /services/:namespace/:name?since=     a service's ports and backends
 *   (and each under /fragments, polled)
 *   POST /services                                              create  ┐ admin, htmx: the form back with its errors
 *   POST /services/:namespace/:name/:port                       change  │ next to the fields (422), or the refreshed
 *   POST /services/:namespace/:name/:port/backends/:ip::port/state   │ region and a line in #flash
 *   POST /services/:namespace/:name/:port/delete                 delete ┘
 * `:port` is the port name, "-" for the unnamed one. Services Kubernetes
 * manages are refused (409, said in #flash), as in the API.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { callerOf, requireAdmin, requireReader } from "../control/auth/access.ts";
import type { Db } from "../control/queries/handle.ts";
import { limitBody, SMALL_BODY_BYTES } from "../control/http/body.ts";
import { optionalParam, TimeParam } from "../control/queries/monitoring/window.ts";
import { queryServiceMap } from "../control/queries/monitoring/servicemap.ts";
import { queryDrops } from "../control/queries/monitoring/drops.ts";
import { serviceKey } from "../control/monitoring/attribution.ts";
import { dropsByPodAndReason } from "../control/monitoring/drops.ts";
import { DEFAULT_RETENTION, type RetentionSettings } from "../control/monitoring/rollup.ts";
import { pageWindow } from "./page-params.ts";
import {
  BackendParams,
  NameParams,
  RefParams,
  SERVICE_BODY_BYTES,
  type ServiceRouteOptions,
} from "../control/routes/services.ts";
import { loadStored } from "../control/services/apply.ts";
import { ServiceConflict } from "../control/services/errors.ts";
import { describeRef, type ServiceRef } from "../control/services/keys.ts";
import {
  createService,
  deleteService,
  inputOf,
  replaceService,
  setBackendState,
  type Written,
} from "../control/services/model.ts";
import { byName, byRef, serviceViews } from "../control/services/views.ts";
import { queryServiceList } from "../control/queries/service-list.ts";
import { BackendState, type ServiceInput } from "../control/wire/services.ts";
import { Layout, loginPath, sessionOf } from "./components/layout.tsx";
import {
  BLANK_SERVICE_FORM,
  conflictErrors,
  editServiceForm,
  parseServiceForm,
  ServiceForm,
  type ServiceFormErrors,
  serviceFormValues,
  SERVICES_PATH,
} from "./components/service-form.tsx";
import { denyPage, FLASH_ID, flashError } from "./deny.tsx";
import { badParameterText } from "./page-params.ts";
import { ServiceDetail, ServicePage, type ServicePageView } from "./pages/service.tsx";
import {
  DEFAULT_SERVICE_SINCE,
  externalText,
  frontendText,
  parseServiceQuery,
  SERVICE_LIST_ID,
  ServiceList,
  SERVICES_FRAGMENT_PATH,
  ServicesPage,
  type ServicesPageView,
} from "./pages/services.tsx";

const SinceQuery = z.object({ since: z.preprocess((v) => (v === "" ? undefined : v), TimeParam.optional()) });
/** ?edit=namespace/name/port ("-" for the unnamed port). */
const EditQuery = z.object({
  edit: optionalParam(
    z.preprocess((v) => {
      const [namespace, name, portName, ...more] = String(v).split("/");
      return more.length > 0 ? v : { namespace, name, portName };
    }, RefParams),
  ),
});
const StateForm = z.object({ state: BackendState });

/**
 * What the form sends has no backend states (nor pods): a backend it keeps
 * (same ip and port) keeps those of the stored one, a new one starts active.
 */
function keepBackendStates(input: ServiceInput, stored: ServiceInput): ServiceInput {
  const before = new Map(stored.backends.map((b) => [`${b.ip}:${b.port}`, b]));
  return {
    ...input,
    backends: input.backends.map((b) => {
      const old = before.get(`${b.ip}:${b.port}`);
      return old === undefined ? b : { ...b, state: old.state, ...(old.pod ? { pod: old.pod } : {}) };
    }),
  };
}

/** The query of the page an htmx request came from (HX-Current-URL). */
function pageQuery(url: string | undefined): URLSearchParams {
  try {
    return new URL(url ?? "").searchParams;
  } catch {
    return new URLSearchParams();
  }
}

/** `retention`: of the monitoring data, for the window of a service's traffic (its clients and backends). */
export function servicePageRoutes(
  db: Db,
  { now, access, lostAfterMs, retention = DEFAULT_RETENTION }: ServiceRouteOptions & { retention?: RetentionSettings },
): Hono {
  const routes = new Hono();
  const reader = requireReader(access, denyPage);
  const admin = requireAdmin(access, denyPage);
  const isAdmin = async (c: Context) => (await callerOf(c, access)).role === "admin";

  /** ?since= of the request, or (for a form's answer) of the page that posted it. */
  function sinceOf(
    c: Context,
    fromPage = false,
  ): { ok: true; raw: string; spec: z.output<typeof SinceQuery>["since"] } | { ok: false; message: string } {
    const page = c.req.header("hx-current-url");
    const raw = fromPage ? (pageQuery(page).get("since") ?? undefined) : c.req.query("since");
    const query = SinceQuery.safeParse({ since: raw });
    if (!query.success) return fromPage ? sinceOf(c) : { ok: false, message: badParameterText(query.error) };
    return { ok: true, raw: raw?.trim() || DEFAULT_SERVICE_SINCE, spec: query.data.since };
  }

  /** The list's page; its filters and page from the request, or (`fromPage`, a form's answer) the page that posted. */
  async function listPage(
    c: Context,
    since: { raw: string; spec: z.output<typeof SinceQuery>["since"] },
    fromPage = false,
  ): Promise<ServicesPageView> {
    const at = now();
    const pageParams = fromPage ? pageQuery(c.req.header("hx-current-url")) : undefined;
    const query = parseServiceQuery((k) => pageParams ? (pageParams.get(k) ?? undefined) : c.req.query(k));
    const { view, page } = await queryServiceList(
      db,
      { now: at, since: since.spec, nodesPolledWithinMs: lostAfterMs },
      query,
    );
    return {
      view,
      query,
      page,
      since: since.raw,
      now: at,
      isAdmin: await isAdmin(c),
      loginPath: loginPath(SERVICES_PATH),
    };
  }

  async function detailPage(
    c: Context,
    name: { namespace: string; name: string },
    since: { raw: string; spec: z.output<typeof SinceQuery>["since"] },
  ): Promise<ServicePageView> {
    const at = now();
    // The page's window (1 h unless ?since= says otherwise), not the monitoring API's default of 5 min.
    const spec = since.spec ?? SinceQuery.parse({ since: DEFAULT_SERVICE_SINCE }).since;
    const w = pageWindow(since.raw, spec, at, retention);
    const [view, traffic, drops] = await Promise.all([
      serviceViews(db, {
        now: at,
        since: since.spec,
        nodesPolledWithinMs: lostAfterMs,
        where: byName(name.namespace, name.name),
      }),
      // sinceOf refused a since in the future already, so the window exists.
      w.ok ? queryServiceMap(db, w.window, { service: name }) : undefined,
      w.ok ? queryDrops(db, w.window, { service: serviceKey({ kind: "service", ...name }) }) : undefined,
    ]);
    return {
      ...name,
      view,
      traffic,
      drops: drops && dropsByPodAndReason(drops.drops),
      since: since.raw,
      isAdmin: await isAdmin(c),
    };
  }

  /** The stored port `ref`, if there is one. */
  const storedPort = async (ref: ServiceRef) => (await loadStored(db, byRef(ref)))[0];

  const refusal = async (c: Context, status: 400 | 404 | 409, message: string) =>
    c.html(
      <Layout title="Services" session={await sessionOf(c, access)}>
        <div class="empty">
          <p>{message}</p>
          <p>
            <a href={SERVICES_PATH}>All services</a>
          </p>
        </div>
      </Layout>,
      status,
    );

  routes.get(SERVICES_PATH, reader, async (c) => {
    const since = sinceOf(c);
    if (!since.ok) return refusal(c, 400, since.message);
    const query = EditQuery.safeParse({ edit: c.req.query("edit") });
    if (!query.success) {
      return refusal(
        c,
        400,
        "The parameter 'edit' must name a port as namespace/name/port, \"-\" for the unnamed port.",
      );
    }
    let form = BLANK_SERVICE_FORM;
    const ref = query.data.edit;
    if (ref !== undefined) {
      const stored = await storedPort(ref);
      if (stored === undefined) {
        return refusal(c, 404, `There is no ${describeRef(ref)}: it was never made, or it was deleted.`);
      }
      if (stored.row.source !== "api") {
        return refusal(
          c,
          409,
          `${describeRef(ref)} comes from Kubernetes and is read-only here: change its Service or EndpointSlices.`,
        );
      }
      form = editServiceForm(inputOf(stored));
    }
    const [page, session] = await Promise.all([listPage(c, since), sessionOf(c, access)]);
    return c.html(<ServicesPage page={page} form={form} session={session} />);
  });

  routes.get(SERVICES_FRAGMENT_PATH, reader, async (c) => {
    const since = sinceOf(c);
    if (!since.ok) return c.html(<p class="empty">{since.message}</p>, 400);
    return c.html(<ServiceList page={await listPage(c, since)} />);
  });

  routes.get(`${SERVICES_PATH}/:namespace/:name`, reader, async (c) => {
    const params = NameParams.safeParse(c.req.param());
    if (!params.success) {
      return refusal(c, 400, "Not a service name: a namespace and a name, each a lowercase RFC 1123 name.");
    }
    const since = sinceOf(c);
    if (!since.ok) return refusal(c, 400, since.message);
    const [page, session] = await Promise.all([detailPage(c, params.data, since), sessionOf(c, access)]);
    if (page.view.services.length === 0) {
      return refusal(
        c,
        404,
        `No service is named ${params.data.namespace}/${params.data.name}: it was never made, or it was deleted.`,
      );
    }
    return c.html(<ServicePage page={page} session={session} />);
  });

  routes.get(`/fragments${SERVICES_PATH}/:namespace/:name`, reader, async (c) => {
    const params = NameParams.safeParse(c.req.param());
    const since = sinceOf(c);
    if (!params.success || !since.ok) {
      return c.html(<p class="empty">{since.ok ? "Not a service name." : since.message}</p>, 400);
    }
    return c.html(<ServiceDetail page={await detailPage(c, params.data, since)} />);
  });

  /**
   * The form posted to create (`editing` undefined) or change a port: 422
   * with the form and its errors (a conflict included) and nothing written;
   * else a blank form, the refreshed list and a line saying what was saved.
   * `write` answers undefined when the port to change is gone.
   */
  async function saveForm(
    c: Context,
    editing: ServiceRef | undefined,
    write: (input: ServiceInput) => Promise<Written | undefined>,
  ): Promise<Response> {
    // A change keeps the port's name, whatever was posted for it.
    const values = { ...serviceFormValues(await c.req.parseBody()), ...editing };
    const again = (errors: ServiceFormErrors) => c.html(<ServiceForm state={{ editing, values, errors }} />, 422);
    const parsed = parseServiceForm(values);
    if (!parsed.ok) return again(parsed.errors);
    const { input } = parsed;
    let done: Written | undefined;
    try {
      done = await write(input);
    } catch (err) {
      if (!(err instanceof ServiceConflict)) throw err;
      return again(conflictErrors(err, input));
    }
    if (done === undefined) return flashError(c, `${describeRef(input)} no longer exists.`, 404);
    const since = sinceOf(c, true);
    const outside = externalText(input);
    return c.html(
      <>
        <ServiceForm state={BLANK_SERVICE_FORM} />
        <div id={SERVICE_LIST_ID} hx-swap-oob="innerHTML">
          <ServiceList
            page={await listPage(c, since.ok ? since : { raw: DEFAULT_SERVICE_SINCE, spec: undefined }, true)}
          />
        </div>
        <p id={FLASH_ID} class="flash" role="status" hx-swap-oob="true">
          {editing === undefined ? "Created" : "Saved"} {describeRef(input)}: {frontendText(input)}
          {outside && ` (${input.type}: ${outside})`} with {input.backends.length}{" "}
          {input.backends.length === 1 ? "backend" : "backends"}
          {editing !== undefined && ` (version ${done.version})`}. Nodes apply it within seconds.
        </p>
      </>,
      200,
      // A change's URL (?edit=) would reopen the form on reload.
      editing === undefined ? {} : { "HX-Push-Url": SERVICES_PATH },
    );
  }

  routes.post(
    SERVICES_PATH,
    limitBody(SERVICE_BODY_BYTES, "form"),
    admin,
    (c) => saveForm(c, undefined, (input) => createService(db, input, now())),
  );

  routes.post(
    `${SERVICES_PATH}/:namespace/:name/:portName`,
    limitBody(SERVICE_BODY_BYTES, "form"),
    admin,
    async (c) => {
      const params = RefParams.safeParse(c.req.param());
      if (!params.success) return flashError(c, "No such service.", 404);
      const ref = params.data;
      return saveForm(c, ref, async (input) => {
        const stored = await storedPort(ref);
        return stored === undefined
          ? undefined
          : replaceService(db, ref, keepBackendStates(input, inputOf(stored)), now());
      });
    },
  );

  /** After a change to `ref`: the service's region refreshed, and a line saying what happened. */
  async function changed(c: Context, ref: ServiceRef, message: string) {
    const since = sinceOf(c, true);
    const page = await detailPage(c, ref, since.ok ? since : { raw: DEFAULT_SERVICE_SINCE, spec: undefined });
    return c.html(
      <>
        <ServiceDetail page={page} />
        <p id={FLASH_ID} class="flash" role="status" hx-swap-oob="true">
          {message}
        </p>
      </>,
    );
  }

  /** A write to one service; a conflict (Kubernetes manages it) is said in #flash. */
  async function guarded(c: Context, write: () => Promise<Response>): Promise<Response> {
    try {
      return await write();
    } catch (err) {
      if (err instanceof ServiceConflict) return flashError(c, err.message, 409);
      throw err;
    }
  }

  routes.post(
    `${SERVICES_PATH}/:namespace/:name/:portName/backends/:endpoint/state`,
    limitBody(SMALL_BODY_BYTES, "form"),
    admin,
    async (c) => {
      const params = BackendParams.safeParse(c.req.param());
      if (!params.success) return flashError(c, "No such service or backend.", 404);
      const form = StateForm.safeParse(await c.req.parseBody());
      if (!form.success) return flashError(c, "The state must be active, terminating or unhealthy.");
      const { endpoint, ...ref } = params.data;
      const { state } = form.data;
      return guarded(c, async () => {
        const done = await setBackendState(db, ref, endpoint, state, now());
        if ("missing" in done) {
          return flashError(
            c,
            done.missing === "service"
              ? `${describeRef(ref)} no longer exists.`
              : `${describeRef(ref)} has no backend ${endpoint.ip}:${endpoint.port} any more.`,
            404,
          );
        }
        const effect = state === "active"
          ? "it takes new connections"
          : "it gets no new connections and keeps the ones it has";
        return changed(
          c,
          ref,
          `${endpoint.ip}:${endpoint.port} of ${
            describeRef(ref)
          } is now ${state}: ${effect} (version ${done.version}).`,
        );
      });
    },
  );

  routes.post(`${SERVICES_PATH}/:namespace/:name/:portName/delete`, admin, async (c) => {
    const params = RefParams.safeParse(c.req.param());
    if (!params.success) return flashError(c, "No such service.", 404);
    const ref = params.data;
    return guarded(c, async () => {
      const done = await deleteService(db, ref, now());
      if (done === undefined) return flashError(c, `${describeRef(ref)} no longer exists.`, 404);
      return changed(
        c,
        ref,
        `Deleted ${describeRef(ref)} (version ${done.version}); nodes stop balancing it within seconds.`,
      );
    });
  });

  return routes;
}
