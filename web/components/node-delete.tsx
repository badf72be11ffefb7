// SPDX-License-Identifier: Apache-2.0
/**
 * The node page's delete form (admin only): removes the node from the registry with its credentials and desired
 * state (control/registry/node-removal.ts) after the browser's confirmation, then goes back to the overview.
 */

export function nodeDeletePath(node: string): string {
  return `/nodes/${encodeURIComponent(node)}/delete`;
}

export function NodeDeleteForm(props: { node: string }) {
  const { node } = props;
  return (
    <section class="panel" id="node-delete">
      <h3>Delete this node</h3>
      <p class="note">
        For a machine that is gone: removes {node}{" "}
        from the lists with its credential, its module overrides and its current state. Its statistics stay until
        retention ages them out. An agent still running on it is refused (401) and joins again as a new node if it has a
        join token: remove the agent first.
      </p>
      <form
        hx-post={nodeDeletePath(node)}
        hx-confirm={`Delete node ${node}? Its agent's credential stops working, and its module overrides are lost.`}
      >
        <button type="submit">Delete node {node}</button>
      </form>
    </section>
  );
}
