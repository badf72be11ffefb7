// SPDX-License-Identifier: Apache-2.0
/*
 * Keeps a scroll region's place across live refreshes. A region is an
 * element with a `data-keep-scroll` name (web/components/scroll-region.tsx);
 * htmx replaces it with a new copy every few seconds, which would start
 * scrolled back to the left. Before a swap the positions of the regions
 * about to be replaced are noted by name; after it the new regions of those
 * names get them back.
 */
(function () {
  "use strict";

  const ATTRIBUTE = "data-keep-scroll";
  /** name → { left, top } for the swap under way. */
  let kept = new Map();

  function regionsIn(root) {
    if (!root || !root.querySelectorAll) return [];
    const found = Array.from(root.querySelectorAll("[" + ATTRIBUTE + "]"));
    if (root.hasAttribute && root.hasAttribute(ATTRIBUTE)) found.unshift(root);
    return found;
  }

  document.addEventListener("htmx:beforeSwap", function (e) {
    for (const r of regionsIn(e.detail && e.detail.target)) {
      if (r.scrollLeft !== 0 || r.scrollTop !== 0) {
        kept.set(r.getAttribute(ATTRIBUTE), { left: r.scrollLeft, top: r.scrollTop });
      }
    }
  });

  document.addEventListener("htmx:afterSwap", function () {
    if (kept.size === 0) return;
    for (const r of regionsIn(document)) {
      const at = kept.get(r.getAttribute(ATTRIBUTE));
      if (at === undefined) continue;
      r.scrollLeft = at.left;
      r.scrollTop = at.top;
    }
    kept = new Map();
  });
})();
