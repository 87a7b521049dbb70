package triggers

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func TestChangesSendOnlyWhatChanges(t *testing.T) {
	name := "n"
	limit := 5
	cases := []struct {
		v    any
		want string
	}{
		{APIKeyChanges{}, `{}`},
		{APIKeyChanges{Name: &name, RateLimit: &limit}, `{"name":"n","rate_limit":5}`},
		{APIKeyChanges{DefaultRateLimit: true, AllowedIPs: &[]string{}}, `{"allowed_ips":[],"rate_limit":null}`},
		{APIKeyChanges{AllowedIPs: new([]string)}, `{"allowed_ips":[]}`},
		{WebhookChanges{}, `{}`},
		{WebhookChanges{NoRateLimit: true, Sources: &[]string{"a"}, Status: ptrTo(WebhookUpdateStatusActive)}, `{"rate_limit_per_second":null,"sources":["a"],"status":"active"}`},
		{WebhookChanges{URL: &name, EventTypes: new([]string), RateLimitPerSecond: &limit, Description: &name}, `{"description":"n","event_types":[],"rate_limit_per_second":5,"url":"n"}`},
	}
	for _, tc := range cases {
		got, err := json.Marshal(tc.v)
		if err != nil || string(got) != tc.want {
			t.Fatalf("%+v: %s, want %s (%v)", tc.v, got, tc.want, err)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestAnalyticsAndHealthRequests(t *testing.T) {
	f := newFakeServer(t,
		reply(200, map[string]any{"status": "ok", "version": "0.1.0", "checks": map[string]any{"dynamodb": "ok"}}),
		reply(200, map[string]any{"from": "2026-11-30T10:00:00.000Z", "to": "2026-11-30T11:00:00.000Z", "totals": map[string]any{}, "by_source": []any{}, "by_event_type": []any{}}),
		reply(200, map[string]any{"granularity": "minute", "from": "2026-11-30T10:00:00.000Z", "to": "2026-11-30T11:00:00.000Z", "buckets": []any{}}),
		reply(200, map[string]any{"granularity": "hour", "from": "2026-11-30T10:00:00.000Z", "to": "2026-11-30T11:00:00.000Z", "rows": []any{}}),
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/csv")
			_, _ = w.Write([]byte("start,source\r\n"))
		},
	)
	c := testClient(t, f, &fakeClock{now: time.Unix(1_800_000_000, 0)}, 0)
	ctx := context.Background()
	from := time.Date(2026, 11, 30, 10, 0, 0, 0, time.FixedZone("x", 3600))
	p := AnalyticsParams{From: from, To: from.Add(time.Hour), Granularity: "minute", Source: "s", EventType: "e"}
	if h, err := c.Health(ctx); err != nil || h.Status != "ok" {
		t.Fatal(h, err)
	}
	if _, err := c.Analytics.Summary(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Analytics.Timeseries(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Analytics.ExportJSON(ctx, p); err != nil {
		t.Fatal(err)
	}
	csv, err := c.Analytics.ExportCSV(ctx, p)
	if err != nil || string(csv) != "start,source\r\n" {
		t.Fatalf("%q %v", csv, err)
	}
	want := []string{
		"/v1/health",
		"/v1/analytics/summary?from=2026-11-30T09%3A00%3A00.000Z&to=2026-11-30T10%3A00%3A00.000Z",
		"/v1/analytics/timeseries?event_type=e&from=2026-11-30T09%3A00%3A00.000Z&granularity=minute&source=s&to=2026-11-30T10%3A00%3A00.000Z",
		"/v1/analytics/export?format=json&from=2026-11-30T09%3A00%3A00.000Z&granularity=minute&to=2026-11-30T10%3A00%3A00.000Z",
		"/v1/analytics/export?format=csv&from=2026-11-30T09%3A00%3A00.000Z&granularity=minute&to=2026-11-30T10%3A00%3A00.000Z",
	}
	for i, r := range f.requests() {
		if got := r.URL.RequestURI(); got != want[i] {
			t.Fatalf("request %d: %s, want %s", i, got, want[i])
		}
	}
}
