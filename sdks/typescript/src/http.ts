// The transport: builds, signs, sends and retries one call; parses answers and errors.
import { randomUUID } from "./crypto.js";
import {
  ApiError,
  NetworkError,
  type RateLimitState,
  TimeoutError,
  errorClassFor,
} from "./errors.js";
import { type Deprecation, parseDeprecation } from "./deprecation.js";
import { RequestSigner, canonicalQuery, encodeRfc3986 } from "./signing.js";
import type { ErrorDetail } from "./types.js";
import { VERSION } from "./version.js";

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** The hooks retries use; inject them to test a schedule exactly. */
export interface Clock {
  /**
   * Wall-clock milliseconds since the epoch, for signing timestamps and HTTP dates only.
   * Default: Date.now.
   */
  now(): number;
  /**
   * Monotonic milliseconds (any origin), for deadlines and backoff: a wall-clock step (NTP, a
   * suspended laptop) can neither cut nor extend a call's deadline. Default: performance.now.
   * A clock given to the client with `now` but no `monotonic` uses its `now` for both, so a
   * fake clock keeps retry schedules exact.
   */
  monotonic(): number;
  /** Waits `ms`; rejects when `signal` aborts. Default: setTimeout. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Uniform in [0, 1). Default: Math.random. */
  random(): number;
}

export interface RetryPolicy {
  /** Retries after the first attempt (default 3: at most 4 attempts). */
  maxRetries: number;
  /** Backoff base in ms: attempt n waits random(0, min(cap, base * 2^n)) (default 500). */
  baseDelayMs: number;
  /** Backoff cap in ms (default 30,000). */
  maxDelayMs: number;
}

export interface TransportConfig {
  baseUrl: string;
  apiKey: string | undefined;
  signer: RequestSigner | undefined;
  timeoutMs: number;
  totalTimeoutMs: number;
  retry: RetryPolicy;
  fetch: FetchLike;
  clock: Clock;
  userAgent: string;
  headers: Record<string, string>;
  idempotencyKey: () => string;
  /** Called once per route and client when an answer carries `Deprecation`; null: silent. */
  onDeprecation: ((deprecation: Deprecation) => void) | null;
}

/** Per-call options every method takes. */
export interface RequestOptions {
  /** Aborts the call (and its retries). */
  signal?: AbortSignal;
  /** Per-attempt timeout for this call. */
  timeoutMs?: number;
  /** Total deadline for this call, retries and waits included. */
  totalTimeoutMs?: number;
  /** Retries for this call (0 turns them off). */
  maxRetries?: number;
  /** Sent as X-Request-ID (1-128 of [A-Za-z0-9._:-]); the API echoes it. */
  requestId?: string;
  /** Extra headers for this call. */
  headers?: Record<string, string>;
}

/** What a successful answer carried besides its body. */
export interface ResponseMeta {
  status: number;
  headers: Headers;
  /** X-Request-ID. */
  requestId: string | null;
  rateLimit: RateLimitState;
  /** Attempts made (1 + retries). */
  attempts: number;
  /** POST /v1/events: true when the API replayed an earlier create (Idempotent-Replayed). */
  idempotentReplayed: boolean;
  /** The route's deprecation notice (Deprecation, Sunset, Link headers), or null. */
  deprecation: Deprecation | null;
}

export type Query = Array<[string, string]>;

/**
 * A call's path and route from one template: `at("/v1/events/{event_id}", { event_id: id })`
 * fills in the ids (percent-encoded when sent) and keeps the template as the route.
 */
export function at(template: string, ids: Readonly<Record<string, string>>): { path: string[]; route: string } {
  const path = template.slice(1).split("/").map((segment) => {
    const name = /^\{(\w+)\}$/.exec(segment)?.[1];
    if (name === undefined) return segment;
    const id = ids[name];
    if (id === undefined) throw new TypeError(`at: no ${name} for ${template}`);
    return id;
  });
  return { path, route: template };
}

