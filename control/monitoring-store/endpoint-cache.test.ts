// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import type { Db } from "../db/client.ts";
import { endpointsToWrite, forgetEndpointCache } from "./endpoint-cache.ts";

describe("endpointsToWrite", () => {
  const db = {} as Db; // the cache only keys by the handle
  const unnamed = ["pod:u1", "pod", "", "", "n", null] as const;
  const named = ["pod:u1", "pod", "default", "web", "n", null] as const;

  it("sends a key once per refresh period, but at once when it gains a name, and everything after a forget", () => {
    expect(endpointsToWrite(db, [unnamed], 0, 1000)).toEqual([unnamed]);
    expect(endpointsToWrite(db, [unnamed], 500, 1000)).toEqual([]);
    expect(endpointsToWrite(db, [named], 600, 1000)).toEqual([named]);
    expect(endpointsToWrite(db, [named, unnamed], 700, 1000)).toEqual([]);
    expect(endpointsToWrite(db, [named], 1600, 1000)).toEqual([named]);
    forgetEndpointCache(db);
    expect(endpointsToWrite(db, [named], 1700, 1000)).toEqual([named]);
  });
});
