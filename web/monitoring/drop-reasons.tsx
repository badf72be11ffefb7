// SPDX-License-Identifier: Apache-2.0
/**
 * A drop reason as the pages show it: the kernel's name with its meaning as
 * a title, and under each table of drops a legend of the reasons it lists
 * (control/monitoring/drop-reasons.ts holds the texts).
 */
import { dropReasonText } from "../../control/monitoring/drop-reasons.ts";

export function ReasonCell(props: { reason: string }) {
  return (
    <td class="reason">
      <code title={dropReasonText(props.reason)}>{props.reason}</code>
    </td>
  );
}

/** Each reason of `rows` once, in the order they first appear. */
export function ReasonLegend(props: { rows: readonly { reason: string }[] }) {
  const reasons = [...new Set(props.rows.map((r) => r.reason))];
  if (reasons.length === 0) return null;
  return (
    <ul class="reason-legend note" aria-label="what the drop reasons mean">
      {reasons.map((reason) => (
        <li>
          <code>{reason}</code>: {dropReasonText(reason)}
        </li>
      ))}
    </ul>
  );
}
