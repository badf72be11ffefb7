// SPDX-License-Identifier: Apache-2.0
/**
 * The overview's status line about replicas (control/lease/): which replica
 * runs the once-only work (Kubernetes sync, rollups and retention, alerts),
 * and which one answered this page. Refreshed with the node list, so a
 * take-over shows within a poll.
 */
import type { LeaseView } from "../../control/lease/status.ts";

export function LeaseLine(props: { view: LeaseView }) {
  const { holder, self } = props.view;
  const here = self
    ? (
      <>
        {" "}This page: <code>{self.replica}</code>
        {self.held ? " (the holder)" : ""}.
      </>
    )
    : null;
  return (
    <p class="lease-line" role="status">
      {holder === null
        ? "Once-only work (Kubernetes sync, rollups and retention, alerts): no replica holds the lease right now."
        : (
          <>
            Once-only work (Kubernetes sync, rollups and retention, alerts) runs on replica <code>{holder}</code>.
          </>
        )}
      {here}
    </p>
  );
}
