// SPDX-License-Identifier: Apache-2.0
/**
 * `/module-defaults`: the cluster-wide module defaults (control/registry/desired-state.ts), which every node
 * follows for each module it has no override for (the node page switches and resets overrides), and for an
 * admin the form that changes them. A change gives every node a new desired-state version: its agent applies
 * it within one interval.
 */
import type { ModuleDefaultsView } from "../../control/registry/desired-state.ts";
import { MODULES } from "../../control/wire/batch.ts";
import { Layout, type Session } from "../components/layout.tsx";
import { ABOUT, MODULE_DEFAULTS_PATH, TRAFFIC_CHANGING } from "../components/module-table.tsx";

const REGION_ID = "module-defaults";

export function ModuleDefaultsPage(props: { view: ModuleDefaultsView; isAdmin: boolean; session: Session }) {
  return (
    <Layout title="Module defaults" session={props.session}>
      <p class="crumbs">
        <a href="/">← all nodes</a>
      </p>
      <p id="flash" class="flash" role="status"></p>
      <div id={REGION_ID}>
        <ModuleDefaultsForm view={props.view} isAdmin={props.isAdmin} />
      </div>
    </Layout>
  );
}

/** The defaults, as a form for an admin (a choice per module; posting answers with this region again). */
export function ModuleDefaultsForm(props: { view: ModuleDefaultsView; isAdmin: boolean }) {
  const { view, isAdmin } = props;
  return (
    <section class="panel">
      <h3>
        Cluster defaults <span class="meta">desired state version {view.version}</span>
      </h3>
      <p class="note">
        Every node runs a module as set here unless its node page overrides it ("overridden" there; "Reset" makes it
        follow the default again). A node that joins later starts with these. Changing a default gives every node a new
        desired-state version; its agent applies it within one interval.
      </p>
      <form
        hx-post={MODULE_DEFAULTS_PATH}
        hx-target={`#${REGION_ID}`}
        hx-swap="innerHTML"
        hx-confirm="Every node that follows a changed default applies it within one interval. Save the defaults?"
      >
        <table>
          <thead>
            <tr>
              <th>Module</th>
              <th>Default</th>
              <th>Set by</th>
            </tr>
          </thead>
          <tbody>
            {MODULES.map((m) => (
              <tr>
                <td>
                  {m}
                  <span class="sub">
                    {ABOUT[m]}
                    {TRAFFIC_CHANGING.has(m) ? " (changes how traffic flows)" : ""}
                  </span>
                </td>
                <td>
                  {isAdmin
                    ? (
                      <select name={m} aria-label={`${m} default`}>
                        <option value="on" selected={view.modules[m]}>on</option>
                        <option value="off" selected={!view.modules[m]}>off</option>
                      </select>
                    )
                    : (view.modules[m] ? "on" : "off")}
                </td>
                <td>{view.set.includes(m) ? "an admin" : "built in"}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {isAdmin && <button type="submit">Save defaults</button>}
      </form>
    </section>
  );
}
