package triggers

import (
	"context"
	"net/http"
	"time"
)

// AnalyticsParams select a range (zero values take the API's defaults) and, for Timeseries and
// Export, the bucket size ("minute", "hour" or "day") and, for Timeseries, a source and/or event
// type.
type AnalyticsParams struct {
	From        time.Time
	To          time.Time
	Granularity string
	Source      string
	EventType   string
}

func (p AnalyticsParams) query(format string) []QueryPair {
	var q []QueryPair
	if !p.From.IsZero() {
		q = append(q, QueryPair{"from", formatTime(p.From)})
	}
	if !p.To.IsZero() {
		q = append(q, QueryPair{"to", formatTime(p.To)})
	}
	if p.Granularity != "" {
		q = append(q, QueryPair{"granularity", p.Granularity})
	}
	if p.Source != "" {
		q = append(q, QueryPair{"source", p.Source})
	}
	if p.EventType != "" {
		q = append(q, QueryPair{"event_type", p.EventType})
	}
	if format != "" {
		q = append(q, QueryPair{"format", format})
	}
	return q
}

// AnalyticsService is /v1/analytics.
type AnalyticsService struct{ c *Client }

// Summary is GET /v1/analytics/summary over [From, To) (Granularity, Source and EventType are
// not sent: the summary has no such parameters).
func (s *AnalyticsService) Summary(ctx context.Context, params AnalyticsParams) (*AnalyticsSummary, error) {
	q := AnalyticsParams{From: params.From, To: params.To}.query("")
	return call[AnalyticsSummary](ctx, s.c, request{method: http.MethodGet, path: "/v1/analytics/summary", query: q, class: idempotent})
}

// Timeseries is GET /v1/analytics/timeseries: every bucket of the range, zeros included.
func (s *AnalyticsService) Timeseries(ctx context.Context, params AnalyticsParams) (*AnalyticsTimeseries, error) {
	return call[AnalyticsTimeseries](ctx, s.c, request{method: http.MethodGet, path: "/v1/analytics/timeseries", query: params.query(""), class: idempotent})
}

func (p AnalyticsParams) exportQuery(format string) []QueryPair {
	return AnalyticsParams{From: p.From, To: p.To, Granularity: p.Granularity}.query(format)
}

// ExportJSON is GET /v1/analytics/export?format=json: one row per bucket, source and event type.
func (s *AnalyticsService) ExportJSON(ctx context.Context, params AnalyticsParams) (*AnalyticsExport, error) {
	return call[AnalyticsExport](ctx, s.c, request{method: http.MethodGet, path: "/v1/analytics/export", query: params.exportQuery("json"), class: idempotent})
}

// ExportCSV is GET /v1/analytics/export?format=csv: the same rows as RFC 4180 CSV (header row,
// CRLF), as the raw bytes of the answer.
func (s *AnalyticsService) ExportCSV(ctx context.Context, params AnalyticsParams) ([]byte, error) {
	resp, err := s.c.do(ctx, request{method: http.MethodGet, path: "/v1/analytics/export", query: params.exportQuery("csv"), class: idempotent, header: map[string]string{"Accept": "text/csv"}})
	if err != nil {
		return nil, err
	}
	return resp.body, nil
}
