/**
 * The items of a tenant on its regional API, served a page at a time (`GET /v1/items`), for
 * clients that loop over pages: a fixed, deterministic list per tenant, so tests can tell that
 * every item arrived once and in order.
 */

/** How many items every tenant has. */
export const ITEMS_PER_TENANT = 30;
const DEFAULT_PER_PAGE = 5;
const MAX_PER_PAGE = 100;

/** One item of a tenant. */
export interface Item {
  id: string;
  name: string;
}

/** One page: its items, its number and the next page's number (`null` after the last). */
export interface ItemsPage {
  items: Item[];
  page: number;
  next: number | null;
}

/**
 * The page `page` (1-based, default 1) of `per_page` items (default 5, at most 100) of `tenantId`.
 * @returns the page, or an OAuth-style `invalid_request` error for a page or size that is not a
 *   positive integer.
 */
export function itemsPage(
  tenantId: string,
  query: URLSearchParams,
): ItemsPage | { error: 'invalid_request'; error_description: string } {
  const page = positive(query.get('page'), 1);
  const perPage = positive(query.get('per_page'), DEFAULT_PER_PAGE);
  if (page === null || perPage === null || perPage > MAX_PER_PAGE) {
    return {
      error: 'invalid_request',
      error_description: `page must be a positive integer and per_page one of 1..${MAX_PER_PAGE}`,
    };
  }
  const start = (page - 1) * perPage;
  const end = Math.min(start + perPage, ITEMS_PER_TENANT);
  const items: Item[] = [];
  for (let i = start; i < end; i++) items.push({ id: `${tenantId}-item-${i + 1}`, name: `Item ${i + 1}` });
  return { items, page, next: end < ITEMS_PER_TENANT ? page + 1 : null };
}

/** A positive integer from a query parameter, `fallback` when absent, `null` when invalid. */
function positive(value: string | null, fallback: number): number | null {
  if (value === null) return fallback;
  return /^[1-9][0-9]{0,5}$/.test(value) ? Number(value) : null;
}
