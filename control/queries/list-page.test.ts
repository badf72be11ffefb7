// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { pageOf } from "./list-page.ts";

describe("pageOf", () => {
  const rows = Array.from({ length: 25 }, (_, i) => i);
  it("cuts a page from the offset, on page boundaries, the last one short", () => {
    expect(pageOf(rows, 0, 10)).toEqual({ rows: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], total: 25, offset: 0, limit: 10 });
    expect(pageOf(rows, 20, 10)).toEqual({ rows: [20, 21, 22, 23, 24], total: 25, offset: 20, limit: 10 });
    expect(pageOf(rows, 13, 10).offset).toBe(10); // inside a page: that page
  });

  it("shows the last page past the end, the first before the start, and an empty list as one empty page", () => {
    expect(pageOf(rows, 1_000, 10).offset).toBe(20);
    expect(pageOf(rows, -5, 10).offset).toBe(0);
    expect(pageOf(rows, 20, 5)).toMatchObject({ rows: [20, 21, 22, 23, 24], offset: 20 });
    expect(pageOf(rows, 25, 5)).toMatchObject({ rows: [20, 21, 22, 23, 24], offset: 20 });
    expect(pageOf([], 300, 10)).toEqual({ rows: [], total: 0, offset: 0, limit: 10 });
  });
});