export interface CallSpec {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** Path segments joined with "/", each percent-encoded (e.g. ["v1", "events", id]). */
  path: readonly string[];
  /** The route template, e.g. "/v1/events/{event_id}" (default: the path); see `at`. */
  route?: string;
  query?: Query;
  body?: unknown;
  /** Safe to repeat when an earlier attempt may have reached the server. */
  idempotent: boolean;
  idempotencyKey?: string;
  /** "text" for CSV downloads. */
  responseType?: "json" | "text";
  auth?: boolean;
}

export interface CallResult {
  body: unknown;
  meta: ResponseMeta;
  /** An attempt before the last one may have been applied by the server (a lost answer). */
  earlierAttemptMayHaveLanded: boolean;
}

const RETRYABLE_IDEMPOTENT = new Set([500, 502, 503, 504]);
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EADDRNOTAVAIL", "ENETUNREACH", "EHOSTUNREACH"]);

function num(value: string | null): number | null {
  if (value === null || value.trim() === "") return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/** Retry-After as seconds: whole seconds from this API, an HTTP date from some gateways. */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null || value.trim() === "") return null;
  const n = num(value);
  if (n !== null) return Math.max(0, n);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, (date - nowMs) / 1000);
}

export function rateLimitState(headers: Headers, nowMs: number): RateLimitState {
  return {
    limit: num(headers.get("x-ratelimit-limit")),
    remaining: num(headers.get("x-ratelimit-remaining")),
    reset: num(headers.get("x-ratelimit-reset")),
    retryAfter: parseRetryAfter(headers.get("retry-after"), nowMs),
  };
}

