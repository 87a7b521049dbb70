export { TriggersClient, type ClientOptions } from "./client.js";
export { parseDeprecation, type Deprecation } from "./deprecation.js";
export {
  ApiError,
  AuthenticationError,
  ConflictError,
  InvalidRequestError,
  NetworkError,
  NotFoundError,
  PermissionError,
  RateLimitError,
  ServerError,
  TimeoutError,
  TriggersError,
  type RateLimitState,
} from "./errors.js";
export {
  parseRetryAfter,
  type Clock,
  type FetchLike,
  type RequestOptions,
  type ResponseMeta,
  type RetryPolicy,
  type WithResponse,
} from "./http.js";
export type { Page } from "./pagination.js";
export type { AnalyticsCsv } from "./resources/analytics.js";
export type { ApiKeyRotated } from "./resources/admin.js";
export { BULK_BATCH_SIZE, type BulkFailure, type BulkResult, type CreateEventOptions } from "./resources/events.js";
export type { ProcessOptions, ProcessResult } from "./resources/inbox.js";
export {
  RequestSigner,
  canonicalQuery,
  canonicalTarget,
  encodeRfc3986,
  verifyRequestSignature,
  type SignatureVerdict,
  type SignedHeaders,
} from "./signing.js";
export * from "./types.js";
export { VERSION } from "./version.js";
export {
  WEBHOOK_TOLERANCE_SECONDS,
  Webhook,
  WebhookVerificationError,
  isEventDelivery,
  isWebhookTest,
  type HeaderSource,
  type VerifiedWebhook,
  type WebhookOptions,
  type WebhookPayload,
  type WebhookTestData,
} from "./webhook.js";
