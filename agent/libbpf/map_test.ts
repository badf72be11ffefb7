// SPDX-License-Identifier: Apache-2.0
/** Map element operations, per-CPU values, batch lookup (and its fallback), pinning and reuse. */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../testing/assert.ts";
import {
  BpfObject,
  LibbpfError,
  LibbpfUsageError,
  MapType,
  openPinnedMap,
  possibleCpus,
  sumU64Fields,
  u32Key,
  UpdateFlags,
} from "./mod.ts";
import { assertNoLeftovers, createPinDir, kernelTest, OBJECTS, openCompiled, run, track } from "../testing/mod.ts";

/** Possible CPUs as the kernel lists them ("0-1", "0,2-3"...). */
function cpusFromSysfs(): number {
  const text = Deno.readTextFileSync("/sys/devices/system/cpu/possible").trim();
  return text.split(",").reduce((n, r) => {
    const [a, b] = r.split("-").map(Number);
    return n + (b === undefined ? 1 : b - a + 1);
  }, 0);
}

/** A struct if_counters value (5 x u64). */
function counters(...f: number[]): Uint8Array {
  const b = new Uint8Array(40);
  const dv = new DataView(b.buffer);
  f.forEach((x, i) => dv.setBigUint64(i * 8, BigInt(x), true));
  return b;
}

function u64s(b: Uint8Array): bigint[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Array.from({ length: b.length / 8 }, (_, i) => dv.getBigUint64(i * 8, true));
}

function keyOf(k: Uint8Array): number {
  return new DataView(k.buffer, k.byteOffset).getUint32(0, true);
}

kernelTest("per-CPU hash (ifstats_big): update, lookup, per-CPU slices, sum, iterate, batch, delete", () => {
  const obj = track(BpfObject.open(OBJECTS.ifstats).load());
  try {
    const m = obj.map("ifstats_big");
    const cpus = possibleCpus();
    assertEquals(cpus, cpusFromSysfs());
    assertEquals(m.handle.perCpu, true);
    assertEquals(m.handle.fullValueSize, 40 * cpus); // 40 is already a multiple of 8

    assertEquals(m.lookup(u32Key(5000)), null);
    assertEquals([...m.keys()], []);

    // one slice: written to every CPU
    m.update(u32Key(5000), counters(1, 100, 2, 200, 3));
    const slices = m.lookupPerCpu(u32Key(5000))!;
    assertEquals(slices.length, cpus);
    for (const s of slices) assertEquals(u64s(s), [1n, 100n, 2n, 200n, 3n]);
    assertEquals(m.sumU64(u32Key(5000)), [1n, 100n, 2n, 200n, 3n].map((x) => x * BigInt(cpus)));

    // a whole value: a different number per CPU
    const whole = new Uint8Array(m.handle.fullValueSize);
    for (let c = 0; c < cpus; c++) whole.set(counters(c + 1, 10 * (c + 1), 0, 0, 0), c * 40);
    m.update(u32Key(6000), whole, UpdateFlags.NOEXIST);
    const perCpu = m.lookupPerCpu(u32Key(6000))!.map((s) => u64s(s)[0]);
    assertEquals(perCpu, Array.from({ length: cpus }, (_, c) => BigInt(c + 1)));
    const expectSum = BigInt((cpus * (cpus + 1)) / 2);
    assertEquals(sumU64Fields(m.lookupPerCpu(u32Key(6000))!).slice(0, 2), [expectSum, expectSum * 10n]);

    // NOEXIST on an existing key is refused with EEXIST
    const e = assertThrows(() => m.update(u32Key(6000), whole, UpdateFlags.NOEXIST), LibbpfError);
    assertEquals(e.code, "EEXIST");
    assertStringIncludes(e.message, "bpf_map_update_elem(ifstats_big): File exists (EEXIST)");
    // wrong sizes are caught before the kernel
    assertThrows(() => m.update(u32Key(1), new Uint8Array(7)), LibbpfUsageError, "value is 7 bytes");
    assertThrows(() => m.lookup(new Uint8Array(2)), LibbpfUsageError, "key_size is 4");

    for (let k = 7000; k < 7100; k++) m.update(u32Key(k), counters(k));
    const keys = [...m.keys()].map(keyOf).sort((a, b) => a - b);
    assertEquals(keys.length, 102);
    assertEquals(keys.slice(0, 3), [5000, 6000, 7000]);

    const batch = m.lookupBatch({ batchSize: 16 });
    assertEquals(batch.method, "batch");
    assertEquals(batch.keys.map(keyOf).sort((a, b) => a - b), keys);
    const i7042 = batch.keys.findIndex((k) => keyOf(k) === 7042);
    assertEquals(batch.values[i7042].length, m.handle.fullValueSize);
    assertEquals(sumU64Fields(m.handle.slices(batch.values[i7042]))[0], 7042n * BigInt(cpus));

    assertEquals(m.delete(u32Key(7042)), true);
    assertEquals(m.delete(u32Key(7042)), false);
    assertEquals(m.lookup(u32Key(7042)), null);
    assertEquals([...m.entries()].length, 101);

    // lookup-and-delete: the whole per-CPU value, then gone
    const taken = m.lookupAndDelete(u32Key(7041))!;
    assertEquals(sumU64Fields(m.handle.slices(taken))[0], 7041n * BigInt(cpus));
    assertEquals(m.lookupAndDelete(u32Key(7041)), null);
    assertEquals([...m.entries()].length, 100);
  } finally {
    obj.close();
  }
});

