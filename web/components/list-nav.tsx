// SPDX-License-Identifier: Apache-2.0
/**
 * Filters and pages of the long lists (/pods, /services). Each is a plain
 * GET of the page, so it works without script and every view is a link;
 * with htmx it loads that page and swaps only the list's live region (its
 * polling included, which then asks for the new view), pushing the URL.
 */
import type { Child } from "hono/jsx";
import type { ListPage } from "../../control/queries/list-page.ts";
import { formatCount } from "../format.ts";

/** htmx attributes that load a page and swap in its element `#region` for ours, pushing the page's URL. */
export function swapRegion(region: string | undefined): Record<string, string> {
  if (region === undefined) return {};
  return {
    "hx-select": `#${region}`,
    "hx-target": `#${region}`,
    "hx-swap": "outerHTML",
    "hx-push-url": "true",
  };
}

/** ?offset= as a whole number of rows, 0 when absent or not one. */
export function offsetParam(get: (k: string) => string | undefined): number {
  const raw = get("offset");
  return raw !== undefined && /^\d{1,9}$/.test(raw) ? Number(raw) : 0;
}

/** A GET form to `action` (the page): its fields, and a submit button. */
export function ListFilter(props: { action: string; region?: string; children: Child }) {
  return (
    <form
      method="get"
      action={props.action}
      class="filter"
      {...(props.region === undefined ? {} : { "hx-get": props.action, ...swapRegion(props.region) })}
    >
      {props.children}
      <button type="submit">Filter</button>
    </form>
  );
}

/** "101–200 of 250" with previous and next pages; `href(offset)` is the page at that offset, filters kept. */
export function ListPager(
  props: {
    page: Omit<ListPage<unknown>, "rows"> & { shown: number };
    href: (offset: number) => string;
    region?: string;
  },
) {
  const { offset, limit, total, shown } = props.page;
  if (total <= limit && offset === 0) return null;
  const link = (to: number, rel: "prev" | "next", label: string) => {
    const href = props.href(to);
    return (
      <a
        href={href}
        rel={rel}
        {...(props.region === undefined ? {} : { "hx-get": href })}
        {...swapRegion(props.region)}
      >
        {label}
      </a>
    );
  };
  return (
    <nav class="pager" aria-label="pages">
      {offset > 0 ? link(Math.max(0, offset - limit), "prev", "← previous") : <span class="meta">← previous</span>}
      <span class="meta pager-count">
        {`${formatCount(offset + 1)}–${formatCount(offset + shown)} of ${formatCount(total)}`}
      </span>
      {offset + limit < total ? link(offset + limit, "next", "next →") : <span class="meta">next →</span>}
    </nav>
  );
}
