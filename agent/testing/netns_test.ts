// SPDX-License-Identifier: Apache-2.0
/** The test network is quiet (no ARP/ND/RS), traffic helpers are exact, close() removes everything. */
import { assert, assertEquals } from "./assert.ts";
import { kernelTest } from "./kernel.ts";
import { createVethPair, interfaceStats, netnsPrefix, ping, sendUdp, statsDelta } from "./netns.ts";
import { output } from "./run.ts";

kernelTest("a fresh veth pair sends nothing by itself; ping and sendUdp send exactly what was asked", {
  needs: ["root", "iproute2", "ping"],
}, async () => {
  const net = await createVethPair({ ipA: "10.244.251.1", ipB: "10.244.251.2" });
  try {
    assert(net.nsA.startsWith(netnsPrefix()) && net.nsB.startsWith(netnsPrefix()));
    assert(net.ifA.startsWith("ek8s") && net.ifA.length <= 15);
    await new Promise((r) => setTimeout(r, 300));
    const idle = await interfaceStats(net.nsA, net.ifA);
    assertEquals([idle.txPackets, idle.rxPackets], [0, 0], "no ARP, ND or router solicitations");

    await ping(net.nsA, net.ipB, { count: 5, size: 1000 });
    const p = statsDelta(idle, await interfaceStats(net.nsA, net.ifA));
    assertEquals([p.txPackets, p.rxPackets, p.txBytes, p.rxBytes], [5, 5, 5 * 1042, 5 * 1042]);

    const b0 = await interfaceStats(net.nsB, net.ifB);
    await sendUdp(net.nsA, net.ipB, 9, { count: 4, size: 100 });
    const u = statsDelta(b0, await interfaceStats(net.nsB, net.ifB));
    assertEquals([u.rxPackets, u.rxBytes], [4, 4 * (100 + 8 + 20 + 14)]);
    assertEquals(u.txPackets, 4, "one ICMP port unreachable per datagram");
  } finally {
    await net.close();
    await net.close(); // harmless twice
  }
  const left = (await output(["ip", "netns", "list"])).split("\n").filter((l) =>
    l.startsWith(net.nsA) || l.startsWith(net.nsB)
  );
  assertEquals(left, []);
});
