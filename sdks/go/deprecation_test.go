package triggers

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseDeprecationHeaders(t *testing.T) {
	h := http.Header{}
	if parseDeprecation(h) != nil {
		t.Fatal("no Deprecation header must give nil")
	}
	h.Set("Deprecation", "@1803859200")
	h.Set("Sunset", "Wed, 01 Sep 2027 00:00:00 GMT")
	h.Add("Link", `<https://api.example.com/v2>; rel="successor-version"`)
	h.Add("Link", `<https://docs.example.com/changelog#2027-03-01>; rel="deprecation"; type="text/html"`)
	d := parseDeprecation(h)
	if d == nil || !d.Since.Equal(time.Unix(1803859200, 0)) || d.Raw != "@1803859200" ||
		!d.Sunset.Equal(time.Date(2027, 9, 1, 0, 0, 0, 0, time.UTC)) || d.Link != "https://docs.example.com/changelog#2027-03-01" {
		t.Fatalf("%+v", d)
	}
	// One Link header with several entries, an unquoted rel list; no Sunset; an unreadable date.
	h = http.Header{}
	h.Set("Deprecation", "soon")
	h.Set("Link", `<https://a.example/x>; rel=next, <https://b.example/y>; rel="alternate deprecation"`)
	d = parseDeprecation(h)
	if d == nil || !d.Since.IsZero() || !d.Sunset.IsZero() || d.Link != "https://b.example/y" || d.Raw != "soon" {
		t.Fatalf("%+v", d)
	}
}

func TestRouteTemplate(t *testing.T) {
	for path, want := range map[string]string{
		"/v1/events/evt_1":              "/v1/events/{event_id}",
		"/v1/events/evt_1/ack":          "/v1/events/{event_id}/ack",
		"/v1/events/bulk/ack":           "/v1/events/bulk/ack",
		"/v1/events":                    "/v1/events",
		"/v1/webhooks/wh_1/deliveries":  "/v1/webhooks/{webhook_id}/deliveries",
		"/v1/api-keys/key_1/rotate":     "/v1/api-keys/{key_id}/rotate",
		"/v1/analytics/summary":         "/v1/analytics/summary",
		"/v1/inbox":                     "/v1/inbox",
		"/v1/webhooks/wh_2":             "/v1/webhooks/{webhook_id}",
		"/v1/api-keys/key_%2F1":         "/v1/api-keys/{key_id}",
		"/v1/events/evt_2/ack/whatever": "/v1/events/{event_id}/ack/whatever",
	} {
		if got := routeTemplate(path); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
}

func TestDeprecationIsLoggedOncePerRouteAndExposed(t *testing.T) {
	dep := []string{"Deprecation", "@1803859200", "Sunset", "Wed, 01 Sep 2027 00:00:00 GMT",
		"Link", `<https://docs.example.com/v2>; rel="deprecation"; type="text/html"`}
	f := newFakeServer(t,
		reply(200, sampleEvent, dep...),
		reply(200, sampleEvent, dep...),
		reply(404, apiError("not_found", 404), dep...),
		reply(200, sampleEvent, dep...),
		reply(200, sampleEvent),
		reply(200, sampleEvent, dep...),
	)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	c := testClient(t, f, &fakeClock{now: time.Unix(1_800_000_000, 0)}, 0, WithLogger(logger))
	var meta ResponseMeta
	if _, err := c.Events.Get(CaptureResponse(context.Background(), &meta), "evt_1"); err != nil {
		t.Fatal(err)
	}
	if meta.Deprecation == nil || meta.Deprecation.Link != "https://docs.example.com/v2" ||
		!meta.Deprecation.Sunset.Equal(time.Date(2027, 9, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("meta %+v", meta.Deprecation)
	}
	if _, err := c.Events.Get(context.Background(), "evt_2"); err != nil {
		t.Fatal(err)
	}
	_, err := c.Events.Get(context.Background(), "evt_3")
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Deprecation == nil || !apiErr.Deprecation.Since.Equal(time.Unix(1803859200, 0)) {
		t.Fatalf("err %v", err)
	}
	if _, err := c.Events.Ack(context.Background(), "evt_1"); err != nil {
		t.Fatal(err)
	}
	meta = ResponseMeta{}
	if _, err := c.Events.Get(CaptureResponse(context.Background(), &meta), "evt_1"); err != nil || meta.Deprecation != nil {
		t.Fatalf("an answer without the header: %+v %v", meta.Deprecation, err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `route="GET /v1/events/{event_id}"`) ||
		!strings.Contains(lines[0], "sunset=2027-09-01T00:00:00Z") || !strings.Contains(lines[0], "link=https://docs.example.com/v2") ||
		!strings.Contains(lines[1], `route="POST /v1/events/{event_id}/ack"`) || !strings.Contains(lines[0], "level=WARN") {
		t.Fatalf("logs:\n%s", logs.String())
	}
	// Once per client: another client warns again.
	var other bytes.Buffer
	c2 := testClient(t, f, &fakeClock{now: time.Unix(1_800_000_000, 0)}, 0, WithLogger(slog.New(slog.NewTextHandler(&other, nil))))
	if _, err := c2.Events.Get(context.Background(), "evt_9"); err != nil {
		t.Fatal(err)
	}
	if strings.Count(other.String(), "deprecated") != 1 {
		t.Fatalf("second client logs:\n%s", other.String())
	}
}

func TestWithLoggerNilSilences(t *testing.T) {
	f := newFakeServer(t, reply(200, sampleEvent, "Deprecation", "@1803859200"))
	c := testClient(t, f, &fakeClock{now: time.Unix(1_800_000_000, 0)}, 0, WithLogger(nil))
	var meta ResponseMeta
	if _, err := c.Events.Get(CaptureResponse(context.Background(), &meta), "evt_1"); err != nil || meta.Deprecation == nil {
		t.Fatalf("%v %+v", err, meta.Deprecation)
	}
}
