import { ApiError, ConflictError, NetworkError, NotFoundError, TimeoutError } from "../errors.js";
import { at, type RequestOptions, type ResponseMeta, type Transport, type WithResponse, metaOfError, withMeta } from "../http.js";
import type { BulkAcked, BulkCreated, BulkDeleted, ErrorDetail, Event, EventCreate } from "../types.js";

/** The API's bulk routes take 1 to 25 entries per request. */
export const BULK_BATCH_SIZE = 25;

export interface CreateEventOptions extends RequestOptions {
  /**
   * Sent as Idempotency-Key. When omitted the SDK generates one (a UUID) so that its retries of
   * this call can never create the event twice; give your own (e.g. an order id) to make
   * repeated calls of your code idempotent too.
   */
  idempotencyKey?: string;
}

/** A per-item failure of a bulk call, at the caller's original index. */
export interface BulkFailure {
  index: number;
  error: { code: string; message: string; details: ErrorDetail[] };
}

/** The merged result of a bulk helper over any number of items (batches of 25). */
export interface BulkResult<S extends { index: number }> {
  /** In the caller's order; `index` is the position in the caller's list. */
  successful: S[];
  /** In the caller's order; `index` is the position in the caller's list. */
  failed: BulkFailure[];
  /** The request id of each batch's request (or of its error), in batch order. */
  requestIds: Array<string | null>;
}

interface BatchAnswer<S> {
  successful: S[];
  failed: BulkFailure[];
  request_id: string;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function inBatches<T, S extends { index: number }>(
  items: readonly T[],
  send: (batch: T[]) => Promise<BatchAnswer<S>>,
): Promise<BulkResult<S>> {
  const result: BulkResult<S> = { successful: [], failed: [], requestIds: [] };
  const batches = chunk(items, BULK_BATCH_SIZE);
  for (const [b, batch] of batches.entries()) {
    const offset = b * BULK_BATCH_SIZE;
    try {
      const answer = await send(batch);
      result.requestIds.push(answer.request_id);
      for (const s of answer.successful) result.successful.push({ ...s, index: s.index + offset });
      for (const f of answer.failed) result.failed.push({ index: f.index + offset, error: f.error });
    } catch (error) {
      // The whole batch failed (after the SDK's retries): each of its items fails with that
      // error, so the caller sees every item's fate and can resend exactly those.
      // (An abort by the caller's signal is not an item's fate: it is thrown.)
      let failure: BulkFailure["error"];
      if (error instanceof ApiError) {
        result.requestIds.push(error.requestId);
        failure = { code: error.code, message: error.message, details: error.details };
      } else if (error instanceof NetworkError || error instanceof TimeoutError) {
        result.requestIds.push(null);
        failure = { code: error instanceof TimeoutError ? "timeout" : "network_error", message: error.message, details: [] };
      } else {
        throw error;
      }
      for (let i = 0; i < batch.length; i++) result.failed.push({ index: offset + i, error: failure });
    }
  }
  result.successful.sort((a, b) => a.index - b.index);
  result.failed.sort((a, b) => a.index - b.index);
  return result;
}

export class Events {
  constructor(
    private readonly transport: Transport,
    private readonly newKey: () => string,
  ) {}

  /**
   * POST /v1/events. 201 with the new event, or (same idempotency key and body within 24 h) the
   * original one with `lastResponse.idempotentReplayed`. Retried safely: every attempt carries
   * the same Idempotency-Key.
   */
  async create(event: EventCreate, options: CreateEventOptions = {}): Promise<Event & WithResponse> {
    const key = options.idempotencyKey ?? event.idempotency_key ?? this.newKey();
    const { body, meta } = await this.transport.call(
      { method: "POST", path: ["v1", "events"], body: event, idempotent: true, idempotencyKey: key },
      options,
    );
    return withMeta(body as Event, meta);
  }

  /** GET /v1/events/{id}; NotFoundError for an unknown, deleted, expired or other tenant's id. */
  async get(eventId: string, options: RequestOptions = {}): Promise<Event & WithResponse> {
    return this.getBy(eventId, options, undefined);
  }

