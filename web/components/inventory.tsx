// SPDX-License-Identifier: Apache-2.0
/**
 * What a node's agent reported running: its eBPF programs with their run
 * statistics, its maps with fill levels (map-table.tsx), and the kernel
 * features it probed. Its spool is in the health summary (node-health.tsx).
 */
import type { Inventory, ProgramInfo } from "../../control/wire/batch.ts";
import { formatCount, formatNanos, MISSING } from "../format.ts";
import { MapTable } from "./map-table.tsx";

export function InventoryView(props: { inventory: Inventory | null; receivedAt: string | null }) {
  const { inventory } = props;
  if (inventory === null) {
    return (
      <section class="panel">
        <h3>Programs, maps and kernel features</h3>
        <p class="none">
          This agent has not sent an inventory yet. Agents send one with every batch; an agent that predates inventories
          only reports interface counters.
        </p>
      </section>
    );
  }
  return (
    <>
      <section class="panel">
        <h3>
          Kernel <span class="meta" title={`inventory received ${props.receivedAt}`}>{inventory.kernel}</span>
        </h3>
        <p class="facts">
          <Flag on={inventory.btf} label="BTF" why="CO-RE programs need /sys/kernel/btf/vmlinux" />
          <Flag
            on={inventory.bpfStats}
            label="bpf_stats"
            why="program run counts and times (kernel.bpf_stats_enabled)"
          />
        </p>
        <FeatureList features={inventory.features} />
      </section>
      <ProgramTable programs={inventory.programs} bpfStats={inventory.bpfStats} />
      <MapTable maps={inventory.maps} />
    </>
  );
}

function Flag(props: { on: boolean; label: string; why: string }) {
  return (
    <span class={props.on ? "flag flag-on" : "flag flag-off"} title={props.why}>
      {props.label} {props.on ? "yes" : "no"}
    </span>
  );
}

function FeatureList(props: { features: Record<string, boolean> }) {
  const names = Object.keys(props.features).sort();
  if (names.length === 0) return <p class="none">The agent probed no kernel features.</p>;
  return (
    <ul class="features">
      {names.map((name) => (
        <li class={props.features[name] ? "flag flag-on" : "flag flag-off"}>
          {name} {props.features[name] ? "✓" : "✗"}
        </li>
      ))}
    </ul>
  );
}

function ProgramTable(props: { programs: ProgramInfo[]; bpfStats: boolean }) {
  return (
    <section class="panel" id="node-programs">
      <h3>eBPF programs</h3>
      {props.programs.length === 0
        ? <p class="none">No programs loaded: every module is off, or none could load (see the modules above).</p>
        : (
          <table>
            <thead>
              <tr>
                <th>Program</th>
                <th>Module</th>
                <th>Attached to</th>
                <th>Runs</th>
                <th>Avg per run</th>
                <th>Total run time</th>
              </tr>
            </thead>
            <tbody>
              {props.programs.map((p) => (
                <tr>
                  <td>
                    {p.name}
                    <span class="sub">
                      {p.type} · id {p.id}
                    </span>
                  </td>
                  <td>{p.module}</td>
                  <td class="text">{p.attach}</td>
                  <RunStats program={p} />
                </tr>
              ))}
            </tbody>
          </table>
        )}
      {!props.bpfStats && props.programs.length > 0 && (
        <p class="note">
          Run counts and times need <code>sysctl -w kernel.bpf_stats_enabled=1</code>{" "}
          on the node (off by default: it adds a few ns to every run).
        </p>
      )}
    </section>
  );
}

function RunStats(props: { program: ProgramInfo }) {
  const { runCount, runTimeNs } = props.program;
  if (runCount === undefined || runTimeNs === undefined) {
    return (
      <>
        <td class="na">{MISSING}</td>
        <td class="na">{MISSING}</td>
        <td class="na">{MISSING}</td>
      </>
    );
  }
  return (
    <>
      <td>{formatCount(runCount)}</td>
      <td>{runCount === 0 ? MISSING : formatNanos(runTimeNs / runCount)}</td>
      <td>{formatNanos(runTimeNs)}</td>
    </>
  );
}
