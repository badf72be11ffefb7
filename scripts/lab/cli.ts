/**
 * npm run lab -- up [--name lab] [--index 0] [--nodes 2] [--pods 3] [--traffic]
 * npm run lab -- down [--name lab]
 * npm run lab -- status [--name lab]
 */
import { parseArgs } from "node:util";
import { labAttach, labDown, labUp, startTraffic } from "./lab.ts";
import { readRecord } from "./records.ts";
import { topology } from "./topology.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: "string", default: "lab" },
    index: { type: "string", default: "0" },
    nodes: { type: "string", default: "2" },
    pods: { type: "string", default: "3" },
    traffic: { type: "boolean", default: false },
  },
});

const cmd = positionals[0] ?? "status";
try {
  if (cmd === "up") {
    const lab = labUp({
      name: values.name,
      index: Number(values.index),
      nodes: Number(values.nodes),
      podsPerNode: Number(values.pods),
    });
    if (values.traffic) startTraffic(lab);
    console.log(JSON.stringify(lab.topology, null, 1));
  } else if (cmd === "traffic") {
    const lab = labAttach(values.name);
    if (!lab) throw new Error(`lab '${values.name}' is not up`);
    startTraffic(lab);
  } else if (cmd === "down") {
    labDown(values.name);
  } else if (cmd === "status") {
    const rec = readRecord(values.name);
    if (!rec) console.log(`lab '${values.name}' is not up`);
    else console.log(JSON.stringify({ topology: topology(rec.options), created: rec.created }, null, 1));
  } else {
    throw new Error(`unknown command '${cmd}' (up, traffic, down, status)`);
  }
} catch (e) {
  console.error(`lab: ${(e as Error).message}`);
  process.exit(1);
}
