// SPDX-License-Identifier: Apache-2.0
/**
 * Small assertion helpers (no network needed: no jsr:@std/assert). Built on
 * node:assert's deep equality.
 */
import { inspect, isDeepStrictEqual } from "node:util";

export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new AssertionError(msg);
}

export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}values differ\n  actual:   ${inspect(actual, { depth: 5 })}\n  expected: ${
        inspect(expected, { depth: 5 })
      }`,
    );
  }
}

export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  if (!actual.includes(expected)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}expected to include ${JSON.stringify(expected)}\n  in: ${actual}`,
    );
  }
}

export function assertMatch(actual: string, re: RegExp, msg?: string): void {
  if (!re.test(actual)) throw new AssertionError(`${msg ? msg + ": " : ""}expected to match ${re}\n  in: ${actual}`);
}

// deno-lint-ignore no-explicit-any
type Ctor<E> = abstract new (...args: any[]) => E;

export function assertInstanceOf<E>(value: unknown, ctor: Ctor<E>, msg?: string): asserts value is E {
  if (!(value instanceof ctor)) {
    throw new AssertionError(`${msg ? msg + ": " : ""}expected an instance of ${ctor.name}, got ${inspect(value)}`);
  }
}

/** Runs `fn`, expects it to throw an `ctor` whose message includes `includes`; returns the error. */
export function assertThrows<E extends Error>(fn: () => unknown, ctor: Ctor<E>, includes?: string): E {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ctor)) {
      throw new AssertionError(
        `expected ${ctor.name} to be thrown, got ${e instanceof Error ? `${e.name}: ${e.message}` : inspect(e)}`,
      );
    }
    if (includes !== undefined && !e.message.includes(includes)) {
      throw new AssertionError(
        `expected the ${ctor.name} message to include ${JSON.stringify(includes)}, got: ${e.message}`,
      );
    }
    return e;
  }
  throw new AssertionError(`expected ${ctor.name} to be thrown, nothing was`);
}

/** Async version of assertThrows. */
export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  ctor: Ctor<E>,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof ctor)) {
      throw new AssertionError(
        `expected ${ctor.name} to be thrown, got ${e instanceof Error ? `${e.name}: ${e.message}` : inspect(e)}`,
      );
    }
    if (includes !== undefined && !e.message.includes(includes)) {
      throw new AssertionError(
        `expected the ${ctor.name} message to include ${JSON.stringify(includes)}, got: ${e.message}`,
      );
    }
    return e;
  }
  throw new AssertionError(`expected ${ctor.name} to be thrown, nothing was`);
}