kernelTest("per-CPU array (ifstats): batch lookup works on this kernel and returns every slot", () => {
  const obj = track(BpfObject.open(OBJECTS.ifstats).load());
  try {
    const m = obj.map("ifstats");
    m.update(u32Key(3), counters(5, 500));
    const b = m.lookupBatch({ batchSize: 1000 });
    assertEquals(b.method, "batch");
    assertEquals(b.keys.length, 4096);
    assertEquals(b.keys.map(keyOf), Array.from({ length: 4096 }, (_, i) => i));
    assertEquals(sumU64Fields(m.handle.slices(b.values[3])).slice(0, 2), [
      5n * BigInt(possibleCpus()),
      500n * BigInt(possibleCpus()),
    ]);
    // arrays cannot delete
    const e = assertThrows(() => m.delete(u32Key(3)), LibbpfError);
    assertEquals(e.code, "EINVAL");
    // out of range is simply absent
    assertEquals(m.lookup(u32Key(4096)), null);
  } finally {
    obj.close();
  }
});

kernelTest("batch lookup falls back to iteration when the kernel refuses it (devmap hash: ENOTSUPP)", async () => {
  const obj = track((await openCompiled("xdp_count")).load());
  try {
    const m = obj.map("test_devmap");
    assertEquals(m.type, MapType.DEVMAP_HASH);
    assertEquals(m.typeName, "devmap_hash");
    m.update(u32Key(7), u32Key(1)); // key 7 -> ifindex 1 (lo)
    m.update(u32Key(9), u32Key(1));
    const b = m.lookupBatch();
    assertEquals(b.method, "iterate");
    assertStringIncludes(b.fallbackReason!, "bpf_map_lookup_batch(test_devmap): Operation not supported (ENOTSUPP)");
    assertEquals(b.keys.map(keyOf).sort(), [7, 9]);
    assertEquals(b.values.map(keyOf), [1, 1]);
  } finally {
    obj.close();
  }
});

kernelTest("pin a map, reopen it from bpffs, reuse it in another object (pin path and reuse_fd), unpin", async () => {
  const dir = await createPinDir();
  const objs: BpfObject[] = [];
  const handles: { close(): void }[] = [];
  try {
    assert(dir.path.startsWith(`/sys/fs/bpf/ebpf-k8s-test-${Deno.pid}`));
    const a = track(BpfObject.open(OBJECTS.ifstats).load());
    objs.push(a);
    const pinPath = `${dir.path}/ifstats_big`;
    a.map("ifstats_big").update(u32Key(4097), counters(11, 22));
    a.map("ifstats_big").pin(pinPath);
    assert(a.map("ifstats_big").isPinned);
    assertEquals(a.map("ifstats_big").pinPath, pinPath);

    // reopen by path: same kernel map
    const h = openPinnedMap(pinPath);
    handles.push(h);
    assertEquals([h.name, h.type, h.keySize, h.valueSize, h.maxEntries], [
      "ifstats_big",
      MapType.PERCPU_HASH,
      4,
      40,
      1024,
    ]);
    assertEquals(h.id, a.map("ifstats_big").id);
    assertEquals(h.sumU64(u32Key(4097))!.slice(0, 2), [11n * BigInt(h.cpus), 22n * BigInt(h.cpus)]);

    // a second object adopts the pinned map via its pin path (libbpf reuses it at load)
    const b = BpfObject.open(OBJECTS.ifstats);
    objs.push(b);
    b.map("ifstats_big").setPinPath(pinPath);
    b.load();
    track(b);
    assertEquals(b.map("ifstats_big").id, h.id);
    assertEquals(b.map("ifstats_big").sumU64(u32Key(4097))!.slice(0, 2), [11n * BigInt(h.cpus), 22n * BigInt(h.cpus)]);

    // a third object adopts it from an fd
    const c = BpfObject.open(OBJECTS.ifstats);
    objs.push(c);
    c.map("ifstats_big").reuseFd(h.fd);
    c.load();
    track(c);
    assertEquals(c.map("ifstats_big").id, h.id);
    // writes through one are seen through the others
    c.map("ifstats_big").update(u32Key(4098), counters(1));
    assert(a.map("ifstats_big").lookup(u32Key(4098)) !== null);

    // programs can be pinned too
    const progPin = `${dir.path}/ifstats_ingress`;
    a.program("ifstats_ingress").pin(progPin);
    const shown = JSON.parse((await run(["bpftool", "prog", "show", "pinned", progPin, "-j"])).stdout);
    assertEquals(shown.id, a.program("ifstats_ingress").id);
    a.program("ifstats_ingress").unpin(progPin);

    a.map("ifstats_big").unpin(pinPath);
    assertEquals([...Deno.readDirSync(dir.path)], []);
    const e = assertThrows(() => openPinnedMap(pinPath), LibbpfError);
    assertStringIncludes(e.message, `bpf_obj_get(${pinPath}): No such file or directory (ENOENT)`);
  } finally {
    for (const h of handles) h.close();
    for (const o of objs) o.close();
    await dir.close();
  }
});

kernelTest("no leftovers: every program loaded by this file is gone, no namespaces/pins/cgroups", async () => {
  await assertNoLeftovers();
});
