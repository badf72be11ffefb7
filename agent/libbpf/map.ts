// SPDX-License-Identifier: Apache-2.0
/**
 * Maps: `BpfMap` is a map of an opened object (libbpf's struct bpf_map:
 * sizing and pinning before load); `MapHandle` does the element operations on
 * a map fd (from a loaded object or reopened from a bpffs pin).
 *
 * Keys and values are Uint8Array; callers decode them with DataView.
 * Per-CPU maps (PERCPU_HASH, PERCPU_ARRAY, LRU_PERCPU_HASH,
 * PERCPU_CGROUP_STORAGE): the kernel reads and writes one value per
 * *possible* CPU, each slot rounded up to 8 bytes, so a whole value is
 * roundUp8(value_size) * libbpf_num_possible_cpus() bytes.
 */
import { alloc, copyBytes, cstr, libbpf, readCString } from "./ffi.ts";
import { checkInt, EINVAL, ENOENT, ENOSPC, ENOTSUPP, EOPNOTSUPP, LibbpfError, LibbpfUsageError } from "./errors.ts";
import { closeFd, mapInfoByFd } from "./info.ts";
import { mapBatchOpts, readU32, u32Cell } from "./structs.ts";

/** enum bpf_map_type (linux/bpf.h), the ones this project uses or may. */
export const MapType = {
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  DEVMAP: 14,
  SOCKMAP: 15,
  CPUMAP: 16,
  SOCKHASH: 18,
  PERCPU_CGROUP_STORAGE: 21,
  DEVMAP_HASH: 25,
  RINGBUF: 27,
} as const;

/** Update flags (linux/bpf.h). */
export const UpdateFlags = { ANY: 0, NOEXIST: 1, EXIST: 2, F_LOCK: 4 } as const;

const PER_CPU_TYPES = new Set<number>([
  MapType.PERCPU_HASH,
  MapType.PERCPU_ARRAY,
  MapType.LRU_PERCPU_HASH,
  MapType.PERCPU_CGROUP_STORAGE,
]);

/** Whether values of this map type are per CPU. */
export function isPerCpuMapType(type: number): boolean {
  return PER_CPU_TYPES.has(type);
}

/** libbpf's name for a map type, e.g. "percpu_array". */
export function mapTypeName(type: number): string {
  return readCString(libbpf().libbpf_bpf_map_type_str(type), `map type ${type}`);
}

let possibleCpusCache = 0;
/** Number of possible CPUs (libbpf_num_possible_cpus), the per-CPU value count. */
export function possibleCpus(): number {
  if (!possibleCpusCache) {
    possibleCpusCache = checkInt(
      "libbpf_num_possible_cpus",
      "/sys/devices/system/cpu/possible",
      () => libbpf().libbpf_num_possible_cpus(),
    );
  }
  return possibleCpusCache;
}

export function roundUp8(n: number): number {
  return (n + 7) & ~7;
}

/** Result of lookupBatch: parallel arrays of keys and whole values. */
export interface BatchResult {
  keys: Uint8Array[];
  values: Uint8Array[];
  /** "batch" if BPF_MAP_LOOKUP_BATCH was used, "iterate" if the kernel refused it and get_next_key + lookup were used. */
  method: "batch" | "iterate";
  /** errno text of the refusal when method is "iterate". */
  fallbackReason?: string;
}

export interface MapDescription {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  id: number;
}

/** Element operations on a map fd. */
export class MapHandle {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  /** value_size as declared (one CPU's value for per-CPU maps). */
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly id: number;
  readonly perCpu: boolean;
  /** Number of per-CPU slices in a value (1 for ordinary maps). */
  readonly cpus: number;
  /** Bytes between per-CPU slices: roundUp8(valueSize) for per-CPU maps. */
  readonly stride: number;
  /** Bytes of a whole value as lookup returns it and update expects it. */
  readonly fullValueSize: number;
  #fd: number;
  readonly #owned: boolean;
  #closedReason: string | null = null;

