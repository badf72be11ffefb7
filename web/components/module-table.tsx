// SPDX-License-Identifier: Apache-2.0
/**
 * A node's modules: what it should run, what its agent reports, and (for an
 * admin) a switch per module. Each switch is a small htmx form that posts to
 * the page route, which answers with the refreshed modules region
 * (#node-modules, web/pages/node.tsx). A switch sets an override of the
 * cluster default (/module-defaults); "Reset" drops it.
 */
import type { ModuleView } from "../../control/queries/modules.ts";
import type { DesiredState, ModuleName } from "../../control/wire/batch.ts";

/** Modules that change how traffic flows rather than only watching it: switching them on asks first. */
export const TRAFFIC_CHANGING: ReadonlySet<ModuleName> = new Set(["lb", "accel", "gateway"]);

export const ABOUT: Record<ModuleName, string> = {
  ifstats: "interface RX/TX counters",
  flows: "pod traffic and flows",
  tcp: "TCP health (retransmits, resets, RTT)",
  drops: "dropped packets and why",
  lb: "service load balancing in the kernel",
  accel: "same-node socket acceleration (sockmap)",
  gateway: "north-south gateway in XDP (NodePort, external IPs)",
  dns: "DNS queries, answers and latency per pod",
};

/** The page of the cluster-wide module defaults (web/pages/module-defaults.tsx). */
export const MODULE_DEFAULTS_PATH = "/module-defaults";

export function switchPath(node: string, module: ModuleName): string {
  return `/nodes/${encodeURIComponent(node)}/modules/${module}`;
}

export function ModuleTable(
  props: { node: string; desired: DesiredState; modules: ModuleView[]; isAdmin: boolean; loginPath: string },
) {
  return (
    <section class="panel" id="modules">
      <h3>
        Modules{" "}
        <span class="meta">
          desired state version {props.desired.version} · <a href={MODULE_DEFAULTS_PATH}>cluster defaults</a>
        </span>
      </h3>
      <table>
        <thead>
          <tr>
            <th>Module</th>
            <th>Should run</th>
            <th>Agent reports</th>
            {props.isAdmin && <th>Switch</th>}
          </tr>
        </thead>
        <tbody>
          {props.modules.map((m) => (
            <tr>
              <td>
                {m.name}
                <span class="sub">{ABOUT[m.name]}</span>
              </td>
              <td>
                {m.inherited ? "default" : "overridden"} ({m.desired ? "on" : "off"})
              </td>
              <td>
                <AppliedState module={m} />
              </td>
              {props.isAdmin && (
                <td>
                  <SwitchForm node={props.node} module={m} />
                  {!m.inherited && <ResetForm node={props.node} module={m} />}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {!props.isAdmin && (
        <p class="note">
          Switching modules needs the admin token: <a href={props.loginPath}>log in</a>{" "}
          with it. It was printed once when this control plane first started (or is whatever EBPF_K8S_ADMIN_TOKEN is set
          to).
        </p>
      )}
    </section>
  );
}

function AppliedState(props: { module: ModuleView }) {
  const m = props.module;
  if (m.state === null) {
    return <span class="na" title="no inventory from this agent mentions it yet">not reported</span>;
  }
  return (
    <>
      <span class={`state state-${m.state}`}>{m.state}</span>
      {m.pending && (
        <span class="sub" title="the agent's last report predates this switch">
          waiting for the agent to apply "{m.desired ? "on" : "off"}"
        </span>
      )}
      {m.error !== null && <span class="sub error-text">{m.error}</span>}
    </>
  );
}

function SwitchForm(props: { node: string; module: ModuleView }) {
  const { node, module } = props;
  const turnOn = !module.desired;
  const confirm = turnOn && TRAFFIC_CHANGING.has(module.name)
    ? `${module.name} changes how traffic flows on ${node}. Turn it on?`
    : undefined;
  return (
    <form hx-post={switchPath(node, module.name)} hx-target="#node-modules" hx-swap="innerHTML" hx-confirm={confirm}>
      <input type="hidden" name="enabled" value={String(turnOn)} />
      <button type="submit">{turnOn ? "Turn on" : "Turn off"}</button>
    </form>
  );
}

/** Drops the node's override: the module follows the cluster default again. */
function ResetForm(props: { node: string; module: ModuleView }) {
  const { node, module } = props;
  return (
    <form hx-post={switchPath(node, module.name)} hx-target="#node-modules" hx-swap="innerHTML">
      <input type="hidden" name="enabled" value="default" />
      <button type="submit" title="follow the cluster default again">Reset to default</button>
    </form>
  );
}
