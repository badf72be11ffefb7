// SPDX-License-Identifier: Apache-2.0
/** The skip logic: missing preconditions skip with a message, but fail under CI=true. */
import { assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { missingRequirements, requireKernel } from "./kernel.ts";

async function runTestFile(env: Record<string, string>): Promise<{ code: number; out: string }> {
  const dir = await Deno.makeTempDir({ prefix: "ek8s-skip-" });
  try {
    const kernel = new URL("./kernel.ts", import.meta.url).href;
    await Deno.writeTextFile(
      `${dir}/probe_test.ts`,
      `
      import { kernelTest } from "${kernel}";
      kernelTest("needs the objects", { needs: ["objects"] }, () => {});
    `,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["test", "--no-check", "--allow-all", `${dir}/probe_test.ts`],
      env: { NO_COLOR: "1", ...env },
      clearEnv: false,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, out: dec.decode(out.stdout) + dec.decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("requireKernel: a missing object is named; skip outside CI", () => {
  const missing = missingRequirements(["objects"]);
  // the real objects may or may not be built here; the decision follows from the list
  const k = requireKernel(["objects"]);
  assertEquals(k.missing, missing);
  assertEquals(k.ok, missing.length === 0);
});

Deno.test("kernelTest skips (ignored, with the reason) without CI, fails with CI=true", async () => {
  const env = { EBPF_K8S_BPF_OBJ_DIR: "/nonexistent/ek8s-objects" };
  const skipped = await runTestFile({ ...env, CI: "false" });
  assertEquals(skipped.code, 0, skipped.out);
  assertStringIncludes(
    skipped.out,
    "skipping kernel tests: eBPF objects not built: /nonexistent/ek8s-objects/ifstats.bpf.o",
  );
  assertMatch(skipped.out, /0 passed \| 0 failed \| 1 ignored/);

  const failed = await runTestFile({ ...env, CI: "true" });
  assertEquals(failed.code !== 0, true, failed.out);
  assertStringIncludes(failed.out, "kernel test preconditions missing (CI=true, so this fails instead of skipping)");
  assertStringIncludes(failed.out, "/nonexistent/ek8s-objects/ifstats.bpf.o");
  assertMatch(failed.out, /0 passed \| 1 failed/);
});
