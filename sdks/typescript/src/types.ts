// The contract's types (generated from sdks/openapi.json into ./generated/openapi.ts) and the
// SDK's own request-parameter types on top of them.
import type * as api from "./generated/openapi.js";

export type {
  AnalyticsBucket,
  AnalyticsCounts,
  AnalyticsExport,
  AnalyticsExportRow,
  AnalyticsSummary,
  AnalyticsTimeseries,
  ApiKeyCreate,
  ApiKeyIssued,
  ApiKeyList,
  ApiKeyOut,
  ApiKeyUpdate,
  BulkAcked,
  BulkCreated,
  BulkDeleted,
  BulkItemError,
  DeliveryAttemptOut,
  DeliveryList,
  DeliveryOut,
  ErrorDetail,
  ErrorEnvelope,
  Event,
  EventCreate,
  Health,
  InboxPage,
  Metadata,
  ReplayAccepted,
  WebhookCreate,
  WebhookIssued,
  WebhookList,
  WebhookOut,
  WebhookReplay,
  WebhookSecretRotated,
  WebhookUpdate,
} from "./generated/openapi.js";

/** Every error code the API documents (docs/ERRORS.md); other strings for SDK-side codes. */
export type ErrorCode = api.ErrorBody["code"];
export type Priority = "low" | "normal" | "high";
export type Granularity = "minute" | "hour" | "day";
/** A time for a query parameter: an RFC 3339 string or a Date (sent as toISOString()). */
export type TimeParam = string | Date;

/** GET /v1/inbox filters (docs/API.md, "Inbox" and "Inbox filters"), all ANDed. */
export interface InboxFilters {
  source?: string;
  event_type?: string;
  /** Exclusive. */
  created_after?: TimeParam;
  /** Exclusive. */
  created_before?: TimeParam;
  priority?: Priority;
  /** metadata.<key>=<value>, exact matches (at most 20). */
  metadata?: Record<string, string>;
}

export interface InboxListParams extends InboxFilters {
  /** 1-100 (default 50). */
  limit?: number;
  cursor?: string;
}

export interface CursorParams {
  limit?: number;
  cursor?: string;
}

export interface DeliveryListParams extends CursorParams {
  status?: "pending" | "succeeded" | "failed";
}

export interface AnalyticsRange {
  from?: TimeParam;
  to?: TimeParam;
}

export interface TimeseriesParams extends AnalyticsRange {
  granularity?: Granularity;
  source?: string;
  event_type?: string;
}

export interface ExportParams extends AnalyticsRange {
  granularity?: Granularity;
}
