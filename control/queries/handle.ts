// SPDX-License-Identifier: Apache-2.0
/**
 * The database handle as the pages hold it: the app hands it to the page
 * routes, which pass it back to control's queries and commands and never
 * query it themselves. web/ names its type through here rather than
 * control/db/, so the page layer imports neither the schema nor drizzle
 * (scripts/deps/dependency-rules.test.ts).
 */
export type { Db } from "../db/client.ts";