function causeCode(error: unknown): string | undefined {
  let e: unknown = error;
  for (let i = 0; i < 4 && e && typeof e === "object"; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export const defaultClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  random: () => Math.random(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

export function defaultUserAgent(): string {
  const proc = (globalThis as { process?: { version?: string; platform?: string } }).process;
  const runtime = proc?.version ? `node ${proc.version}; ${proc.platform ?? "unknown"}` : "browser";
  return `triggers-typescript/${VERSION} (${runtime})`;
}

export function newIdempotencyKey(): string {
  return randomUUID();
}

/** One attempt's outcome: an answer (any status) or a failure with no answer. */
type Attempt =
  | { kind: "response"; response: Response; body: unknown; text: string }
  | { kind: "error"; error: NetworkError | TimeoutError };

export class Transport {
  /** Routes already reported to onDeprecation (per client: no process-wide state). */
  private readonly deprecationsSeen = new Set<string>();

  constructor(readonly config: TransportConfig) {}

  private route(spec: CallSpec): string {
    return `${spec.method} ${spec.route ?? "/" + spec.path.join("/")}`;
  }

  url(spec: Pick<CallSpec, "path" | "query">): { url: string; path: string; query: string } {
    const path = "/" + spec.path.map(encodeRfc3986).join("/");
    // The query goes out in the canonical form (RFC 3986, sorted): what is signed is what is sent.
    const query = canonicalQuery(spec.query ?? []);
    const base = this.config.baseUrl.replace(/\/+$/, "");
    return { url: base + path + (query ? `?${query}` : ""), path, query };
  }

  /** The monotonic instant a call started now must end by (see `Clock.monotonic`). */
  deadline(options: RequestOptions = {}): number {
    return this.config.clock.monotonic() + (options.totalTimeoutMs ?? this.config.totalTimeoutMs);
  }

  /**
   * One call with retries. `internal.deadline` (from `deadline()`) makes this call share an
   * earlier call's total deadline: a follow-up read of a converged ack is part of that ack.
   */
  async call(spec: CallSpec, options: RequestOptions = {}, internal: { deadline?: number } = {}): Promise<CallResult> {
    const { clock, retry } = this.config;
    const maxRetries = options.maxRetries ?? retry.maxRetries;
    const timeoutMs = options.timeoutMs ?? this.config.timeoutMs;
    const deadline = internal.deadline ?? this.deadline(options);
    const bodyText = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    const target = this.url(spec);
    let maybeLanded = false;

    for (let attempt = 0; ; attempt++) {
      const remaining = deadline - clock.monotonic();
      if (remaining <= 0) {
        throw new TimeoutError(`the call's total deadline passed before attempt ${attempt + 1}`, { attempts: attempt });
      }
      const outcome = await this.attempt(spec, target, bodyText, Math.min(timeoutMs, remaining), options);
      let failure: ApiError | NetworkError | TimeoutError;
      let retryAfterMs: number | null = null;
      let retryable: boolean;
      let mightHaveLanded: boolean;
      if (outcome.kind === "response") {
        const { response } = outcome;
        const meta = this.meta(response, attempt + 1, this.route(spec));
        this.noticeDeprecation(meta.deprecation);
        if (response.ok) {
          return { body: outcome.body, meta, earlierAttemptMayHaveLanded: maybeLanded };
        }
        const error = this.apiError(response, outcome.body, outcome.text, meta, attempt + 1);
        failure = error;
        retryAfterMs = error.rateLimit.retryAfter === null ? null : error.rateLimit.retryAfter * 1000;
        // A 429 wrote nothing (docs/API.md, "Rate limits"): any call may be retried.
        retryable = response.status === 429 || (spec.idempotent && RETRYABLE_IDEMPOTENT.has(response.status));
        mightHaveLanded = response.status !== 429;
      } else {
        failure = outcome.error;
        const notSent = outcome.error instanceof NetworkError && outcome.error.notSent;
        retryable = spec.idempotent || notSent;
        mightHaveLanded = !notSent;
      }
      if (failure instanceof ApiError) failure.earlierAttemptMayHaveLanded = maybeLanded;
      else failure.attempts = attempt + 1;
      if (!retryable || attempt >= maxRetries) throw failure;
      const backoff = clock.random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** attempt);
      const wait = retryAfterMs === null ? backoff : Math.max(retryAfterMs, backoff);
      if (clock.monotonic() + wait >= deadline) throw failure; // waiting would overrun the deadline
      maybeLanded ||= mightHaveLanded;
      await clock.sleep(wait, options.signal);
    }
  }

  private async headers(spec: CallSpec, target: { path: string; query: string }, body: string | undefined, options: RequestOptions): Promise<Record<string, string>> {
    const h: Record<string, string> = {
      Accept: spec.responseType === "text" ? "text/csv, application/json" : "application/json",
      "User-Agent": this.config.userAgent,
      ...this.config.headers,
      ...options.headers,
    };
    if (spec.auth !== false && this.config.apiKey) h["X-API-Key"] = this.config.apiKey;
    if (body !== undefined) h["Content-Type"] = "application/json";
    if (spec.idempotencyKey !== undefined) h["Idempotency-Key"] = spec.idempotencyKey;
    if (options.requestId !== undefined) h["X-Request-ID"] = options.requestId;
    if (this.config.signer && spec.auth !== false) {
      // A fresh timestamp on every attempt: a retry is signed again.
      const pairs = (spec.query ?? []) as ReadonlyArray<readonly [string, string]>;
      const ts = Math.floor(this.config.clock.now() / 1000);
      Object.assign(h, await this.config.signer.sign(spec.method, target.path, pairs, body ?? "", ts));
    }
    return h;
  }

  private async attempt(
    spec: CallSpec,
    target: { url: string; path: string; query: string },
    body: string | undefined,
    timeoutMs: number,
    options: RequestOptions,
  ): Promise<Attempt> {
    const headers = await this.headers(spec, target, body, options);
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = () => controller.abort(options.signal?.reason);
    if (options.signal?.aborted) {
      clearTimeout(timer);
      throw options.signal.reason;
    }
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const init: RequestInit = { method: spec.method, headers, signal: controller.signal };
      if (body !== undefined) init.body = body;
      const response = await this.config.fetch(target.url, init);
      const text = response.status === 204 ? "" : await response.text();
      let parsed: unknown = undefined;
      if (text !== "" && (spec.responseType !== "text" || !response.ok)) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined; // a proxy's HTML error page: decided on the status alone
        }
      } else if (spec.responseType === "text") {
        parsed = text;
      }
      return { kind: "response", response, body: parsed, text };
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      if (timedOut) {
        return {
          kind: "error",
          error: new TimeoutError(`${spec.method} ${target.path} timed out after ${timeoutMs} ms`, { cause: error }),
        };
      }
      const code = causeCode(error);
      const notSent = code !== undefined && NOT_SENT_CODES.has(code);
      const reason = code ? ` (${code})` : error instanceof Error ? ` (${error.message})` : "";
      return {
        kind: "error",
        error: new NetworkError(`${spec.method} ${target.path} failed: no answer${reason}`, { cause: error, notSent }),
      };
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  private noticeDeprecation(deprecation: Deprecation | null): void {
    const hook = this.config.onDeprecation;
    if (deprecation === null || hook === null || this.deprecationsSeen.has(deprecation.route)) return;
    this.deprecationsSeen.add(deprecation.route);
    try {
      hook(deprecation);
    } catch {
      // A notice must never fail the call that carried it.
    }
  }

  private meta(response: Response, attempts: number, route: string): ResponseMeta {
    return {
      status: response.status,
      headers: response.headers,
      requestId: response.headers.get("x-request-id"),
      rateLimit: rateLimitState(response.headers, this.config.clock.now()),
      attempts,
      idempotentReplayed: response.headers.get("idempotent-replayed") === "true",
      deprecation: parseDeprecation(response.headers, route),
    };
  }

  private apiError(response: Response, body: unknown, text: string, meta: ResponseMeta, attempts: number): ApiError {
    const envelope = body as { error?: { code?: unknown; message?: unknown; details?: unknown }; request_id?: unknown } | undefined;
    const err = envelope && typeof envelope === "object" ? envelope.error : undefined;
    const fallbackCode =
      response.status === 429 ? "rate_limited" : response.status === 503 ? "service_unavailable" : `http_${response.status}`;
    const code = typeof err?.code === "string" ? err.code : fallbackCode;
    const message =
      typeof err?.message === "string"
        ? err.message
        : `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ""}`;
    const details = Array.isArray(err?.details) ? (err.details as ErrorDetail[]) : [];
    const requestId = typeof envelope?.request_id === "string" ? envelope.request_id : meta.requestId;
    const Class = errorClassFor(response.status, code);
    return new Class({
      status: response.status,
      code,
      message,
      details,
      requestId,
      rateLimit: meta.rateLimit,
      headers: response.headers,
      attempts,
      deprecation: meta.deprecation,
    });
  }
}

/** The metadata of an error answer, for a call that converged (a retried delete's 404). */
export function metaOfError(error: ApiError): ResponseMeta {
  return {
    status: error.status,
    headers: error.headers,
    requestId: error.requestId,
    rateLimit: error.rateLimit,
    attempts: error.attempts,
    idempotentReplayed: false,
    deprecation: error.deprecation,
  };
}

/** Attach the response metadata to a result object as a non-enumerable `lastResponse`. */
export function withMeta<T extends object>(value: T, meta: ResponseMeta): T & WithResponse {
  Object.defineProperty(value, "lastResponse", { value: meta, enumerable: false, configurable: true });
  return value as T & WithResponse;
}

/** Every result object carries its response's metadata (not enumerable: JSON.stringify skips it). */
export interface WithResponse {
  readonly lastResponse: ResponseMeta;
}

export function timeParam(value: string | Date): string {
  return value instanceof Date ? value.toISOString() : value;
}
