// SPDX-License-Identifier: Apache-2.0
import { assertEquals } from "../testing/assert.ts";
import { FilePodSource } from "./file-pods.ts";

const pod = (name: string) => ({
  uid: `u-${name}`,
  namespace: "lab",
  name,
  labels: { app: "web" },
  ips: ["10.244.1.11"],
  hostNetwork: false,
});

Deno.test("a pods file: read, changed, broken (last good list kept), removed", async () => {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/pods.json`;
  const logs: string[] = [];
  const src = new FilePodSource(path, 10, (m) => logs.push(m));
  const write = (v: unknown) => {
    Deno.writeTextFileSync(`${path}.tmp`, JSON.stringify(v));
    Deno.renameSync(`${path}.tmp`, path);
  };
  try {
    write([pod("a"), pod("b")]);
    assertEquals(src.refresh(), true);
    assertEquals(src.pods().map((p) => p.name), ["a", "b"]);
    await new Promise((r) => setTimeout(r, 20)); // a different mtime
    write([pod("a")]);
    assertEquals(src.refresh(), true);
    assertEquals(src.pods().map((p) => p.name), ["a"]);
    await new Promise((r) => setTimeout(r, 20));
    write([{ ...pod("c"), ips: ["not-an-ip"] }]);
    assertEquals(src.refresh(), false);
    assertEquals(src.pods().map((p) => p.name), ["a"]);
    assertEquals(logs.length, 1);
    Deno.removeSync(path);
    assertEquals(src.refresh(), true);
    assertEquals(src.pods(), []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
