import type { ResponseMeta } from "./http.js";

/** One page of a cursor-paged list. */
export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null when this was the last page. */
  nextCursor: string | null;
  lastResponse: ResponseMeta;
}

/**
 * Every item of every page, fetching the next page only when the previous one is consumed.
 * A short page WITH a cursor means "keep going" (filtered inbox reads), so only a null cursor
 * ends the walk.
 */
export async function* autoPage<T>(
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
  startCursor?: string,
): AsyncGenerator<T, void, undefined> {
  let cursor = startCursor;
  for (;;) {
    const page = await fetchPage(cursor);
    yield* page.items;
    if (page.nextCursor === null) return;
    cursor = page.nextCursor;
  }
}

/** Every page (for callers that want page boundaries, e.g. to ack page by page). */
export async function* autoPages<T>(
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
  startCursor?: string,
): AsyncGenerator<Page<T>, void, undefined> {
  let cursor = startCursor;
  for (;;) {
    const page = await fetchPage(cursor);
    yield page;
    if (page.nextCursor === null) return;
    cursor = page.nextCursor;
  }
}
