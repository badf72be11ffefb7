/**
 * Every node with its interfaces: the part of the overview that htmx
 * re-fetches from /fragments/nodes and swaps in place.
 */
import type { NodeOverview } from "../../control/queries/nodes.ts";
import { formatAgo } from "../format.ts";
import { InterfaceTable } from "./interface-table.tsx";

export function NodeList(props: { nodes: NodeOverview[]; controlUrl: string }) {
  if (props.nodes.length === 0) return <EmptyState controlUrl={props.controlUrl} />;
  return <>{props.nodes.map((node) => <NodeCard node={node} />)}</>;
}

function NodeCard(props: { node: NodeOverview }) {
  const { node } = props;
  return (
    <section class="node">
      <header>
        <h2>{node.name}</h2>
        <span class="meta" title={node.lastSeen}>
          last seen {formatAgo(node.lastSeenAgoSeconds)}
        </span>
        <span class="meta">
          boot <code title={node.bootId}>{node.bootId.slice(0, 8)}</code>
        </span>
      </header>
      <InterfaceTable interfaces={node.interfaceStates} />
    </section>
  );
}

function EmptyState(props: { controlUrl: string }) {
  return (
    <div class="empty">
      <p>No agent has reported yet. Start one with:</p>
      <pre>
        <code>deno task agent --control {props.controlUrl} --node NAME --interfaces IF</code>
      </pre>
    </div>
  );
}