  constructor(fd: number, desc: MapDescription, owned: boolean) {
    this.#fd = fd;
    this.#owned = owned;
    this.name = desc.name;
    this.type = desc.type;
    this.keySize = desc.keySize;
    this.valueSize = desc.valueSize;
    this.maxEntries = desc.maxEntries;
    this.id = desc.id;
    this.perCpu = isPerCpuMapType(desc.type);
    this.cpus = this.perCpu ? possibleCpus() : 1;
    this.stride = this.perCpu ? roundUp8(desc.valueSize) : desc.valueSize;
    this.fullValueSize = this.stride * this.cpus;
  }

  /** The map fd (owned by libbpf for object maps; by this handle for reopened pins). */
  get fd(): number {
    if (this.#closedReason) throw new LibbpfUsageError(`map '${this.name}' is no longer usable: ${this.#closedReason}`);
    return this.#fd;
  }

  get typeName(): string {
    return mapTypeName(this.type);
  }

  #key(key: Uint8Array, call: string): Uint8Array {
    if (key.length !== this.keySize) {
      throw new LibbpfUsageError(
        `${call}(${this.name}): key is ${key.length} bytes, the map's key_size is ${this.keySize}`,
      );
    }
    return copyBytes(key);
  }

  /** The whole value for `key` (all CPUs for per-CPU maps), or null when absent. */
  lookup(key: Uint8Array): Uint8Array | null {
    return this.#valueOf(key, "bpf_map_lookup_elem");
  }

  /** Per-CPU maps: one Uint8Array (valueSize bytes) per possible CPU, or null when absent. */
  lookupPerCpu(key: Uint8Array): Uint8Array[] | null {
    const v = this.lookup(key);
    return v ? this.slices(v) : null;
  }

  /** Splits a whole value into its per-CPU slices (one slice for ordinary maps). */
  slices(value: Uint8Array): Uint8Array[] {
    return perCpuSlices(value, this.valueSize, this.cpus);
  }

  /** Sum over CPUs of each u64 field of the value of `key` (null when absent). */
  sumU64(key: Uint8Array): bigint[] | null {
    const s = this.lookupPerCpu(key);
    return s ? sumU64Fields(s) : null;
  }

  /**
   * Writes `value`: valueSize bytes for ordinary maps; for per-CPU maps
   * either a whole value (fullValueSize bytes) or one valueSize slice that is
   * written to every CPU.
   */
  update(key: Uint8Array, value: Uint8Array, flags: number = UpdateFlags.ANY): void {
    const k = this.#key(key, "bpf_map_update_elem");
    let v: Uint8Array;
    if (value.length === this.fullValueSize) v = copyBytes(value);
    else if (this.perCpu && value.length === this.valueSize) {
      v = perCpuValue(Array(this.cpus).fill(value), this.valueSize);
    } else {
      throw new LibbpfUsageError(
        `bpf_map_update_elem(${this.name}): value is ${value.length} bytes, expected ${this.fullValueSize}` +
          (this.perCpu ? ` (${this.cpus} CPUs x ${this.stride}) or ${this.valueSize} for every CPU` : ""),
      );
    }
    checkInt("bpf_map_update_elem", this.name, () => libbpf().bpf_map_update_elem(this.fd, k, v, BigInt(flags)));
  }

  /** Deletes `key`; false when it was not there. Arrays cannot delete (EINVAL). */
  delete(key: Uint8Array): boolean {
    const k = this.#key(key, "bpf_map_delete_elem");
    const ret = libbpf().bpf_map_delete_elem(this.fd, k);
    if (ret === -ENOENT) return false;
    if (ret < 0) throw new LibbpfError("bpf_map_delete_elem", this.name, -ret);
    return true;
  }

  /**
   * Reads and removes `key` in one step (BPF_MAP_LOOKUP_AND_DELETE_ELEM; hash
   * maps since 5.14): an update made between a separate lookup and delete
   * would be lost, this way it is in the value returned. Null when absent.
   */
  lookupAndDelete(key: Uint8Array): Uint8Array | null {
    return this.#valueOf(key, "bpf_map_lookup_and_delete_elem");
  }

