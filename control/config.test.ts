import { describe, expect, it } from "vitest";
import { parseConfig } from "./config.ts";

describe("parseConfig", () => {
  it("has defaults for everything", () => {
    expect(parseConfig({})).toEqual({ PORT: 8080, HOST: "0.0.0.0", DATABASE_URL: "file:./data/ebpf-k8s.db" });
  });

  it("reads the environment, treating empty as unset", () => {
    expect(parseConfig({ PORT: "9000", HOST: "", DATABASE_URL: "libsql://db.example", DATABASE_AUTH_TOKEN: "t" })).toEqual({
      PORT: 9000,
      HOST: "0.0.0.0",
      DATABASE_URL: "libsql://db.example",
      DATABASE_AUTH_TOKEN: "t",
    });
  });

  it("names a bad variable", () => {
    expect(() => parseConfig({ PORT: "http" })).toThrow(/PORT/);
    expect(() => parseConfig({ PORT: "70000" })).toThrow(/PORT/);
  });
});
