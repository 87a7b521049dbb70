import { timeParam, type RequestOptions, type Transport, type Query } from "../http.js";
import { autoPage, autoPages, type Page } from "../pagination.js";
import type { Event, InboxFilters, InboxListParams } from "../types.js";
import type { BulkFailure, Events } from "./events.js";

export function inboxQuery(params: InboxListParams): Query {
  const q: Query = [];
  if (params.limit !== undefined) q.push(["limit", String(params.limit)]);
  if (params.cursor !== undefined) q.push(["cursor", params.cursor]);
  if (params.source !== undefined) q.push(["source", params.source]);
  if (params.event_type !== undefined) q.push(["event_type", params.event_type]);
  if (params.created_after !== undefined) q.push(["created_after", timeParam(params.created_after)]);
  if (params.created_before !== undefined) q.push(["created_before", timeParam(params.created_before)]);
  if (params.priority !== undefined) q.push(["priority", params.priority]);
  for (const [k, v] of Object.entries(params.metadata ?? {})) q.push([`metadata.${k}`, v]);
  return q;
}

export interface ProcessOptions extends InboxFilters, RequestOptions {
  /** Events per inbox page (1-100, default 50). */
  pageSize?: number;
  /** Stop after handling this many events (default: the whole pass). */
  maxEvents?: number;
}

/** What `inbox.process` did. */
export interface ProcessResult {
  /** Events given to the handler. */
  handled: number;
  /** Ids acknowledged (handler succeeded, ack succeeded). */
  acknowledged: string[];
  /** Events whose handler threw or rejected: left un-acked, so a later pass sees them again. */
  handlerErrors: Array<{ event: Event; error: unknown }>;
  /** Handled events whose ack failed (e.g. `already_acknowledged` by another consumer). */
  ackFailures: Array<{ eventId: string; error: BulkFailure["error"] }>;
}

export class Inbox {
  constructor(
    private readonly transport: Transport,
    private readonly events: Events,
  ) {}

  /**
   * GET /v1/inbox: one page of pending events, oldest first. A short page with a non-null
   * `nextCursor` means "keep going" (filters are applied after reading).
   */
  async list(params: InboxListParams = {}, options: RequestOptions = {}): Promise<Page<Event>> {
    const { body, meta } = await this.transport.call(
      { method: "GET", path: ["v1", "inbox"], query: inboxQuery(params), idempotent: true },
      options,
    );
    const page = body as { events: Event[]; next_cursor: string | null };
    return { items: page.events, nextCursor: page.next_cursor, lastResponse: meta };
  }

  /** Every pending event matching the filters (one pass), fetching pages as you iterate. */
  iterate(params: InboxListParams = {}, options: RequestOptions = {}): AsyncGenerator<Event, void, undefined> {
    return autoPage((cursor) => this.list({ ...params, ...(cursor === undefined ? {} : { cursor }) }, options), params.cursor);
  }

  /** Every page of one pass. */
  pages(params: InboxListParams = {}, options: RequestOptions = {}): AsyncGenerator<Page<Event>, void, undefined> {
    return autoPages((cursor) => this.list({ ...params, ...(cursor === undefined ? {} : { cursor }) }, options), params.cursor);
  }

  /**
   * Poll, handle, ack: one pass over the pending events matching the filters; `handler` is
   * called once per event, in order; the events it handled (did not throw/reject) are
   * acknowledged after each page with bulk acks of 25. A handler error leaves its event pending
   * and is reported in `handlerErrors`; a failed ack in `ackFailures`. Call it again (or in a
   * loop with a pause) to pick up events that arrived during the pass.
   */
  async process(
    handler: (event: Event) => unknown,
    options: ProcessOptions = {},
  ): Promise<ProcessResult> {
    const { pageSize, maxEvents, signal, timeoutMs, totalTimeoutMs, maxRetries, requestId, headers, ...filters } = options;
    const callOptions: RequestOptions = {};
    if (signal !== undefined) callOptions.signal = signal;
    if (timeoutMs !== undefined) callOptions.timeoutMs = timeoutMs;
    if (totalTimeoutMs !== undefined) callOptions.totalTimeoutMs = totalTimeoutMs;
    if (maxRetries !== undefined) callOptions.maxRetries = maxRetries;
    if (requestId !== undefined) callOptions.requestId = requestId;
    if (headers !== undefined) callOptions.headers = headers;
    const result: ProcessResult = { handled: 0, acknowledged: [], handlerErrors: [], ackFailures: [] };
    const limit = maxEvents ?? Number.POSITIVE_INFINITY;
    const params: InboxListParams = { ...filters, ...(pageSize === undefined ? {} : { limit: pageSize }) };
    for await (const page of this.pages(params, callOptions)) {
      const done: string[] = [];
      for (const event of page.items) {
        if (result.handled >= limit) break;
        result.handled++;
        try {
          await handler(event);
          done.push(event.event_id);
        } catch (error) {
          result.handlerErrors.push({ event, error });
        }
      }
      if (done.length > 0) {
        const acked = await this.events.bulkAck(done, callOptions);
        for (const s of acked.successful) result.acknowledged.push(s.event.event_id);
        for (const f of acked.failed) result.ackFailures.push({ eventId: done[f.index]!, error: f.error });
      }
      if (result.handled >= limit) break;
    }
    return result;
  }
}