  /** `get` within a deadline already running (`undefined`: a fresh one). */
  private async getBy(eventId: string, options: RequestOptions, deadline: number | undefined): Promise<Event & WithResponse> {
    const { body, meta } = await this.transport.call(
      { method: "GET", ...at("/v1/events/{event_id}", { event_id: eventId }), idempotent: true },
      options,
      { deadline },
    );
    return withMeta(body as Event, meta);
  }

  /**
   * POST /v1/events/{id}/ack: the acknowledged event. A second ack is a ConflictError with code
   * `already_acknowledged`, except when the SDK itself retried this call after an attempt whose
   * answer was lost: then the first attempt did the ack, and the SDK answers with the event as
   * it is now (read with GET, within the same total deadline as the ack).
   */
  async ack(eventId: string, options: RequestOptions = {}): Promise<Event & WithResponse> {
    const deadline = this.transport.deadline(options);
    try {
      const { body, meta } = await this.transport.call(
        { method: "POST", ...at("/v1/events/{event_id}/ack", { event_id: eventId }), idempotent: true },
        options,
        { deadline },
      );
      return withMeta(body as Event, meta);
    } catch (error) {
      if (error instanceof ConflictError && error.code === "already_acknowledged" && error.earlierAttemptMayHaveLanded) {
        return this.getBy(eventId, options, deadline);
      }
      throw error;
    }
  }

  /**
   * DELETE /v1/events/{id} (pending or acknowledged). A second delete is a NotFoundError, except
   * when the SDK retried this call after an attempt whose answer was lost: then the event is
   * gone as asked, and the call succeeds (its `status` is 404).
   */
  async delete(eventId: string, options: RequestOptions = {}): Promise<ResponseMeta> {
    try {
      const { meta } = await this.transport.call(
        { method: "DELETE", ...at("/v1/events/{event_id}", { event_id: eventId }), idempotent: true },
        options,
      );
      return meta;
    } catch (error) {
      if (error instanceof NotFoundError && error.earlierAttemptMayHaveLanded) {
        return metaOfError(error);
      }
      throw error;
    }
  }

  /**
   * Creates any number of events, 25 per request; the per-item results come back merged, at the
   * indexes of `items`. Items without an `idempotency_key` get a generated one (your objects
   * are not modified), so a retried batch never duplicates an event. A batch that fails as a
   * whole (after retries) fails each of its items with that error.
   */
  async bulkCreate(items: readonly EventCreate[], options: RequestOptions = {}): Promise<BulkResult<BulkCreated>> {
    const keyed = items.map((item) => (item.idempotency_key ? item : { ...item, idempotency_key: this.newKey() }));
    return inBatches(keyed, async (batch) => {
      const { body } = await this.transport.call(
        { method: "POST", path: ["v1", "events", "bulk"], body: { items: batch }, idempotent: true },
        options,
      );
      return body as BatchAnswer<BulkCreated>;
    });
  }

  /**
   * Acknowledges any number of events, 25 per request (results merged at the caller's indexes).
   * Retried like `ack`: an item acknowledged by an attempt whose answer was lost is reported
   * by the retry as failed with `already_acknowledged`.
   */
  async bulkAck(eventIds: readonly string[], options: RequestOptions = {}): Promise<BulkResult<BulkAcked>> {
    return inBatches(eventIds, async (batch) => {
      const { body } = await this.transport.call(
        { method: "POST", path: ["v1", "events", "bulk", "ack"], body: { event_ids: batch }, idempotent: true },
        options,
      );
      return body as BatchAnswer<BulkAcked>;
    });
  }

  /**
   * Deletes any number of events, 25 per request (results merged at the caller's indexes).
   * An item deleted by an attempt whose answer was lost is reported by the retry as
   * `not_found`.
   */
  async bulkDelete(eventIds: readonly string[], options: RequestOptions = {}): Promise<BulkResult<BulkDeleted>> {
    return inBatches(eventIds, async (batch) => {
      const { body } = await this.transport.call(
        { method: "DELETE", path: ["v1", "events", "bulk"], body: { event_ids: batch }, idempotent: true },
        options,
      );
      return body as BatchAnswer<BulkDeleted>;
    });
  }
}
