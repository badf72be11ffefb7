// SPDX-License-Identifier: Apache-2.0
/**
 * The part of kustomize this project's k8s/ uses, for tests (no kubectl here):
 * resources (files and directories with a kustomization.yaml), strategic-merge
 * patches (maps merged, lists of named items merged by name, null deletes a
 * key, `$patch: delete` deletes the resource) and `images` (name → newName,
 * newTag). Anything else in a kustomization fails, so a new feature used in
 * k8s/ must be taught here first.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { parseAllDocuments } from "yaml";

/** A parsed YAML document: untyped by nature, read field by field by the checks. */
// deno-lint-ignore no-explicit-any
export type Resource = Record<string, any>;

const KNOWN_KEYS = new Set(["apiVersion", "kind", "resources", "patches", "images"]);

export function loadYaml(path: string): Resource[] {
  return parseAllDocuments(readFileSync(path, "utf8")).map((d) => {
    if (d.errors.length) throw new Error(`${path}: ${d.errors.map((e) => e.message).join("; ")}`);
    return d.toJS() as Resource;
  }).filter((d) => d !== null);
}

export const resourceId = (r: Resource) => `${r.kind}/${r.metadata?.namespace ?? ""}/${r.metadata?.name}`;

/** The resources `kubectl apply -k dir` would apply, in order. */
export function build(dir: string): Resource[] {
  const [k] = loadYaml(`${dir}/kustomization.yaml`);
  if (!k || k.apiVersion !== "kustomize.config.k8s.io/v1beta1" || k.kind !== "Kustomization") {
    throw new Error(`${dir}: not a Kustomization`);
  }
  for (const key of Object.keys(k)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new Error(`${dir}/kustomization.yaml: ${key} is not supported by scripts/deploy/kustomize.ts`);
    }
  }
  let out: Resource[] = [];
  for (const rel of (k.resources ?? []) as string[]) {
    const path = resolve(dir, rel);
    if (!existsSync(path)) throw new Error(`${dir}/kustomization.yaml: resource ${rel} does not exist`);
    out.push(...(statSync(path).isDirectory() ? build(path) : loadYaml(path)));
  }
  for (const p of (k.patches ?? []) as { path: string }[]) {
    for (const patch of loadYaml(resolve(dir, p.path))) {
      const id = resourceId(patch);
      const i = out.findIndex((r) => resourceId(r) === id);
      if (i < 0) throw new Error(`${dir}/${p.path}: patches ${id}, which is not among the resources`);
      if (patch.$patch === "delete") out = out.filter((_, j) => j !== i);
      else out[i] = merge(out[i], patch);
    }
  }
  for (const img of (k.images ?? []) as { name: string; newName?: string; newTag?: string }[]) {
    for (const c of out.flatMap(containersOf)) {
      const [name, tag] = splitImage(c.image);
      if (name === img.name) c.image = `${img.newName ?? name}:${img.newTag ?? tag}`;
    }
  }
  return out;
}

export function containersOf(r: Resource): Resource[] {
  const spec = r.spec?.template?.spec;
  return spec ? [...(spec.initContainers ?? []), ...(spec.containers ?? [])] : [];
}

function splitImage(image: string): [string, string] {
  const at = image.lastIndexOf(":");
  return at > image.lastIndexOf("/") ? [image.slice(0, at), image.slice(at + 1)] : [image, "latest"];
}

const isMap = (v: unknown): v is Resource => typeof v === "object" && v !== null && !Array.isArray(v);
const named = (v: unknown): v is Resource[] =>
  Array.isArray(v) && v.every((x) => isMap(x) && typeof x.name === "string");

/** Strategic merge, as far as k8s/ uses it. */
// deno-lint-ignore no-explicit-any -- returns whatever shape the merged YAML has
export function merge(base: unknown, patch: unknown): any {
  if (isMap(base) && isMap(patch)) {
    const out: Resource = { ...base };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete out[k];
      else out[k] = k in base ? merge(base[k], v) : v;
    }
    return out;
  }
  if (named(base) && named(patch)) {
    const out = base.map((x) => ({ ...x }));
    for (const p of patch) {
      const i = out.findIndex((x) => x.name === p.name);
      if (i < 0) out.push(p);
      else out[i] = merge(out[i], p);
    }
    return out;
  }
  return patch;
}
