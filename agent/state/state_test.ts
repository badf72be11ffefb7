// SPDX-License-Identifier: Apache-2.0
/** The state directory: epoch and credential persistence, modes, the lock, damaged files. */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../testing/assert.ts";
import { StateDir, StateDirBusyError } from "./state_dir.ts";
import { writeFileAtomic } from "./files.ts";
import { withTempDir } from "../testing/temp.ts";
import { DEFAULT_MODULES } from "../../control/wire/batch.ts";

const withDir = (fn: (dir: string) => void) => withTempDir("ek8s-state-", (d) => fn(`${d}/n1`));

const BOOT = "00000000-0000-4000-8000-000000000001";

Deno.test("epoch: saved and loaded back (bootId, next seq, module records); only for the same node; removed", () =>
  withDir((dir) => {
    const warnings: string[] = [];
    const s = StateDir.open(dir, (w) => warnings.push(w));
    try {
      assertEquals(s.loadEpoch("n1"), null);
      const epoch = {
        node: "n1",
        bootId: BOOT,
        nextSeq: 17,
        modules: { ifstats: { interfaces: [{ ifname: "ek8s0", ifindex: 3, ownQdisc: true }] } },
      };
      s.saveEpoch(epoch);
      assertEquals(s.loadEpoch("n1"), epoch);
      s.saveEpoch({ ...epoch, nextSeq: 18 });
      assertEquals(s.loadEpoch("n1")?.nextSeq, 18);
      assertEquals(s.loadEpoch("n2"), null);
      assertStringIncludes(warnings.join("\n"), "is of node n1, not n2");
      s.removeEpoch();
      s.removeEpoch(); // harmless
      assertEquals(s.loadEpoch("n1"), null);
    } finally {
      s.close();
    }
  }));

Deno.test("epoch: a damaged file is not adopted, and says why", () =>
  withDir((dir) => {
    const warnings: string[] = [];
    const s = StateDir.open(dir, (w) => warnings.push(w));
    try {
      Deno.writeTextFileSync(`${dir}/epoch.json`, '{"node":"n1","bootId":"x"');
      assertEquals(s.loadEpoch("n1"), null);
      assertStringIncludes(warnings[0], "is not JSON");
      Deno.writeTextFileSync(
        `${dir}/epoch.json`,
        JSON.stringify({ node: "n1", bootId: "not-a-uuid", nextSeq: 1, modules: {} }),
      );
      assertEquals(s.loadEpoch("n1"), null);
      assertStringIncludes(warnings[1], "bootId");
    } finally {
      s.close();
    }
  }));

Deno.test("credential: stored 0600 in a 0700 directory, used only for the same node and control URL", () =>
  withDir((dir) => {
    const s = StateDir.open(dir, () => {});
    try {
      assertEquals(Deno.statSync(dir).mode! & 0o777, 0o700);
      s.saveCredential("n1", "http://127.0.0.1:8080", "secret-credential");
      assertEquals(Deno.statSync(`${dir}/credential.json`).mode! & 0o777, 0o600);
      assertEquals(s.loadCredential("n1", "http://127.0.0.1:8080/"), "secret-credential", "the same URL, normalized");
      assertEquals(s.loadCredential("n2", "http://127.0.0.1:8080"), null);
      assertEquals(s.loadCredential("n1", "http://127.0.0.1:9090"), null);
      // a file left 0644 by hand is rewritten 0600
      Deno.chmodSync(`${dir}/credential.json`, 0o644);
      s.saveCredential("n1", "http://127.0.0.1:8080", "another");
      assertEquals(Deno.statSync(`${dir}/credential.json`).mode! & 0o777, 0o600);
    } finally {
      s.close();
    }
  }));

Deno.test("lock: a second agent on the same state directory is refused until the first lets go", () =>
  withDir((dir) => {
    const first = StateDir.open(dir, () => {});
    try {
      const e = assertThrows(() => StateDir.open(dir, () => {}), StateDirBusyError);
      assertStringIncludes(e.message, `another agent is running with state directory ${dir}`);
    } finally {
      first.close();
    }
    StateDir.open(dir, () => {}).close();
  }));

Deno.test("atomic write: the old content stays until the new one is complete; no tmp file is left", () =>
  withDir((dir) => {
    Deno.mkdirSync(dir);
    writeFileAtomic(`${dir}/f.json`, "old");
    Deno.writeTextFileSync(`${dir}/f.json.tmp`, "torn"); // an earlier write that died
    writeFileAtomic(`${dir}/f.json`, "new");
    assertEquals(Deno.readTextFileSync(`${dir}/f.json`), "new");
    assert(![...Deno.readDirSync(dir)].some((e) => e.name.endsWith(".tmp")));
  }));

Deno.test("desired: a copy stored before a module existed loads with it at its default; an unknown module is ignored", () =>
  withDir((dir) => {
    const s = StateDir.open(dir, () => {});
    try {
      const older = Object.fromEntries(Object.entries(DEFAULT_MODULES).filter(([m]) => m !== "dns"));
      writeFileAtomic(
        `${dir}/desired.json`,
        JSON.stringify({
          node: "n1",
          control: "http://c:8080/",
          desired: { version: 4, modules: { ...older, flows: false, future: true } },
        }),
      );
      assertEquals(s.loadDesired("n1", "http://c:8080"), {
        version: 4,
        modules: { ...DEFAULT_MODULES, flows: false },
      });
    } finally {
      s.close();
    }
  }));
