import { NotFoundError } from "../errors.js";
import { at, metaOfError, timeParam, withMeta, type Query, type RequestOptions, type ResponseMeta, type Transport, type WithResponse } from "../http.js";
import { autoPage, type Page } from "../pagination.js";
import type {
  ApiKeyCreate,
  ApiKeyIssued,
  ApiKeyOut,
  ApiKeyUpdate,
  CursorParams,
  DeliveryListParams,
  DeliveryOut,
  ReplayAccepted,
  TimeParam,
  WebhookCreate,
  WebhookIssued,
  WebhookOut,
  WebhookSecretRotated,
  WebhookUpdate,
} from "../types.js";

function cursorQuery(params: CursorParams & { status?: string }): Query {
  const q: Query = [];
  if (params.limit !== undefined) q.push(["limit", String(params.limit)]);
  if (params.cursor !== undefined) q.push(["cursor", params.cursor]);
  if (params.status !== undefined) q.push(["status", params.status]);
  return q;
}

/** The rotated key: the key, its new `secret` and (signing keys) its new `signing_secret`. */
export type ApiKeyRotated = ApiKeyIssued;

/**
 * API keys of the caller's tenant (admin-scoped keys only; others get PermissionError).
 * create and rotate make secrets and are never retried once they may have reached the server.
 */
export class ApiKeys {
  constructor(private readonly transport: Transport) {}

  /** POST /v1/api-keys: the key with its `secret` (and `signing_secret` when `signing`), shown once. */
  async create(params: ApiKeyCreate, options: RequestOptions = {}): Promise<ApiKeyIssued & WithResponse> {
    const { body, meta } = await this.transport.call(
      { method: "POST", path: ["v1", "api-keys"], body: params, idempotent: false },
      options,
    );
    return withMeta(body as ApiKeyIssued, meta);
  }

  async list(params: CursorParams = {}, options: RequestOptions = {}): Promise<Page<ApiKeyOut>> {
    const { body, meta } = await this.transport.call(
      { method: "GET", path: ["v1", "api-keys"], query: cursorQuery(params), idempotent: true },
      options,
    );
    const page = body as { api_keys: ApiKeyOut[]; next_cursor: string | null };
    return { items: page.api_keys, nextCursor: page.next_cursor, lastResponse: meta };
  }

  /** Every key of the tenant, by key id, fetching pages as you iterate. */
  iterate(params: CursorParams = {}, options: RequestOptions = {}): AsyncGenerator<ApiKeyOut, void, undefined> {
    return autoPage((cursor) => this.list({ ...params, ...(cursor === undefined ? {} : { cursor }) }, options), params.cursor);
  }

  async get(keyId: string, options: RequestOptions = {}): Promise<ApiKeyOut & WithResponse> {
    const { body, meta } = await this.transport.call(
      { method: "GET", ...at("/v1/api-keys/{key_id}", { key_id: keyId }), idempotent: true },
      options,
    );
    return withMeta(body as ApiKeyOut, meta);
  }

  /** PATCH: any of name, rate_limit (null = the default), allowed_ips ([] = any address). */
  async update(keyId: string, params: ApiKeyUpdate, options: RequestOptions = {}): Promise<ApiKeyOut & WithResponse> {
    const { body, meta } = await this.transport.call(
      { method: "PATCH", ...at("/v1/api-keys/{key_id}", { key_id: keyId }), body: params, idempotent: false },
      options,
    );
    return withMeta(body as ApiKeyOut, meta);
  }

  /** A new secret; the old one keeps working for `grace_period_seconds` (default 86400, 0 ends it). */
  async rotate(
    keyId: string,
    params: { grace_period_seconds?: number } = {},
    options: RequestOptions = {},
  ): Promise<ApiKeyRotated & WithResponse> {
    const { body, meta } = await this.transport.call(
      { method: "POST", ...at("/v1/api-keys/{key_id}/rotate", { key_id: keyId }), body: params, idempotent: false },
      options,
    );
    return withMeta(body as ApiKeyRotated, meta);
  }

  /** DELETE: revokes the key (204; again on a revoked key: 204). */
  async revoke(keyId: string, options: RequestOptions = {}): Promise<ResponseMeta> {
    const { meta } = await this.transport.call(
      { method: "DELETE", ...at("/v1/api-keys/{key_id}", { key_id: keyId }), idempotent: true },
      options,
    );
    return meta;
  }
}

/**
 * Webhook endpoints of the caller's tenant (admin-scoped keys only). create, update,
 * rotateSecret, test and replay are never retried once they may have reached the server.
 */
export class Webhooks {
  constructor(private readonly transport: Transport) {}

  /** POST /v1/webhooks: the webhook with its signing `secret` (whsec_...), shown once. */
  async create(params: WebhookCreate, options: RequestOptions = {}): Promise<WebhookIssued & WithResponse> {
    const { body, meta } = await this.transport.call(
      { method: "POST", path: ["v1", "webhooks"], body: params, idempotent: false },
      options,
    );
    return withMeta(body as WebhookIssued, meta);
  }

