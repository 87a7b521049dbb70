import { timeParam, withMeta, type Query, type RequestOptions, type Transport, type WithResponse } from "../http.js";
import type {
  AnalyticsExport,
  AnalyticsRange,
  AnalyticsSummary,
  AnalyticsTimeseries,
  ExportParams,
  TimeseriesParams,
} from "../types.js";

function query(params: AnalyticsRange & { granularity?: string; source?: string; event_type?: string; format?: string }): Query {
  const q: Query = [];
  if (params.from !== undefined) q.push(["from", timeParam(params.from)]);
  if (params.to !== undefined) q.push(["to", timeParam(params.to)]);
  if (params.granularity !== undefined) q.push(["granularity", params.granularity]);
  if (params.source !== undefined) q.push(["source", params.source]);
  if (params.event_type !== undefined) q.push(["event_type", params.event_type]);
  if (params.format !== undefined) q.push(["format", params.format]);
  return q;
}

/** A CSV export: the text (RFC 4180, header row, CRLF) and the file name the API suggests. */
export interface AnalyticsCsv {
  csv: string;
  filename: string | null;
}

export class Analytics {
  constructor(private readonly transport: Transport) {}

  /** Counts over [from, to) (default: the last 24 h). */
  async summary(params: AnalyticsRange = {}, options: RequestOptions = {}): Promise<AnalyticsSummary & WithResponse> {
    const { body, meta } = await this.transport.call(
      { method: "GET", path: ["v1", "analytics", "summary"], query: query(params), idempotent: true },
      options,
    );
    return withMeta(body as AnalyticsSummary, meta);
  }

  /** Every bucket of [from, to), zeros included. */
  async timeseries(params: TimeseriesParams = {}, options: RequestOptions = {}): Promise<AnalyticsTimeseries & WithResponse> {
    const { body, meta } = await this.transport.call(
      { method: "GET", path: ["v1", "analytics", "timeseries"], query: query(params), idempotent: true },
      options,
    );
    return withMeta(body as AnalyticsTimeseries, meta);
  }

  /** The counters as CSV text. */
  async exportCsv(params: ExportParams = {}, options: RequestOptions = {}): Promise<AnalyticsCsv & WithResponse> {
    const { body, meta } = await this.transport.call(
      {
        method: "GET",
        path: ["v1", "analytics", "export"],
        query: query({ ...params, format: "csv" }),
        idempotent: true,
        responseType: "text",
      },
      options,
    );
    const disposition = meta.headers.get("content-disposition") ?? "";
    const match = /filename="([^"]+)"/.exec(disposition);
    return withMeta({ csv: body as string, filename: match?.[1] ?? null }, meta);
  }

  /** The counters as JSON rows. */
  async exportJson(params: ExportParams = {}, options: RequestOptions = {}): Promise<AnalyticsExport & WithResponse> {
    const { body, meta } = await this.transport.call(
      { method: "GET", path: ["v1", "analytics", "export"], query: query({ ...params, format: "json" }), idempotent: true },
      options,
    );
    return withMeta(body as AnalyticsExport, meta);
  }
}
