// SPDX-License-Identifier: Apache-2.0
/**
 * What a node's agent reported running: its eBPF programs with their run
 * statistics, its maps with fill levels, and the kernel features it probed.
 */
import type { Inventory, MapInfo, ProgramInfo } from "../../control/wire/batch.ts";
import { formatCount, formatNanos, formatPercent, MISSING } from "../format.ts";

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
          <Spool spool={inventory.spool} />
          <Quarantined spool={inventory.spool} />
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

/** Merged batches lose nothing (their deltas are summed); dropped ones do, so only those flag the node. */
function Spool(props: { spool: Inventory["spool"] }) {
  const { pending, dropped, merged } = props.spool;
  return (
    <span
      class={dropped > 0 ? "flag flag-off" : "flag"}
      title="batches the agent keeps on disk until the control plane acknowledges them; when the spool is full the oldest are merged (their counts summed), and dropped only if none can be"
    >
      spool: {formatCount(pending)} pending{merged === undefined ? "" : `, ${formatCount(merged)} merged`},{" "}
      {formatCount(dropped)} dropped (spool full)
    </span>
  );
}

/** Refused batches the agent keeps (agent/refusals.ts); shown only when there are some: they wait for a fix. */
function Quarantined(props: { spool: Inventory["spool"] }) {
  const { quarantined = 0, quarantineDropped = 0 } = props.spool;
  if (quarantined === 0 && quarantineDropped === 0) return null;
  return (
    <span
      class="flag flag-off"
      title="batches this control plane refused as invalid (400/413); the agent keeps them in <state-dir>/quarantine/ with the reason and sends them again every 10 min and after a control plane restart"
    >
      quarantine: {formatCount(quarantined)} refused batches kept, {formatCount(quarantineDropped)} dropped (full)
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
    <section class="panel">
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

/** Above these fill levels a map's bar turns amber, then red: an LRU map near full starts evicting. */
const FILL_WARN = 0.7;
const FILL_FULL = 0.9;

function MapTable(props: { maps: MapInfo[] }) {
  return (
    <section class="panel">
      <h3>eBPF maps</h3>
      {props.maps.length === 0 ? <p class="none">No maps: no program is loaded.</p> : (
        <table>
          <thead>
            <tr>
              <th>Map</th>
              <th>Module</th>
              <th>Fill level</th>
              <th>Entries</th>
            </tr>
          </thead>
          <tbody>
            {props.maps.map((m) => (
              <tr>
                <td>
                  {m.name}
                  <span class="sub">
                    {m.type} · id {m.id}
                  </span>
                </td>
                <td>{m.module}</td>
                <td>
                  <FillBar entries={m.entries} maxEntries={m.maxEntries} />
                </td>
                <td>
                  {formatCount(m.entries)} / {formatCount(m.maxEntries)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function FillBar(props: { entries: number; maxEntries: number }) {
  const fraction = props.maxEntries > 0 ? Math.min(1, props.entries / props.maxEntries) : 0;
  const level = fraction >= FILL_FULL ? "full" : fraction >= FILL_WARN ? "warn" : "ok";
  const percent = formatPercent(props.entries, props.maxEntries);
  return (
    <span class="fill" title={`${percent} full`}>
      <span class={`bar bar-${level}`} style={`width: ${(fraction * 100).toFixed(1)}%`}></span>
      <span class="pct">{percent}</span>
    </span>
  );
}
