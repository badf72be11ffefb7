// SPDX-License-Identifier: Apache-2.0
/**
 * A region that scrolls its wide content sideways on its own (the page does
 * not), and keeps its scroll position when a live refresh swaps it for a new
 * copy: web/assets/keep-scroll.js carries the position over by `name`, which
 * must be unique on the page.
 */
import type { Child } from "hono/jsx";

/** The attribute keep-scroll.js looks for. */
export const KEEP_SCROLL_ATTRIBUTE = "data-keep-scroll";

export function ScrollRegion(props: { name: string; children: Child }) {
  return (
    <div class="scroll-x" {...{ [KEEP_SCROLL_ATTRIBUTE]: props.name }}>
      {props.children}
    </div>
  );
}
