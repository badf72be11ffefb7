// SPDX-License-Identifier: Apache-2.0
/** Opening, loading and closing objects; errors name the call, the file and carry the verifier log. */
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertStringIncludes,
  assertThrows,
} from "../testing/assert.ts";
import {
  BpfObject,
  LibbpfError,
  LibbpfUsageError,
  mapInfoByFd,
  MapType,
  ProgType,
  recentLibbpfMessages,
  VerifierError,
} from "./mod.ts";
import { assertNoLeftovers, kernelTest, OBJECTS, openCompiled, track, waitProgramsGone } from "../testing/mod.ts";

kernelTest("open+load ifstats.bpf.o: programs and maps by name, with types and sizes", () => {
  const obj = BpfObject.open(OBJECTS.ifstats);
  try {
    assertEquals(obj.programs.map((p) => p.name), ["ifstats_ingress", "ifstats_egress", "ifstats_drop"]);
    assertEquals(obj.program("ifstats_ingress").sectionName, "tc");
    assertEquals(obj.program("ifstats_drop").sectionName, "tracepoint/skb/kfree_skb");
    assertEquals(obj.program("ifstats_ingress").type, ProgType.SCHED_CLS);
    assertEquals(obj.program("ifstats_drop").typeName, "tracepoint");
    const ifstats = obj.map("ifstats");
    assertEquals([ifstats.type, ifstats.keySize, ifstats.valueSize, ifstats.maxEntries], [
      MapType.PERCPU_ARRAY,
      4,
      40,
      4096,
    ]);
    assertEquals(obj.map("ifstats_big").type, MapType.PERCPU_HASH);
    assertEquals(obj.map("ifstats_cfg").type, MapType.ARRAY);
    // before load there is no fd
    assertThrows(() => obj.program("ifstats_ingress").fd, LibbpfUsageError, "load the object first");

    obj.load();
    track(obj);
    assert(obj.loaded);
    for (const p of obj.programs) {
      assert(p.fd > 0, `${p.name} fd`);
      assert(p.id > 0, `${p.name} id`);
    }
    const info = mapInfoByFd(ifstats.fd);
    assertEquals(info.name, "ifstats");
    assertEquals(info.maxEntries, 4096);
    // libbpf's own messages were captured in the ring, not printed
    assert(recentLibbpfMessages().some((m) => m.text.includes("ifstats")), "libbpf messages captured");
  } finally {
    obj.close();
  }
});

kernelTest("programs are unloaded by close(); close twice is harmless; use after close is a clear error", async () => {
  const obj = track(BpfObject.open(OBJECTS.ifstats).load());
  const ids = obj.programs.map((p) => p.id);
  const prog = obj.program("ifstats_ingress");
  const map = obj.map("ifstats");
  obj.close();
  obj.close();
  assert(obj.closed);
  assertThrows(() => prog.fd, LibbpfUsageError, "closed");
  assertThrows(() => map.lookup(new Uint8Array(4)), LibbpfUsageError, "closed");
  assertThrows(() => obj.program("ifstats_ingress"), LibbpfUsageError, "closed");
  assertEquals(await waitProgramsGone(ids), []);
});

kernelTest("bad path: the error names bpf_object__open_file and the file", () => {
  const path = "/nonexistent/ek8s/nothing.bpf.o";
  const e = assertThrows(() => BpfObject.open(path), LibbpfError);
  assertEquals(e.call, "bpf_object__open_file");
  assertEquals(e.code, "ENOENT");
  assertStringIncludes(e.message, `bpf_object__open_file(${path}): No such file or directory (ENOENT)`);
});

kernelTest("not an ELF object: error names the call and the file", async () => {
  const path = await Deno.makeTempFile({ prefix: "ek8s-notelf-", suffix: ".o" });
  try {
    await Deno.writeTextFile(path, "this is not an ELF file\n");
    const e = assertThrows(() => BpfObject.open(path), LibbpfError);
    assertMatch(e.message, new RegExp(`^bpf_object__open_file\\(${path}\\): .+ \\(\\w+\\)`));
    assertStringIncludes(e.message, "libbpf said:");
  } finally {
    await Deno.remove(path);
  }
});