  async list(params: CursorParams = {}, options: RequestOptions = {}): Promise<Page<WebhookOut>> {
    const { body, meta } = await this.transport.call(
      { method: "GET", path: ["v1", "webhooks"], query: cursorQuery(params), idempotent: true },
      options,
    );
    const page = body as { webhooks: WebhookOut[]; next_cursor: string | null };
    return { items: page.webhooks, nextCursor: page.next_cursor, lastResponse: meta };
  }

  iterate(params: CursorParams = {}, options: RequestOptions = {}): AsyncGenerator<WebhookOut, void, undefined> {
    return autoPage((cursor) => this.list({ ...params, ...(cursor === undefined ? {} : { cursor }) }, options), params.cursor);
  }

  async get(webhookId: string, options: RequestOptions = {}): Promise<WebhookOut & WithResponse> {
    const { body, meta } = await this.transport.call(
      { method: "GET", ...at("/v1/webhooks/{webhook_id}", { webhook_id: webhookId }), idempotent: true },
      options,
    );
    return withMeta(body as WebhookOut, meta);
  }

  /** PATCH: any field, and `status` (active, paused, disabled). */
  async update(webhookId: string, params: WebhookUpdate, options: RequestOptions = {}): Promise<WebhookOut & WithResponse> {
    const { body, meta } = await this.transport.call(
      { method: "PATCH", ...at("/v1/webhooks/{webhook_id}", { webhook_id: webhookId }), body: params, idempotent: false },
      options,
    );
    return withMeta(body as WebhookOut, meta);
  }

  /**
   * DELETE: 204. A second delete is a NotFoundError, except when the SDK retried this call after
   * an attempt whose answer was lost: then the webhook is gone as asked, and the call succeeds
   * (its `status` is 404).
   */
  async delete(webhookId: string, options: RequestOptions = {}): Promise<ResponseMeta> {
    try {
      const { meta } = await this.transport.call(
        { method: "DELETE", ...at("/v1/webhooks/{webhook_id}", { webhook_id: webhookId }), idempotent: true },
        options,
      );
      return meta;
    } catch (error) {
      if (error instanceof NotFoundError && error.earlierAttemptMayHaveLanded) return metaOfError(error);
      throw error;
    }
  }

  /** A new secret; the old one keeps signing (as a second signature) for the grace period. */
  async rotateSecret(
    webhookId: string,
    params: { grace_period_seconds?: number } = {},
    options: RequestOptions = {},
  ): Promise<WebhookSecretRotated & WithResponse> {
    const { body, meta } = await this.transport.call(
      { method: "POST", ...at("/v1/webhooks/{webhook_id}/rotate-secret", { webhook_id: webhookId }), body: params, idempotent: false },
      options,
    );
    return withMeta(body as WebhookSecretRotated, meta);
  }

  /** Queues a `webhook.test` delivery (202): the queued delivery. */
  async test(webhookId: string, options: RequestOptions = {}): Promise<DeliveryOut & WithResponse> {
    const { body, meta } = await this.transport.call(
      { method: "POST", ...at("/v1/webhooks/{webhook_id}/test", { webhook_id: webhookId }), idempotent: false },
      options,
    );
    return withMeta(body as DeliveryOut, meta);
  }

  /** Queues every matching event created in [since, until) again (202, `queued`). */
  async replay(
    webhookId: string,
    params: { since: TimeParam; until?: TimeParam },
    options: RequestOptions = {},
  ): Promise<ReplayAccepted & WithResponse> {
    const body: { since: string; until?: string } = { since: timeParam(params.since) };
    if (params.until !== undefined) body.until = timeParam(params.until);
    const answer = await this.transport.call(
      { method: "POST", ...at("/v1/webhooks/{webhook_id}/replay", { webhook_id: webhookId }), body, idempotent: false },
      options,
    );
    return withMeta(answer.body as ReplayAccepted, answer.meta);
  }

  /** The deliveries log, newest first. */
  async deliveries(webhookId: string, params: DeliveryListParams = {}, options: RequestOptions = {}): Promise<Page<DeliveryOut>> {
    const { body, meta } = await this.transport.call(
      { method: "GET", ...at("/v1/webhooks/{webhook_id}/deliveries", { webhook_id: webhookId }), query: cursorQuery(params), idempotent: true },
      options,
    );
    const page = body as { deliveries: DeliveryOut[]; next_cursor: string | null };
    return { items: page.deliveries, nextCursor: page.next_cursor, lastResponse: meta };
  }

  iterateDeliveries(
    webhookId: string,
    params: DeliveryListParams = {},
    options: RequestOptions = {},
  ): AsyncGenerator<DeliveryOut, void, undefined> {
    return autoPage(
      (cursor) => this.deliveries(webhookId, { ...params, ...(cursor === undefined ? {} : { cursor }) }, options),
      params.cursor,
    );
  }
}
