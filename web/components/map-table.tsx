// SPDX-License-Identifier: Apache-2.0
/**
 * A node's eBPF maps with their fill levels, where a fill level means
 * something. A hash or LRU map holds only the keys inserted, so its fill is
 * pressure: a full hash refuses new keys, a full LRU evicts old ones (both
 * counted by the modules). An array, per-CPU or not, holds all its slots from
 * the start (the agent counts the non-zero ones); a single-slot config map is
 * "100 % full" by design, and a red bar there was a false alarm.
 */
import type { MapInfo } from "../../control/wire/batch.ts";
import { formatCount, formatPercent } from "../format.ts";

/** Above these fill levels a hash map's bar turns amber, then red: an LRU map near full starts evicting. */
const FILL_WARN = 0.7;
const FILL_FULL = 0.9;

/** Map types (libbpf's names) whose entries come and go with inserts and deletes: hash, LRU and LPM-trie maps. */
export function fillMeansPressure(type: string): boolean {
  return /hash|lpm_trie/.test(type);
}

const FILL_TITLE =
  "shown for hash and LRU maps only: they hold the keys inserted, so a full one refuses new keys (hash) or evicts " +
  "old ones (LRU). Arrays hold every slot from the start, so they have no fill level";

export function MapTable(props: { maps: MapInfo[] }) {
  return (
    <section class="panel" id="node-maps">
      <h3>eBPF maps</h3>
      {props.maps.length === 0 ? <p class="none">No maps: no program is loaded.</p> : (
        <table>
          <thead>
            <tr>
              <th>Map</th>
              <th>Module</th>
              <th title={FILL_TITLE}>Fill level</th>
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
                  {fillMeansPressure(m.type)
                    ? <FillBar entries={m.entries} maxEntries={m.maxEntries} />
                    : <FixedSlots type={m.type} />}
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

function FixedSlots(props: { type: string }) {
  const array = props.type.includes("array");
  return (
    <span
      class="fill-none na"
      title={array
        ? "an array holds all its slots from the start: no fill level; the entries count the slots holding a non-zero value"
        : "this kind of map has no fill level that means pressure"}
    >
      {array ? "fixed slots" : "n/a"}
    </span>
  );
}
