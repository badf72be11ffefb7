// SPDX-License-Identifier: Apache-2.0
/** A node's health at a glance: colour plus the word (never colour alone), and when it last reported. */
import type { NodeSummary } from "../../control/queries/nodes.ts";
import { formatAgo } from "../format.ts";

/** What each status means, in words (the badge's title; the node page's health summary). */
export const STATUS_MEANING = {
  Ready: "reporting on time",
  Stale: "a batch is overdue",
  Lost: "no batch for a long time: agent stopped, node down or unreachable",
} as const;

export function StatusBadge(props: { node: Pick<NodeSummary, "status" | "lastSeen" | "lastSeenAgoSeconds"> }) {
  const { status, lastSeen, lastSeenAgoSeconds } = props.node;
  return (
    <span class={`status status-${status.toLowerCase()}`} title={`${STATUS_MEANING[status]}; last batch ${lastSeen}`}>
      {status}
      <span class="seen">{" · last seen "}{formatAgo(lastSeenAgoSeconds)}</span>
    </span>
  );
}

/** Agent version and kernel, or why they are missing. */
export function NodeFacts(props: { node: Pick<NodeSummary, "agentVersion" | "kernel" | "bootId"> }) {
  const { agentVersion, kernel, bootId } = props.node;
  return (
    <>
      {agentVersion === null
        ? <span class="meta na" title="this agent has not sent an inventory yet">agent version unknown</span>
        : <span class="meta">agent {agentVersion}</span>}
      {kernel !== null && <span class="meta">kernel {kernel}</span>}
      <span class="meta">
        boot <code title={bootId}>{bootId.slice(0, 8)}</code>
      </span>
    </>
  );
}
