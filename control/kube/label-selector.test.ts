// SPDX-License-Identifier: Apache-2.0
/** Label selectors as the Kubernetes API takes them, and the Service import filter built on them. */
import { describe, expect, it } from "vitest";
import { matchesLabels, parseLabelSelector } from "./label-selector.ts";
import { DEFAULT_SERVICE_FILTER, importsService, SERVICE_PROXY_NAME_LABEL } from "./service-filter.ts";

describe("parseLabelSelector", () => {
  it("reads every form of requirement, commas inside parentheses included", () => {
    expect(parseLabelSelector("a, !b, c=1, d==2, e!=3, f in (x, y), g notin (z), example.com/h").requirements).toEqual([
      { key: "a", op: "exists" },
      { key: "b", op: "!exists" },
      { key: "c", op: "in", values: ["1"] },
      { key: "d", op: "in", values: ["2"] },
      { key: "e", op: "notin", values: ["3"] },
      { key: "f", op: "in", values: ["x", "y"] },
      { key: "g", op: "notin", values: ["z"] },
      { key: "example.com/h", op: "exists" },
    ]);
    expect(parseLabelSelector("  ")).toEqual({ text: "", requirements: [] });
  });

  it.each([
    ["a,,b", /"": an empty requirement/],
    ["app in web", /"app in web": not key, !key/],
    ["-app=x", /"-app" is not a label key/],
    [`app=${"v".repeat(64)}`, /is not a label value/],
    ["app=a b", /"app=a b": not key/],
  ])("refuses %s, naming the requirement", (text, message) => {
    expect(() => parseLabelSelector(text)).toThrow(message);
  });
});

describe("matchesLabels", () => {
  const sel = parseLabelSelector("tier in (front, back), !legacy, env!=test");
  it("holds when every requirement does; != and notin hold for a missing label, as on the API server", () => {
    expect(matchesLabels(sel, { tier: "front" })).toBe(true);
    expect(matchesLabels(sel, { tier: "back", env: "prod" })).toBe(true);
    expect(matchesLabels(sel, { tier: "back", env: "test" })).toBe(false);
    expect(matchesLabels(sel, { tier: "front", legacy: "" })).toBe(false);
    expect(matchesLabels(sel, { tier: "middle" })).toBe(false);
    expect(matchesLabels(sel, undefined)).toBe(false);
    expect(matchesLabels(parseLabelSelector(""), undefined)).toBe(true);
  });
});

describe("the Service import filter", () => {
  it("by default takes every namespace and leaves out Services handed to another proxy", () => {
    expect(importsService(DEFAULT_SERVICE_FILTER, { namespace: "kube-system" })).toBe(true);
    expect(importsService(DEFAULT_SERVICE_FILTER, { namespace: "shop", labels: { app: "web" } })).toBe(true);
    expect(importsService(DEFAULT_SERVICE_FILTER, { labels: { [SERVICE_PROXY_NAME_LABEL]: "mesh" } })).toBe(false);
  });

  it("takes only the namespaces listed, never those excluded (no namespace: default)", () => {
    const only = { ...DEFAULT_SERVICE_FILTER, namespaces: ["shop", "default"] };
    expect(importsService(only, { namespace: "shop" })).toBe(true);
    expect(importsService(only, {})).toBe(true);
    expect(importsService(only, { namespace: "ops" })).toBe(false);
    const but = { ...DEFAULT_SERVICE_FILTER, excludeNamespaces: ["kube-system"] };
    expect(importsService(but, { namespace: "kube-system" })).toBe(false);
    expect(importsService(but, { namespace: "ops" })).toBe(true);
  });
});
