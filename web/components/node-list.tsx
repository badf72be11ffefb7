/**
 * Every node with its status and interfaces: the part of the overview that
 * htmx re-fetches from /fragments/nodes and swaps in place.
 */
import type { NodeOverview } from "../../control/queries/nodes.ts";
import { InterfaceTable } from "./interface-table.tsx";
import { NodeFacts, StatusBadge } from "./status.tsx";

export function NodeList(props: { nodes: NodeOverview[]; controlUrl: string }) {
  if (props.nodes.length === 0) return <EmptyState controlUrl={props.controlUrl} />;
  return <>{props.nodes.map((node) => <NodeCard node={node} />)}</>;
}

export function nodePath(name: string): string {
  return `/nodes/${encodeURIComponent(name)}`;
}

function NodeCard(props: { node: NodeOverview }) {
  const { node } = props;
  return (
    <section class="node">
      <header>
        <h2>
          <a href={nodePath(node.name)}>{node.name}</a>
        </h2>
        <StatusBadge node={node} />
        <NodeFacts node={node} />
      </header>
      <InterfaceTable interfaces={node.interfaceStates} />
    </section>
  );
}

function EmptyState(props: { controlUrl: string }) {
  return (
    <div class="empty">
      <p>
        No agent has reported yet. Agents join with a join token, which an admin makes (the admin token was printed
        when this control plane first started, unless EBPF_K8S_ADMIN_TOKEN set it):
      </p>
      <pre>
        <code>{`curl -s -X POST -H "Authorization: Bearer $ADMIN_TOKEN" ${props.controlUrl}/api/v1/join-tokens`}</code>
      </pre>
      <p>Then start an agent on each node with the token from that answer:</p>
      <pre>
        <code>EBPF_K8S_JOIN_TOKEN=TOKEN deno task agent --control {props.controlUrl} --node NAME --interfaces IF</code>
      </pre>
    </div>
  );
}
