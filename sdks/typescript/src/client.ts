import {
  type Clock,
  type FetchLike,
  type RequestOptions,
  type RetryPolicy,
  Transport,
  type WithResponse,
  defaultClock,
  defaultUserAgent,
  newIdempotencyKey,
  withMeta,
} from "./http.js";
import { type Deprecation, warnDeprecation } from "./deprecation.js";
import { Analytics } from "./resources/analytics.js";
import { ApiKeys, Webhooks } from "./resources/admin.js";
import { Events } from "./resources/events.js";
import { Inbox } from "./resources/inbox.js";
import { RequestSigner } from "./signing.js";
import type { Health } from "./types.js";

export interface ClientOptions {
  /** The API's base URL, e.g. https://api.example.com or http://127.0.0.1:8000 (no /v1). */
  baseUrl: string;
  /** The key's secret (tk_<stage>_...), sent as X-API-Key. Only health() works without one. */
  apiKey?: string;
  /**
   * The key's signing secret(s) (tsig_...): every request is then signed (X-Triggers-Timestamp,
   * X-Triggers-Signature), afresh on each retry. Several: one v1= value per secret.
   */
  signingSecret?: string | readonly string[];
  /** Per-attempt timeout in ms (default 30,000). */
  timeoutMs?: number;
  /** Total deadline of one call in ms, retries and waits included (default 120,000). */
  totalTimeoutMs?: number;
  /** Retries after the first attempt (default 3). */
  maxRetries?: number;
  /** Backoff: attempt n waits random(0, min(maxDelayMs, baseDelayMs * 2^n)); default 500 / 30,000 ms. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A fetch implementation (default globalThis.fetch). */
  fetch?: FetchLike;
  /** Clock, sleep and random source for retries (tests). */
  clock?: Partial<Clock>;
  /** Appended to the User-Agent, e.g. "my-app/1.2". */
  appInfo?: string;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** Makes idempotency keys (default: a random UUID). */
  idempotencyKey?: () => string;
  /**
   * Called once per route per client when an answer (success or error) carries a `Deprecation`
   * header (docs/VERSIONING.md), with the parsed Deprecation, Sunset and Link. Default: one
   * console.warn line; `null` turns the notice off. Every answer's `lastResponse.deprecation`
   * (and `ApiError.deprecation`) carries the parsed values either way.
   */
  onDeprecation?: ((deprecation: Deprecation) => void) | null;
}

/**
 * The Triggers API client. Holds no global state: make as many as you need (one per key).
 * Every method returns a Promise; one client may serve any number of concurrent calls.
 */
export class TriggersClient {
  readonly events: Events;
  readonly inbox: Inbox;
  readonly apiKeys: ApiKeys;
  readonly webhooks: Webhooks;
  readonly analytics: Analytics;
  private readonly transport: Transport;

  constructor(options: ClientOptions) {
    if (!options || typeof options.baseUrl !== "string" || !/^https?:\/\//.test(options.baseUrl)) {
      throw new TypeError("baseUrl must be an http(s) URL, e.g. http://127.0.0.1:8000");
    }
    const fetchImpl = options.fetch ?? (globalThis.fetch ? globalThis.fetch.bind(globalThis) : undefined);
    if (!fetchImpl) throw new TypeError("no fetch available: pass options.fetch (Node 20+ has a global fetch)");
    const positive = (name: string, value: number | undefined, fallback: number): number => {
      const v = value ?? fallback;
      if (!Number.isFinite(v) || v < 0) throw new TypeError(`${name} must be a non-negative number`);
      return v;
    };
    const retry: RetryPolicy = {
      maxRetries: Math.floor(positive("maxRetries", options.maxRetries, 3)),
      baseDelayMs: positive("baseDelayMs", options.baseDelayMs, 500),
      maxDelayMs: positive("maxDelayMs", options.maxDelayMs, 30_000),
    };
    const ua = defaultUserAgent();
    this.transport = new Transport({
      baseUrl: options.baseUrl,
      apiKey: options.apiKey,
      signer: options.signingSecret === undefined ? undefined : new RequestSigner(options.signingSecret),
      timeoutMs: positive("timeoutMs", options.timeoutMs, 30_000),
      totalTimeoutMs: positive("totalTimeoutMs", options.totalTimeoutMs, 120_000),
      retry,
      fetch: fetchImpl as FetchLike,
      clock: resolveClock(options.clock),
      userAgent: options.appInfo ? `${ua} ${options.appInfo}` : ua,
      headers: { ...options.headers },
      idempotencyKey: options.idempotencyKey ?? newIdempotencyKey,
      onDeprecation: options.onDeprecation === undefined ? warnDeprecation : options.onDeprecation,
    });
    this.events = new Events(this.transport, this.transport.config.idempotencyKey);
    this.inbox = new Inbox(this.transport, this.events);
    this.apiKeys = new ApiKeys(this.transport);
    this.webhooks = new Webhooks(this.transport);
    this.analytics = new Analytics(this.transport);
  }

  /** GET /v1/health (no auth). A 503 (storage unavailable) is retried, then thrown as ServerError. */
  async health(options: RequestOptions = {}): Promise<Health & WithResponse> {
    const { body, meta } = await this.transport.call(
      { method: "GET", path: ["v1", "health"], idempotent: true, auth: false },
      options,
    );
    return withMeta(body as Health, meta);
  }

  /** The User-Agent this client sends. */
  get userAgent(): string {
    return this.transport.config.userAgent;
  }
}

/** Fills a partial clock from the defaults; a custom `now` without `monotonic` serves both. */
function resolveClock(clock: Partial<Clock> | undefined): Clock {
  const c = clock ?? {};
  const monotonic = c.monotonic ?? (c.now ? () => c.now!() : defaultClock.monotonic);
  return { ...defaultClock, ...c, monotonic };
}