kernelTest("unknown program or map name: error lists what the object has", () => {
  const obj = BpfObject.open(OBJECTS.ifstats);
  try {
    const e = assertThrows(() => obj.program("nope"), LibbpfError);
    assertStringIncludes(e.message, `bpf_object__find_program_by_name(${OBJECTS.ifstats}, nope)`);
    assertStringIncludes(e.message, "ifstats_ingress, ifstats_egress, ifstats_drop");
    const m = assertThrows(() => obj.map("nope"), LibbpfError);
    assertStringIncludes(m.message, "bpf_object__find_map_by_name");
    assertStringIncludes(m.message, "ifstats_big");
  } finally {
    obj.close();
  }
});

kernelTest("a program the verifier rejects: VerifierError names the program and carries the log", async () => {
  const obj = await openCompiled("broken");
  try {
    const e = assertThrows(() => obj.load(), VerifierError);
    assertInstanceOf(e, LibbpfError);
    assertEquals(e.call, "bpf_object__load");
    assertEquals(e.program, "broken_read");
    assertEquals(e.code, "EACCES");
    assertStringIncludes(e.message, "bpf_object__load(");
    assertStringIncludes(e.message, "broken.bpf.o, program broken_read): Permission denied (EACCES)");
    // the verifier's own words, in the log and in the message
    assertStringIncludes(e.log, "invalid access to packet");
    assertStringIncludes(e.message, "invalid access to packet");
    assertStringIncludes(e.message, "R1 offset is outside of the packet");
    assert(!obj.loaded);
  } finally {
    obj.close();
  }
});

kernelTest("set max_entries before load takes effect; after load it is refused with the call named", () => {
  const obj = BpfObject.open(OBJECTS.ifstats);
  try {
    obj.map("ifstats_big").setMaxEntries(2048);
    assertEquals(obj.map("ifstats_big").maxEntries, 2048);
    obj.load();
    track(obj);
    assertEquals(mapInfoByFd(obj.map("ifstats_big").fd).maxEntries, 2048);
    const e = assertThrows(() => obj.map("ifstats_big").setMaxEntries(10), LibbpfError);
    assertEquals(e.call, "bpf_map__set_max_entries");
    assertEquals(e.code, "EBUSY");
    assertStringIncludes(e.message, "bpf_map__set_max_entries(ifstats_big to 10): Device or resource busy (EBUSY)");
  } finally {
    obj.close();
  }
});

kernelTest("autoload off: only the wanted programs are loaded", () => {
  const obj = BpfObject.open(OBJECTS.ifstats);
  try {
    obj.program("ifstats_drop").setAutoload(false);
    assertEquals(obj.program("ifstats_drop").autoload, false);
    obj.load();
    track(obj);
    assert(obj.program("ifstats_ingress").fd > 0);
    assertThrows(() => obj.program("ifstats_drop").fd, LibbpfError, "bpf_program__fd");
  } finally {
    obj.close();
  }
});

kernelTest("libbpf's messages stay off stderr by default; EBPF_K8S_LIBBPF_DEBUG=1 prints them", async () => {
  const script = await Deno.makeTempFile({ prefix: "ek8s-quiet-", suffix: ".ts" });
  try {
    const mod = new URL("./mod.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `
      import { BpfObject } from "${mod}";
      try { BpfObject.open("/nonexistent/ek8s.bpf.o"); } catch (e) { console.log(e.message.split("\\n")[0]); }
      const o = BpfObject.open("${OBJECTS.emptyTc}"); o.load(); o.close();
    `,
    );
    const runIt = async (debug: boolean) => {
      const env: Record<string, string> = { NO_COLOR: "1" };
      if (debug) env.EBPF_K8S_LIBBPF_DEBUG = "1";
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-check", "--allow-ffi", "--allow-env", "--allow-read", script],
        env,
        cwd: Deno.cwd(),
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    };
    const quiet = await runIt(false);
    assertEquals(quiet.code, 0, quiet.stderr);
    assertStringIncludes(
      quiet.stdout,
      "bpf_object__open_file(/nonexistent/ek8s.bpf.o): No such file or directory (ENOENT)",
    );
    assertEquals(quiet.stderr, "");
    const loud = await runIt(true);
    assertEquals(loud.code, 0, loud.stderr);
    assertStringIncludes(loud.stderr, "libbpf[warn]: libbpf: elf: failed to open /nonexistent/ek8s.bpf.o");
    assertStringIncludes(loud.stderr, `libbpf[debug]: libbpf: loading object from ${OBJECTS.emptyTc}`);
  } finally {
    await Deno.remove(script);
  }
});

kernelTest("no leftovers: every program loaded by this file is gone, no namespaces/pins/cgroups", async () => {
  await assertNoLeftovers();
});