  /** The value of `key` by one of the lookup calls; null for ENOENT. */
  #valueOf(key: Uint8Array, call: "bpf_map_lookup_elem" | "bpf_map_lookup_and_delete_elem"): Uint8Array | null {
    const k = this.#key(key, call);
    const v = alloc(this.fullValueSize);
    const ret = libbpf()[call](this.fd, k, v);
    if (ret === -ENOENT) return null;
    if (ret < 0) throw new LibbpfError(call, this.name, -ret);
    return v;
  }

  /** The key after `key` (the first key for null), or null at the end. */
  nextKey(key: Uint8Array | null): Uint8Array | null {
    const k = key ? this.#key(key, "bpf_map_get_next_key") : null;
    const next = alloc(this.keySize);
    const ret = libbpf().bpf_map_get_next_key(this.fd, k, next);
    if (ret === -ENOENT) return null;
    if (ret < 0) throw new LibbpfError("bpf_map_get_next_key", this.name, -ret);
    return next;
  }

  /** All keys, by get_next_key. */
  *keys(): Generator<Uint8Array> {
    for (let k = this.nextKey(null); k; k = this.nextKey(k)) yield k;
  }

  /**
   * Keys present (get_next_key walk), at most max_entries: a hash's fill
   * level. (An array always has max_entries keys.)
   */
  countKeys(): number {
    let n = 0;
    for (let k = this.nextKey(null); k && n < this.maxEntries; k = this.nextKey(k)) n++;
    return n;
  }

  /** All [key, whole value] pairs by get_next_key + lookup (entries deleted meanwhile are skipped). */
  *entries(): Generator<[Uint8Array, Uint8Array]> {
    for (const k of this.keys()) {
      const v = this.lookup(k);
      if (v) yield [k, v];
    }
  }

  /**
   * Every entry, read with BPF_MAP_LOOKUP_BATCH `batchSize` entries per
   * syscall; if the kernel refuses batch lookups for this map (ENOTSUPP,
   * EOPNOTSUPP or EINVAL on the first call) it falls back to iteration.
   */
  lookupBatch(options: { batchSize?: number } = {}): BatchResult {
    const keys: Uint8Array[] = [];
    const values: Uint8Array[] = [];
    const r = this.forEachBatch((k, v, n) => {
      for (let i = 0; i < n; i++) {
        keys.push(k.slice(i * this.keySize, (i + 1) * this.keySize));
        values.push(v.slice(i * this.fullValueSize, (i + 1) * this.fullValueSize));
      }
    }, options);
    return { keys, values, ...r };
  }

  /**
   * Every entry like lookupBatch, handed over a chunk at a time in buffers
   * that the next chunk reuses: `keys` holds `count` keys of keySize bytes,
   * `values` as many whole values of fullValueSize bytes. For reading big
   * tables on a timer without making an object per entry. `fn` returning
   * false stops the walk (e.g. past the last array index of interest).
   */
  forEachBatch(
    fn: (keys: Uint8Array, values: Uint8Array, count: number) => void | boolean,
    options: { batchSize?: number } = {},
  ): Pick<BatchResult, "method" | "fallbackReason"> {
    let batchSize = Math.max(1, Math.min(options.batchSize ?? 256, this.maxEntries || 1));
    // in/out batch tokens: key-sized for arrays, a __u32 bucket for hashes.
    const tokenSize = Math.max(this.keySize, 8);
    let inBatch: Uint8Array | null = null;
    const outBatch = alloc(tokenSize);
    const opts = mapBatchOpts();
    let first = true;
    let keyBuf = alloc(0), valBuf = alloc(0);
    for (;;) {
      if (keyBuf.length < this.keySize * batchSize) {
        keyBuf = alloc(this.keySize * batchSize);
        valBuf = alloc(this.fullValueSize * batchSize);
      }
      const count = u32Cell(batchSize);
      const ret = libbpf().bpf_map_lookup_batch(this.fd, inBatch, outBatch, keyBuf, valBuf, count, opts);
      const err = ret < 0 ? -ret : 0;
      if (err && err !== ENOENT) {
        if (first && (err === ENOTSUPP || err === EOPNOTSUPP || err === EINVAL)) {
          for (const [k, v] of this.entries()) fn(k, v, 1);
          return { method: "iterate", fallbackReason: new LibbpfError("bpf_map_lookup_batch", this.name, err).message };
        }
        if (err === ENOSPC && batchSize < 1 << 20) {
          // a hash bucket holds more entries than the batch: retry bigger
          batchSize *= 2;
          continue;
        }
        throw new LibbpfError("bpf_map_lookup_batch", this.name, err);
      }
      first = false;
      const n = readU32(count);
      if (n && fn(keyBuf, valBuf, n) === false) break;
      if (err === ENOENT) break; // no more entries
      inBatch = copyBytes(outBatch);
    }
    return { method: "batch" };
  }

  /**
   * Writes `count` entries with BPF_MAP_UPDATE_BATCH, at most `chunk` per
   * syscall: `keys` holds them back to back (keySize bytes each), `values`
   * as many whole values (fullValueSize bytes each). Each element is written
   * as one update would write it (atomically per element for hash maps);
   * the kernel goes in order, so a chunk that fails has written those before
   * the failing one, and the error names it. The buffers are read only during
   * the (synchronous) calls.
   */
  updateBatch(
    keys: Uint8Array,
    values: Uint8Array,
    count: number,
    options: { elemFlags?: number; chunk?: number } = {},
  ): void {
    this.#checkBatch("bpf_map_update_batch", keys, count, values);
    const chunk = Math.max(1, options.chunk ?? 65536);
    const opts = mapBatchOpts(BigInt(options.elemFlags ?? 0));
    for (let done = 0; done < count;) {
      const n = Math.min(chunk, count - done);
      const cell = u32Cell(n);
      const ret = libbpf().bpf_map_update_batch(
        this.fd,
        keys.subarray(done * this.keySize, (done + n) * this.keySize),
        values.subarray(done * this.fullValueSize, (done + n) * this.fullValueSize),
        cell,
        opts,
      );
      if (ret < 0) {
        throw new LibbpfError(
          "bpf_map_update_batch",
          `${this.name}, element ${done + readU32(cell)} of ${count}`,
          -ret,
        );
      }
      done += n;
    }
  }

  /**
   * Deletes `count` keys (back to back in `keys`) with BPF_MAP_DELETE_BATCH;
   * keys that are not there are skipped. Returns how many were deleted.
   * Hash maps only (arrays cannot delete).
   */
  deleteBatch(keys: Uint8Array, count: number, options: { chunk?: number } = {}): number {
    this.#checkBatch("bpf_map_delete_batch", keys, count);
    const chunk = Math.max(1, options.chunk ?? 65536);
    const opts = mapBatchOpts();
    let deleted = 0;
    for (let done = 0; done < count;) {
      const n = Math.min(chunk, count - done);
      const cell = u32Cell(n);
      const ret = libbpf().bpf_map_delete_batch(
        this.fd,
        keys.subarray(done * this.keySize, (done + n) * this.keySize),
        cell,
        opts,
      );
      const ok = readU32(cell);
      deleted += ok;
      if (ret === -ENOENT && ok < n) {
        done += ok + 1; // the kernel stops at a missing key: skip it
        continue;
      }
      if (ret < 0) {
        throw new LibbpfError("bpf_map_delete_batch", `${this.name}, element ${done + ok} of ${count}`, -ret);
      }
      done += n;
    }
    return deleted;
  }

  #checkBatch(call: string, keys: Uint8Array, count: number, values?: Uint8Array): void {
    if (keys.length < count * this.keySize || (values && values.length < count * this.fullValueSize)) {
      throw new LibbpfUsageError(
        `${call}(${this.name}): ${count} entries need ${count * this.keySize} key bytes` +
          (values
            ? ` and ${count * this.fullValueSize} value bytes, got ${keys.length} and ${values.length}`
            : `, got ${keys.length}`),
      );
    }
  }

  /** Closes the fd if this handle owns it (reopened pins); harmless twice. */
  close(): void {
    if (this.#closedReason) return;
    this.#closedReason = "closed";
    if (this.#owned) closeFd(this.#fd);
    this.#fd = -1;
  }

  /** @internal the owning object closed. */
  _invalidate(reason: string): void {
    if (!this.#closedReason) this.#closedReason = reason;
    this.#fd = -1;
  }

  /** Pins this map's fd at `path` in bpffs (bpf_obj_pin). */
  pin(path: string): void {
    checkInt("bpf_obj_pin", `${this.name} at ${path}`, () => libbpf().bpf_obj_pin(this.fd, cstr(path)));
  }
}

/** Opens a pinned map (bpf_obj_get) and reads its description from the kernel. */
export function openPinnedMap(path: string): MapHandle {
  const fd = checkInt("bpf_obj_get", path, () => libbpf().bpf_obj_get(cstr(path)));
  try {
    const info = mapInfoByFd(fd, path);
    return new MapHandle(fd, info, true);
  } catch (e) {
    closeFd(fd);
    throw e;
  }
}

/** Splits a per-CPU value into `cpus` slices of `valueSize` bytes (slots are 8-byte aligned). */
export function perCpuSlices(value: Uint8Array, valueSize: number, cpus: number): Uint8Array[] {
  const stride = roundUp8(valueSize);
  const out: Uint8Array[] = [];
  for (let c = 0; c < cpus; c++) out.push(value.slice(c * stride, c * stride + valueSize));
  return out;
}

/** Builds a whole per-CPU value from one slice per CPU. */
export function perCpuValue(slices: Uint8Array[], valueSize: number): Uint8Array {
  const stride = roundUp8(valueSize);
  const v = alloc(stride * slices.length);
  slices.forEach((s, c) => v.set(s.subarray(0, valueSize), c * stride));
  return v;
}

/** Sums each little-endian u64 field over the slices (wrapping at 2^64 like the kernel's counters). */
export function sumU64Fields(slices: Uint8Array[]): bigint[] {
  if (!slices.length) return [];
  const fields = Math.floor(slices[0].length / 8);
  const sums: bigint[] = Array(fields).fill(0n);
  for (const s of slices) {
    const dv = new DataView(s.buffer, s.byteOffset, s.byteLength);
    for (let f = 0; f < fields; f++) sums[f] = BigInt.asUintN(64, sums[f] + dv.getBigUint64(f * 8, true));
  }
  return sums;
}

/** A map of an opened object (struct bpf_map *): configure before load, operate after. */
export class BpfMap {
  readonly name: string;
  #ptr: Deno.PointerObject | null;
  #handle: MapHandle | null = null;
  readonly #objectName: string;
  readonly #isLoaded: () => boolean;

  /** @internal created by BpfObject */
  constructor(ptr: Deno.PointerObject, objectName: string, isLoaded: () => boolean) {
    this.#ptr = ptr;
    this.#objectName = objectName;
    this.#isLoaded = isLoaded;
    this.name = readCString(libbpf().bpf_map__name(ptr), "?");
  }

  get #p(): Deno.PointerObject {
    if (!this.#ptr) throw new LibbpfUsageError(`map '${this.name}' of ${this.#objectName}: the object is closed`);
    return this.#ptr;
  }

  get type(): number {
    return libbpf().bpf_map__type(this.#p);
  }
  get typeName(): string {
    return mapTypeName(this.type);
  }
  get keySize(): number {
    return libbpf().bpf_map__key_size(this.#p);
  }
  get valueSize(): number {
    return libbpf().bpf_map__value_size(this.#p);
  }
  get maxEntries(): number {
    return libbpf().bpf_map__max_entries(this.#p);
  }
  get perCpu(): boolean {
    return isPerCpuMapType(this.type);
  }

  /** Sets max_entries; only before load (libbpf returns EBUSY after). */
  setMaxEntries(n: number): this {
    checkInt("bpf_map__set_max_entries", `${this.name} to ${n}`, () => libbpf().bpf_map__set_max_entries(this.#p, n));
    return this;
  }

  /**
   * Before load: libbpf reuses the map pinned at `path` if it exists and is
   * compatible, else creates it and pins it there on load.
   */
  setPinPath(path: string | null): this {
    checkInt(
      "bpf_map__set_pin_path",
      `${this.name} at ${path}`,
      () => libbpf().bpf_map__set_pin_path(this.#p, path === null ? null : cstr(path)),
    );
    return this;
  }

  /** The pin path set with setPinPath or pin(), or null. */
  get pinPath(): string | null {
    const p = libbpf().bpf_map__pin_path(this.#p);
    return p ? readCString(p) : null;
  }

  get isPinned(): boolean {
    return libbpf().bpf_map__is_pinned(this.#p);
  }

  /** Before load: use an existing map fd (e.g. from openPinnedMap) instead of creating one. libbpf dups the fd. */
  reuseFd(fd: number): this {
    checkInt("bpf_map__reuse_fd", `${this.name} with fd ${fd}`, () => libbpf().bpf_map__reuse_fd(this.#p, fd));
    return this;
  }

  /** After load: pins at `path` (or the pin path set before). libbpf creates the parent directory. */
  pin(path?: string): void {
    checkInt(
      "bpf_map__pin",
      `${this.name} at ${path ?? this.pinPath}`,
      () => libbpf().bpf_map__pin(this.#p, path === undefined ? null : cstr(path)),
    );
  }

  /** Removes the pin at `path` (or the map's pin path). */
  unpin(path?: string): void {
    checkInt(
      "bpf_map__unpin",
      `${this.name} at ${path ?? this.pinPath}`,
      () => libbpf().bpf_map__unpin(this.#p, path === undefined ? null : cstr(path)),
    );
  }

  /** The map fd (after load). */
  get fd(): number {
    return this.handle.fd;
  }

  /** Element operations; available after load. */
  get handle(): MapHandle {
    if (this.#handle) {
      this.#handle.fd; // throws if invalidated
      return this.#handle;
    }
    if (!this.#isLoaded()) {
      throw new LibbpfUsageError(`map '${this.name}' of ${this.#objectName}: load the object first`);
    }
    const fd = libbpf().bpf_map__fd(this.#p);
    if (fd < 0) throw new LibbpfError("bpf_map__fd", this.name, -fd);
    this.#handle = new MapHandle(fd, {
      name: this.name,
      type: this.type,
      keySize: this.keySize,
      valueSize: this.valueSize,
      maxEntries: this.maxEntries,
      id: mapInfoByFd(fd, this.name).id,
    }, false);
    return this.#handle;
  }

  get id(): number {
    return this.handle.id;
  }

  lookup(key: Uint8Array): Uint8Array | null {
    return this.handle.lookup(key);
  }
  lookupPerCpu(key: Uint8Array): Uint8Array[] | null {
    return this.handle.lookupPerCpu(key);
  }
  sumU64(key: Uint8Array): bigint[] | null {
    return this.handle.sumU64(key);
  }
  update(key: Uint8Array, value: Uint8Array, flags: number = UpdateFlags.ANY): void {
    this.handle.update(key, value, flags);
  }
  delete(key: Uint8Array): boolean {
    return this.handle.delete(key);
  }
  lookupAndDelete(key: Uint8Array): Uint8Array | null {
    return this.handle.lookupAndDelete(key);
  }
  nextKey(key: Uint8Array | null): Uint8Array | null {
    return this.handle.nextKey(key);
  }
  keys(): Generator<Uint8Array> {
    return this.handle.keys();
  }
  entries(): Generator<[Uint8Array, Uint8Array]> {
    return this.handle.entries();
  }
  countKeys(): number {
    return this.handle.countKeys();
  }
  lookupBatch(options: { batchSize?: number } = {}): BatchResult {
    return this.handle.lookupBatch(options);
  }
  forEachBatch(
    fn: (keys: Uint8Array, values: Uint8Array, count: number) => void | boolean,
    options: { batchSize?: number } = {},
  ) {
    return this.handle.forEachBatch(fn, options);
  }
  updateBatch(
    keys: Uint8Array,
    values: Uint8Array,
    count: number,
    options: { elemFlags?: number; chunk?: number } = {},
  ): void {
    this.handle.updateBatch(keys, values, count, options);
  }
  deleteBatch(keys: Uint8Array, count: number, options: { chunk?: number } = {}): number {
    return this.handle.deleteBatch(keys, count, options);
  }

  /** @internal the owning object closed. */
  _invalidate(): void {
    this.#handle?._invalidate(`object ${this.#objectName} was closed`);
    this.#ptr = null;
  }
}

/** u32 key helper: 4 little-endian bytes. */
export function u32Key(n: number): Uint8Array {
  const b = alloc(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}
