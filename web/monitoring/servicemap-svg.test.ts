// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { edgeWidth, escapeXml, FAIL_COLOUR, layout, serviceMapSvg } from "./servicemap-svg.ts";

const count = (s: string, needle: string) => s.split(needle).length - 1;

describe("serviceMapSvg", () => {
  const nodes = [
    { id: "ip:203.0.113.1", label: "203.0.113.1", kind: "world" },
    { id: "pod:u-db", label: "data/db", kind: "pod" },
    { id: "pod:u-web", label: "default/web", kind: "pod" },
    { id: "svc:x", label: 'default/<script>"x"&', kind: "service" },
  ];
  const edges = [
    { source: "pod:u-web", target: "pod:u-db", bytes: 5_300, connections: 4, failures: 0 },
    { source: "ip:203.0.113.1", target: "pod:u-db", bytes: 40, connections: 2, failures: 1 },
    { source: "pod:u-web", target: "svc:x", bytes: 0, connections: 1, failures: 0 },
  ];
  const svg = serviceMapSvg({ nodes, edges });

  it("is one svg element with a node group per endpoint and an edge group per edge", () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.endsWith("</svg>")).toBe(true);
    expect(count(svg, '<g class="node ')).toBe(4);
    expect(count(svg, '<g class="edge')).toBe(3);
    expect(count(svg, "<g ")).toBe(count(svg, "</g>"));
    expect(count(svg, "<text ")).toBe(count(svg, "</text>"));
  });

  it("escapes names", () => {
    expect(svg).not.toContain("<script>");
    expect(svg).toContain("default/&lt;script&gt;&quot;x&quot;&amp;");
    expect(escapeXml(`a'b`)).toBe("a&#39;b");
  });

  it("marks failures in red, labels with human units, and titles edges with the whole story", () => {
    expect(count(svg, 'class="edge edge-fail"')).toBe(1);
    expect(svg).toContain(`stroke="${FAIL_COLOUR}"`);
    expect(svg).toContain("<title>203.0.113.1 → data/db: 40 B, 2 connections, 1 failed</title>");
    expect(svg).toContain(">5.18 KiB</text>");
    expect(svg).toContain(">40 B · 1 failed</text>");
  });

  it("edge width grows with the log of the bytes, capped", () => {
    expect([0, 9, 1_023, 1_048_575, 1e30].map(edgeWidth)).toEqual([1, 2, 4, 7, 12]);
    expect(svg).toContain('stroke-width="4.7"'); // 5,300 B
  });

  it("lays out deterministically: pods, services, world, each by name, clockwise from the top", () => {
    expect(serviceMapSvg({ nodes: [...nodes].reverse(), edges: [...edges].reverse() })).toBe(svg);
    const pos = layout([{ id: "a", label: "a", kind: "pod" }, { id: "b", label: "b", kind: "pod" }, {
      id: "c",
      label: "c",
      kind: "pod",
    }, { id: "d", label: "d", kind: "pod" }]);
    expect([...pos.values()]).toEqual([{ x: 400, y: 100 }, { x: 700, y: 400 }, { x: 400, y: 700 }, { x: 100, y: 400 }]);
    expect(svg.indexOf("data/db")).toBeLessThan(svg.indexOf("default/web"));
    expect(svg.indexOf("default/web")).toBeLessThan(svg.indexOf("default/&lt;script"));
  });

  it("draws endpoints an edge names without a node entry, and explains an empty map", () => {
    expect(
      count(
        serviceMapSvg({ edges: [{ source: "a", target: "b", bytes: 1, connections: 0, failures: 0 }] }),
        '<g class="node ',
      ),
    ).toBe(2);
    expect(serviceMapSvg({ edges: [] })).toContain("No traffic in this window.");
  });
});
