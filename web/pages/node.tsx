/**
 * `/nodes/:node`: one node in full (status, modules with switches, programs,
 * maps, features, interfaces), refreshed in place every 2 s by htmx from
 * /fragments/nodes/:node. Renders for any valid name: a node that has not
 * reported yet shows its (pre-provisioned) module switches.
 */
import type { ModuleView } from "../../control/queries/modules.ts";
import type { NodeDetail } from "../../control/queries/nodes.ts";
import type { DesiredState } from "../../control/wire/batch.ts";
import { InterfaceTable } from "../components/interface-table.tsx";
import { InventoryView } from "../components/inventory.tsx";
import { Layout, type Session } from "../components/layout.tsx";
import { ModuleTable } from "../components/module-table.tsx";
import { NodeFacts, StatusBadge } from "../components/status.tsx";
import { podsWhere } from "./pods.tsx";

export function nodeFragmentPath(node: string): string {
  return `/fragments/nodes/${encodeURIComponent(node)}`;
}

export interface NodeView {
  name: string;
  /** Undefined until the node's first batch. */
  detail: NodeDetail | undefined;
  desired: DesiredState;
  modules: ModuleView[];
  isAdmin: boolean;
  loginPath: string;
}

export function NodePage(props: { view: NodeView; session: Session }) {
  const { view } = props;
  return (
    <Layout title={view.name} hint="updates every 2 s" session={props.session}>
      <p class="crumbs">
        <a href="/">← all nodes</a> · <a href={podsWhere("node", view.name)}>pods on {view.name}</a>
      </p>
      <p id="flash" class="flash" role="status"></p>
      <div id="node-detail" hx-get={nodeFragmentPath(view.name)} hx-trigger="every 2s" hx-swap="innerHTML">
        <NodeDetailView view={view} />
      </div>
    </Layout>
  );
}

/** The polled part of the node page. */
export function NodeDetailView(props: { view: NodeView }) {
  const { view } = props;
  const { detail } = view;
  const modules = <ModuleTable node={view.name} desired={view.desired} modules={view.modules} isAdmin={view.isAdmin} loginPath={view.loginPath} />;
  if (detail === undefined) {
    return (
      <>
        <section class="node">
          <header>
            <h2>{view.name}</h2>
            <span class="meta">has not reported yet</span>
          </header>
          <p class="none">
            No batch from a node of this name has arrived. Module switches made here are kept and sent to it when it
            joins (pre-provisioning).
          </p>
        </section>
        {modules}
      </>
    );
  }
  return (
    <>
      <section class="node">
        <header>
          <h2>{detail.name}</h2>
          <StatusBadge node={detail} />
          <NodeFacts node={detail} />
        </header>
        <InterfaceTable interfaces={detail.interfaceStates} />
      </section>
      {modules}
      <InventoryView inventory={detail.inventory} receivedAt={detail.inventoryReceivedAt} />
    </>
  );
}
