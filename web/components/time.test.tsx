// SPDX-License-Identifier: Apache-2.0
/** Times as the server writes them (UTC, for local-time.js to rewrite), and the windows' titles. */
import { describe, expect, it } from "vitest";
import { Time } from "./time.tsx";
import { windowSpan } from "./window-links.tsx";

const AT = Date.UTC(2026, 11, 7, 0, 8, 50, 123);

describe("Time", () => {
  it("writes the moment in UTC, marked so, with the exact instant and the UTC title for the script", () => {
    expect(String(<Time ms={AT} />)).toBe(
      '<time datetime="2026-12-07T00:08:50.123Z" title="UTC 2026-12-07 00:08:50" data-local="datetime">' +
        "2026-12-07 00:08:50 UTC</time>",
    );
    expect(String(<Time ms={AT} format="time" />)).toBe(
      '<time datetime="2026-12-07T00:08:50.123Z" title="UTC 2026-12-07 00:08:50" data-local="time">00:08:50</time>',
    );
  });
});

describe("windowSpan", () => {
  it("says what a window covers, for titles", () => {
    expect(windowSpan("5m")).toBe("last 5 min");
    expect(windowSpan("1h")).toBe("last 1 h");
    expect(windowSpan("90s")).toBe("last 90s");
    expect(windowSpan("2026-12-07T00:00:00Z")).toBe("since 2026-12-07T00:00:00Z");
  });
});
