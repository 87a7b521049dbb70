import type { Deprecation } from "./deprecation.js";
import type { ErrorCode, ErrorDetail } from "./types.js";

/** The rate-limit headers of a response (docs/API.md, "Rate limits"); null when absent. */
export interface RateLimitState {
  /** X-RateLimit-Limit: the key's requests per minute (also its burst). */
  limit: number | null;
  /** X-RateLimit-Remaining: requests that would be admitted right now. */
  remaining: number | null;
  /** X-RateLimit-Reset: Unix seconds at which the bucket is full again. */
  reset: number | null;
  /** Retry-After in seconds (429 and 503 answers). */
  retryAfter: number | null;
}

/** Base class of every error the SDK throws (except WebhookVerificationError and TypeErrors). */
export class TriggersError extends Error {
  override name = "TriggersError";
}

/** The API answered with an error status: its envelope's code, message and details. */
export class ApiError extends TriggersError {
  override name = "ApiError";
  /** Stable, machine-readable (docs/ERRORS.md): branch on it. */
  readonly code: ErrorCode | (string & {});
  readonly details: ErrorDetail[];
  /** The body's request_id, else the X-Request-ID header. */
  readonly requestId: string | null;
  readonly status: number;
  readonly rateLimit: RateLimitState;
  readonly headers: Headers;
  /** Attempts made (1 + retries). */
  readonly attempts: number;
  /** The route's deprecation notice (Deprecation, Sunset, Link headers), or null. */
  readonly deprecation: Deprecation | null;
  /**
   * True when an earlier attempt of this call may have reached the server (its answer was
   * lost): a retried ack then answers already_acknowledged, a retried delete not_found.
   */
  earlierAttemptMayHaveLanded = false;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    details?: ErrorDetail[];
    requestId: string | null;
    rateLimit: RateLimitState;
    headers: Headers;
    attempts?: number;
    deprecation?: Deprecation | null;
  }) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.details = init.details ?? [];
    this.requestId = init.requestId;
    this.rateLimit = init.rateLimit;
    this.headers = init.headers;
    this.attempts = init.attempts ?? 1;
    this.deprecation = init.deprecation ?? null;
  }

  /** Seconds the API asked to wait (Retry-After), or null. */
  get retryAfter(): number | null {
    return this.rateLimit.retryAfter;
  }
}

/** 401 unauthorized, signature_invalid, signature_expired. */
export class AuthenticationError extends ApiError {
  override name = "AuthenticationError";
}
/** 403 forbidden, ip_not_allowed. */
export class PermissionError extends ApiError {
  override name = "PermissionError";
}
/** 404 not_found. */
export class NotFoundError extends ApiError {
  override name = "NotFoundError";
}
/** 409 already_acknowledged, idempotency_conflict, conflict. */
export class ConflictError extends ApiError {
  override name = "ConflictError";
}
/** 400, 413, 415: the request itself is wrong (validation_error, invalid_json, ...). */
export class InvalidRequestError extends ApiError {
  override name = "InvalidRequestError";
}
/** 429 rate_limited: `rateLimit` and `retryAfter` say when to come back. */
export class RateLimitError extends ApiError {
  override name = "RateLimitError";
}
/** 5xx: service_unavailable, internal_error, a gateway's 502/504. */
export class ServerError extends ApiError {
  override name = "ServerError";
}

/** No HTTP answer: connection refused/reset, DNS failure, TLS error. */
export class NetworkError extends TriggersError {
  override name = "NetworkError";
  /** True when the failure proves the request never reached the server (connection refused, DNS). */
  readonly notSent: boolean;
  /** Attempts made (1 + retries). */
  attempts: number;
  constructor(message: string, options: { cause?: unknown; notSent?: boolean; attempts?: number } = {}) {
    super(message, { cause: options.cause });
    this.notSent = options.notSent ?? false;
    this.attempts = options.attempts ?? 1;
  }
}

/** An attempt ran past its timeout, or the call ran past its total deadline. */
export class TimeoutError extends TriggersError {
  override name = "TimeoutError";
  /** Attempts made (1 + retries). */
  attempts: number;
  constructor(message: string, options: { cause?: unknown; attempts?: number } = {}) {
    super(message, { cause: options.cause });
    this.attempts = options.attempts ?? 1;
  }
}

export function errorClassFor(status: number, code: string): typeof ApiError {
  if (status === 429 || code === "rate_limited") return RateLimitError;
  if (status === 401) return AuthenticationError;
  if (status === 403) return PermissionError;
  if (status === 404) return NotFoundError;
  if (status === 409) return ConflictError;
  if (status >= 500) return ServerError;
  if (status >= 400) return InvalidRequestError;
  return ApiError;
}
