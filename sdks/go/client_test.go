package triggers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeServer answers each request with the next scripted reply and records the requests.
type fakeServer struct {
	t       *testing.T
	mu      sync.Mutex
	replies []func(w http.ResponseWriter, r *http.Request)
	seen    []*http.Request
	bodies  [][]byte
	srv     *httptest.Server
}

func newFakeServer(t *testing.T, replies ...func(w http.ResponseWriter, r *http.Request)) *fakeServer {
	f := &fakeServer{t: t, replies: replies}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		n := len(f.seen)
		f.seen = append(f.seen, r)
		f.bodies = append(f.bodies, body)
		f.mu.Unlock()
		if n >= len(f.replies) {
			t.Errorf("unexpected request %d: %s %s", n+1, r.Method, r.URL)
			w.WriteHeader(500)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.replies[n](w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// count, requests and bodyAt read what the server recorded under its lock: the handler runs on
// the server's goroutines, and the race detector sees no ordering through the socket.
func (f *fakeServer) count() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.seen) }

func (f *fakeServer) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.seen...)
}

func (f *fakeServer) bodyAt() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.bodies...)
}

func reply(status int, body any, headers ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		if body == nil {
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}
}

func apiError(code string, status int) map[string]any {
	return map[string]any{"error": map[string]any{"code": code, "message": code + " happened", "details": []any{}}, "request_id": "req_" + code}
}

var sampleEvent = map[string]any{
	"event_id": "evt_1", "source": "s", "event_type": "t", "payload": map[string]any{"a": 1},
	"metadata": map[string]any{"priority": "normal"}, "status": "pending",
	"created_at": "2026-11-30T10:00:00.000Z", "acknowledged_at": nil, "idempotency_key": nil,
}

// fakeClock records the waits instead of sleeping; the jitter is a fixed fraction.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func testClient(t *testing.T, f *fakeServer, clock *fakeClock, jitter float64, opts ...Option) *Client {
	t.Helper()
	all := append([]Option{
		WithBaseURL(f.srv.URL),
		WithClock(clock.Now, clock.Sleep, func() float64 { return jitter }),
	}, opts...)
	c, err := NewClient("tk_local_test", all...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRetryScheduleIsFullJitterExponential(t *testing.T) {
	f := newFakeServer(t,
		reply(503, apiError("service_unavailable", 503)),
		reply(503, apiError("service_unavailable", 503)),
		reply(502, nil),
		reply(504, nil),
		reply(200, sampleEvent),
	)
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	c := testClient(t, f, clock, 0.5, WithRetryPolicy(RetryPolicy{MaxAttempts: 5, BaseDelay: time.Second, MaxDelay: 3 * time.Second, Deadline: time.Minute}))
	var meta ResponseMeta
	ev, err := c.Events.Get(CaptureResponse(context.Background(), &meta), "evt_1")
	if err != nil {
		t.Fatal(err)
	}
	if ev.EventId != "evt_1" || meta.Attempts != 5 {
		t.Fatalf("event %v attempts %d", ev.EventId, meta.Attempts)
	}
	// 0.5 * min(3 s, 1 s * 2^n) for n = 0..3
	want := []time.Duration{500 * time.Millisecond, time.Second, 1500 * time.Millisecond, 1500 * time.Millisecond}
	if fmt.Sprint(clock.sleeps) != fmt.Sprint(want) {
		t.Fatalf("waits %v, want %v", clock.sleeps, want)
	}
}

func TestRetryJitterBounds(t *testing.T) {
	c, _ := NewClient("k", WithRetryPolicy(RetryPolicy{MaxAttempts: 9, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, Deadline: time.Hour}))
	for attempt := 0; attempt < 8; attempt++ {
		bound := min(time.Second, 100*time.Millisecond<<attempt)
		for i := 0; i < 200; i++ {
			if d := c.backoff(attempt); d < 0 || d >= bound {
				t.Fatalf("attempt %d: %v outside [0, %v)", attempt, d, bound)
			}
		}
	}
}

func TestRetryAfterIsTheMinimumWait(t *testing.T) {
	f := newFakeServer(t,
		reply(429, apiError("rate_limited", 429), "Retry-After", "7", "X-RateLimit-Limit", "60", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "1800000007"),
		reply(200, sampleEvent, "X-RateLimit-Limit", "60", "X-RateLimit-Remaining", "59", "X-Request-ID", "req_ok"),
	)
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	c := testClient(t, f, clock, 0.5)
	var meta ResponseMeta
	if _, err := c.Events.Get(CaptureResponse(context.Background(), &meta), "evt_1"); err != nil {
		t.Fatal(err)
	}
	if len(clock.sleeps) != 1 || clock.sleeps[0] != 7*time.Second {
		t.Fatalf("waits %v, want [7s]", clock.sleeps)
	}
	if !meta.RateLimit.Known || meta.RateLimit.Limit != 60 || meta.RateLimit.Remaining != 59 || meta.RequestID != "req_ok" || meta.Attempts != 2 {
		t.Fatalf("meta %+v", meta)
	}
}

func TestRetryAfterBeyondTheDeadlineFailsAtOnce(t *testing.T) {
	f := newFakeServer(t, reply(429, apiError("rate_limited", 429), "Retry-After", "30", "X-RateLimit-Limit", "1", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "1800000030"))
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	c := testClient(t, f, clock, 0.5, WithRetryPolicy(RetryPolicy{MaxAttempts: 4, BaseDelay: time.Second, MaxDelay: 10 * time.Second, Deadline: 10 * time.Second}))
	_, err := c.Events.Get(context.Background(), "evt_1")
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Code != CodeRateLimited || apiErr.StatusCode != 429 {
		t.Fatalf("err %v", err)
	}
	if len(clock.sleeps) != 0 || f.count() != 1 {
		t.Fatalf("waited %v over %d requests", clock.sleeps, f.count())
	}
	rl := apiErr.RateLimit
	if !rl.Known || rl.Limit != 1 || rl.Remaining != 0 || rl.RetryAfter != 30*time.Second || rl.Reset.Unix() != 1800000030 {
		t.Fatalf("rate limit %+v", rl)
	}
	if apiErr.RequestID != "req_rate_limited" || apiErr.Attempts != 1 {
		t.Fatalf("error %+v", apiErr)
	}
}

func TestMaxAttemptsBound(t *testing.T) {
	f := newFakeServer(t,
		reply(503, apiError("service_unavailable", 503), "Retry-After", "1"),
		reply(503, apiError("service_unavailable", 503), "Retry-After", "1"),
		reply(503, apiError("service_unavailable", 503), "Retry-After", "1"),
	)
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	c := testClient(t, f, clock, 0, WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BaseDelay: time.Second, MaxDelay: time.Second, Deadline: time.Hour}))
	_, err := c.Events.Get(context.Background(), "evt_1")
	if !IsCode(err, CodeServiceUnavailable) || f.count() != 3 {
		t.Fatalf("err %v after %d requests", err, f.count())
	}
	if fmt.Sprint(clock.sleeps) != "[1s 1s]" {
		t.Fatalf("waits %v", clock.sleeps)
	}
}

func TestCreateReusesOneIdempotencyKeyAcrossRetries(t *testing.T) {
	f := newFakeServer(t,
		reply(503, apiError("service_unavailable", 503), "Retry-After", "1"),
		func(w http.ResponseWriter, r *http.Request) {
			// A lost answer: the connection closes before the status line.
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
		},
		reply(200, sampleEvent, "Idempotent-Replayed", "true"),
	)
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	c := testClient(t, f, clock, 0)
	var meta ResponseMeta
	_, err := c.Events.Create(CaptureResponse(context.Background(), &meta), EventCreate{Source: "s", EventType: "t", Payload: map[string]any{"a": 1}})
	if err != nil {
		t.Fatal(err)
	}
	if f.count() != 3 || !meta.Replayed {
		t.Fatalf("%d requests, meta %+v", f.count(), meta)
	}
	key := f.requests()[0].Header.Get("Idempotency-Key")
	if len(key) != 36 {
		t.Fatalf("generated key %q", key)
	}
	for i, r := range f.requests() {
		if r.Header.Get("Idempotency-Key") != key {
			t.Fatalf("attempt %d sent key %q, want %q", i, r.Header.Get("Idempotency-Key"), key)
		}
		if string(f.bodyAt()[i]) != string(f.bodyAt()[0]) {
			t.Fatalf("attempt %d changed the body", i)
		}
		if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-API-Key") != "tk_local_test" {
			t.Fatalf("headers %v", r.Header)
		}
		if !strings.HasPrefix(r.Header.Get("User-Agent"), "triggers-go/0.1.0 (") {
			t.Fatalf("user agent %q", r.Header.Get("User-Agent"))
		}
	}
	// A second call gets a new key; a caller's key is used as given.
	f.replies = append(f.replies, reply(201, sampleEvent), reply(201, sampleEvent))
	if _, err := c.Events.Create(context.Background(), EventCreate{Source: "s", EventType: "t", Payload: map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	own := "order-1001"
	if _, err := c.Events.Create(context.Background(), EventCreate{Source: "s", EventType: "t", Payload: map[string]any{}, IdempotencyKey: &own}); err != nil {
		t.Fatal(err)
	}
	if f.requests()[3].Header.Get("Idempotency-Key") == key || f.requests()[4].Header.Get("Idempotency-Key") != own {
		t.Fatalf("keys %q %q", f.requests()[3].Header.Get("Idempotency-Key"), f.requests()[4].Header.Get("Idempotency-Key"))
	}
}

func TestNonIdempotentCallsAreNotRetriedBlindly(t *testing.T) {
	for _, status := range []int{500, 502, 503, 504} {
		f := newFakeServer(t, reply(status, apiError("service_unavailable", status), "Retry-After", "1"))
		clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
		c := testClient(t, f, clock, 0)
		_, err := c.Webhooks.Create(context.Background(), WebhookCreate{Url: "http://127.0.0.1:9/hooks"})
		var apiErr *Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != status || f.count() != 1 {
			t.Fatalf("status %d: err %v after %d requests", status, err, f.count())
		}
	}
	// A lost answer (the request reached the server) is not retried either.
	f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	})
	c := testClient(t, f, &fakeClock{now: time.Unix(1_800_000_000, 0)}, 0)
	_, err := c.APIKeys.Rotate(context.Background(), "key_1", ApiKeyRotate{})
	var netErr *NetworkError
	if !errors.As(err, &netErr) || f.count() != 1 {
		t.Fatalf("err %v after %d requests", err, f.count())
	}
	// But a 429 is retried for any call: the API wrote nothing.
	f = newFakeServer(t,
		reply(429, apiError("rate_limited", 429), "Retry-After", "2"),
		reply(202, map[string]any{"queued": 3, "since": "2026-11-30T10:00:00.000Z", "until": "2026-11-30T11:00:00.000Z"}),
	)
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	c = testClient(t, f, clock, 0)
	res, err := c.Webhooks.Replay(context.Background(), "wh_1", WebhookReplay{Since: time.Now().Add(-time.Hour)})
	if err != nil || res.Queued != 3 || f.count() != 2 || fmt.Sprint(clock.sleeps) != "[2s]" {
		t.Fatalf("res %+v err %v requests %d waits %v", res, err, f.count(), clock.sleeps)
	}
}

func TestConnectionRefusedIsRetriedEvenForUnsafeCalls(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	c, err := NewClient("k", WithBaseURL("http://"+addr), WithClock(clock.Now, clock.Sleep, func() float64 { return 1 }),
		WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BaseDelay: time.Second, MaxDelay: 10 * time.Second, Deadline: time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.APIKeys.Create(context.Background(), ApiKeyCreate{Name: "x"})
	var netErr *NetworkError
	if !errors.As(err, &netErr) || netErr.Attempts != 3 || netErr.Timeout() {
		t.Fatalf("err %#v", err)
	}
	if fmt.Sprint(clock.sleeps) != "[1s 2s]" {
		t.Fatalf("waits %v", clock.sleeps)
	}
}

func TestPerAttemptTimeoutIsANetworkErrorAndRetried(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	f := newFakeServer(t, slow, reply(200, sampleEvent))
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	c := testClient(t, f, clock, 0, WithTimeout(100*time.Millisecond))
	ev, err := c.Events.Get(context.Background(), "evt_1")
	if err != nil || ev.EventId != "evt_1" || f.count() != 2 {
		t.Fatalf("ev %v err %v requests %d", ev, err, f.count())
	}
	// Without retries the timeout surfaces as a NetworkError whose Timeout() is true.
	f = newFakeServer(t, slow)
	c = testClient(t, f, clock, 0, WithTimeout(100*time.Millisecond), WithRetryPolicy(RetryPolicy{MaxAttempts: 1, Deadline: time.Minute}))
	_, err = c.Events.Get(context.Background(), "evt_1")
	var netErr *NetworkError
	if !errors.As(err, &netErr) || !netErr.Timeout() || !netErr.TimedOut {
		t.Fatalf("err %#v", err)
	}
}

func TestCallerCancellationIsNotRetried(t *testing.T) {
	f := newFakeServer(t, reply(503, apiError("service_unavailable", 503), "Retry-After", "1"))
	ctx, cancel := context.WithCancel(context.Background())
	c := testClient(t, f, &fakeClock{now: time.Unix(1_800_000_000, 0)}, 0,
		WithClock(nil, func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }, nil))
	_, err := c.Events.Get(ctx, "evt_1")
	if !errors.Is(err, context.Canceled) || f.count() != 1 {
		t.Fatalf("err %v requests %d", err, f.count())
	}
}

func TestRetriedAckAndDeleteConverge(t *testing.T) {
	acked := map[string]any{}
	for k, v := range sampleEvent {
		acked[k] = v
	}
	acked["status"] = "acknowledged"
	acked["acknowledged_at"] = "2026-11-30T10:00:01.000Z"
	f := newFakeServer(t,
		reply(502, nil), // the ack landed, the gateway lost the answer
		reply(409, apiError("already_acknowledged", 409)),
		reply(200, acked),
		reply(504, nil), // the delete landed
		reply(404, apiError("not_found", 404)),
	)
	c := testClient(t, f, &fakeClock{now: time.Unix(1_800_000_000, 0)}, 0)
	ev, err := c.Events.Ack(context.Background(), "evt_1")
	if err != nil || ev.Status != "acknowledged" || f.requests()[2].Method != "GET" || f.requests()[2].URL.Path != "/v1/events/evt_1" {
		t.Fatalf("ack: %+v %v", ev, err)
	}
	if err := c.Events.Delete(context.Background(), "evt_1"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	// Without an uncertain earlier attempt, the errors are the caller's.
	f = newFakeServer(t, reply(409, apiError("already_acknowledged", 409)), reply(404, apiError("not_found", 404)),
		reply(429, apiError("rate_limited", 429), "Retry-After", "1"), reply(404, apiError("not_found", 404)))
	c = testClient(t, f, &fakeClock{now: time.Unix(1_800_000_000, 0)}, 0)
	if _, err := c.Events.Ack(context.Background(), "evt_1"); !IsCode(err, CodeAlreadyAcknowledged) {
		t.Fatalf("ack: %v", err)
	}
	if err := c.Events.Delete(context.Background(), "evt_1"); !IsCode(err, CodeNotFound) {
		t.Fatalf("delete: %v", err)
	}
	// A 429 proves nothing happened, so the 404 after it is real.
	if err := c.Events.Delete(context.Background(), "evt_1"); !IsCode(err, CodeNotFound) {
		t.Fatalf("delete after 429: %v", err)
	}
}

func TestSigningClientSignsEveryAttemptAfresh(t *testing.T) {
	secret := "tsig_3q9XbW2uTQJmHqJ8cZrQv0b1YwUeT9yD4kF7Lm2Np5s"
	f := newFakeServer(t, reply(503, apiError("service_unavailable", 503), "Retry-After", "3"), reply(200, map[string]any{"events": []any{}, "next_cursor": nil}))
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	c := testClient(t, f, clock, 0, WithSigningSecret(secret))
	params := InboxParams{Source: "a b", EventType: "invoice.*", Limit: 10, Metadata: map[string]string{"team name": "été"}}
	if _, err := c.Inbox.List(context.Background(), params); err != nil {
		t.Fatal(err)
	}
	for i, r := range f.requests() {
		ts := r.Header.Get(HeaderSignatureTimestamp)
		if want := strconv.FormatInt(1_800_000_000+3*int64(i), 10); ts != want {
			t.Fatalf("attempt %d timestamp %s, want %s", i, ts, want)
		}
		// The server's view: the decoded query, rebuilt canonically.
		var pairs []QueryPair
		for name, values := range r.URL.Query() {
			for _, v := range values {
				pairs = append(pairs, QueryPair{name, v})
			}
		}
		if strings.Contains(r.URL.RawQuery, "+") {
			t.Fatalf("space sent as +: %s", r.URL.RawQuery)
		}
		err := VerifyRequestSignature([]string{secret}, ts, r.Header.Get(HeaderSignature), r.Method, CanonicalTarget(r.URL.Path, pairs), f.bodyAt()[i], clock.Now(), 300*time.Second)
		if err != nil {
			t.Fatalf("attempt %d: %v (query %s)", i, err, r.URL.RawQuery)
		}
	}
}

func TestErrorEnvelopeAndFallbacks(t *testing.T) {
	f := newFakeServer(t,
		reply(400, map[string]any{"error": map[string]any{"code": "validation_error", "message": "The event is not valid.",
			"details": []any{map[string]any{"field": "source", "message": "is required"}}}, "request_id": "req_body"}, "X-Request-ID", "req_header"),
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Request-ID", "req_gw")
			w.WriteHeader(502)
			_, _ = w.Write([]byte("<html>bad gateway</html>"))
		},
	)
	c := testClient(t, f, &fakeClock{now: time.Unix(1_800_000_000, 0)}, 0, WithRetryPolicy(RetryPolicy{MaxAttempts: 1, Deadline: time.Minute}))
	_, err := c.Events.Create(context.Background(), EventCreate{})
	var apiErr *Error
	if !errors.As(err, &apiErr) {
		t.Fatal(err)
	}
	if apiErr.StatusCode != 400 || apiErr.Code != CodeValidationError || apiErr.Message != "The event is not valid." ||
		len(apiErr.Details) != 1 || apiErr.Details[0].Field != "source" || apiErr.RequestID != "req_body" || apiErr.RateLimit.Known {
		t.Fatalf("%+v", apiErr)
	}
	if !errors.Is(err, &Error{Code: CodeValidationError}) || errors.Is(err, &Error{Code: CodeNotFound}) {
		t.Fatal("errors.Is on the code")
	}
	if !strings.Contains(err.Error(), "validation_error") || !strings.Contains(err.Error(), "source: is required") {
		t.Fatal(err.Error())
	}
	_, err = c.Events.Get(context.Background(), "evt_1")
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 502 || apiErr.Code != "" || apiErr.RequestID != "req_gw" {
		t.Fatalf("%+v", err)
	}
}

func TestOptionsValidation(t *testing.T) {
	if _, err := NewClient(""); err == nil {
		t.Fatal("empty key accepted")
	}
	if _, err := NewClient("k", WithBaseURL("ftp://x")); err == nil {
		t.Fatal("ftp base URL accepted")
	}
	if _, err := NewClient("k", WithRetryPolicy(RetryPolicy{})); err == nil {
		t.Fatal("zero attempts accepted")
	}
	c, err := NewClient("k", WithBaseURL("http://h:1/prod/"), WithUserAgent("app/1"))
	if err != nil || c.baseURL.String() != "http://h:1/prod" || !strings.HasSuffix(c.UserAgent(), " app/1") {
		t.Fatalf("%v %v", c, err)
	}
}

func TestDefaultRetryPolicyIsAValueNotSharedState(t *testing.T) {
	want := RetryPolicy{MaxAttempts: 4, BaseDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second, Deadline: 2 * time.Minute}
	p := DefaultRetryPolicy()
	if p != want {
		t.Fatalf("DefaultRetryPolicy() = %+v, want %+v", p, want)
	}
	p.MaxAttempts = 1 // a caller's copy: changes nothing outside it
	c, err := NewClient("k")
	if err != nil {
		t.Fatal(err)
	}
	if c.retry != want || DefaultRetryPolicy() != want {
		t.Fatalf("client policy %+v, default %+v after a copy was changed", c.retry, DefaultRetryPolicy())
	}
	tuned := DefaultRetryPolicy()
	tuned.Deadline = 10 * time.Second
	c, err = NewClient("k", WithRetryPolicy(tuned))
	if err != nil || c.retry.Deadline != 10*time.Second || c.retry.MaxAttempts != 4 {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestPathParametersAreEncodedAsSigned(t *testing.T) {
	secret := "tsig_3q9XbW2uTQJmHqJ8cZrQv0b1YwUeT9yD4kF7Lm2Np5s"
	f := newFakeServer(t, reply(404, apiError("not_found", 404)))
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	c := testClient(t, f, clock, 0, WithSigningSecret(secret))
	_, err := c.Events.Get(context.Background(), "evt a/b:é")
	if !IsCode(err, CodeNotFound) {
		t.Fatal(err)
	}
	r := f.requests()[0]
	if r.URL.EscapedPath() != "/v1/events/evt%20a%2Fb%3A%C3%A9" {
		t.Fatalf("sent %s", r.URL.EscapedPath())
	}
	// The API percent-decodes the path and re-encodes it per RFC 3986 before checking.
	target := "/v1/events/" + percentEncode("evt a/b:é")
	if err := VerifyRequestSignature([]string{secret}, r.Header.Get(HeaderSignatureTimestamp), r.Header.Get(HeaderSignature), r.Method, target, nil, clock.Now(), time.Minute); err != nil {
		t.Fatal(err)
	}
}

func TestDeadlineBoundsTheAttemptItself(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	// A 10 s per-attempt timeout, but only 200 ms in all: the attempt gets the 200 ms.
	c := testClient(t, f, &fakeClock{now: time.Unix(1_800_000_000, 0)}, 0, WithTimeout(10*time.Second),
		WithRetryPolicy(RetryPolicy{MaxAttempts: 1, Deadline: 200 * time.Millisecond}))
	began := time.Now()
	_, err := c.Events.Get(context.Background(), "evt_1")
	var netErr *NetworkError
	if !errors.As(err, &netErr) || !netErr.Timeout() || time.Since(began) > 3*time.Second {
		t.Fatalf("err %v after %v", err, time.Since(began))
	}
}

func TestCancellationInterruptsTheBackoffSleep(t *testing.T) {
	f := newFakeServer(t, reply(503, apiError("service_unavailable", 503), "Retry-After", "30"))
	c, err := NewClient("tk_local_test", WithBaseURL(f.srv.URL)) // the real clock and sleep
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(150*time.Millisecond, cancel)
	began := time.Now()
	_, err = c.Events.Get(ctx, "evt_1")
	if !errors.Is(err, context.Canceled) || f.count() != 1 || time.Since(began) > 5*time.Second {
		t.Fatalf("err %v, %d requests, after %v", err, f.count(), time.Since(began))
	}
}

func TestResponsesAreDrainedSoTheConnectionIsReused(t *testing.T) {
	var conns sync.Map
	big := strings.Repeat("x", 256<<10)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/events/evt_html":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			_, _ = io.WriteString(w, "<html>"+big+"</html>")
		case "/v1/events/evt_missing":
			reply(404, map[string]any{"error": map[string]any{"code": "not_found", "message": big, "details": []any{}}, "request_id": "r"})(w, r)
		default:
			reply(200, sampleEvent)(w, r)
		}
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Store(c.RemoteAddr().String(), true)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c, err := NewClient("tk_local_test", WithBaseURL(srv.URL), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"evt_1", "evt_html", "evt_missing", "evt_1", "evt_html", "evt_1"} {
		_, _ = c.Events.Get(context.Background(), id)
	}
	n := 0
	conns.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Fatalf("%d connections for 6 sequential calls", n)
	}
}

func TestParseRetryAfterSecondsAndHTTPDate(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                                0,
		"7":                               7 * time.Second,
		" 2 ":                             2 * time.Second,
		"1.5":                             1500 * time.Millisecond,
		"-3":                              0,
		"soon":                            0,
		"Tue, 01 Dec 2026 10:00:30 GMT":   30 * time.Second,
		"Tue, 01 Dec 2026 09:59:00 GMT":   0,           // in the past
		"Tuesday, 01-Dec-26 10:01:00 GMT": time.Minute, // RFC 850, also an HTTP-date
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("Retry-After %q: %v, want %v", v, got, want)
		}
	}
}

func TestSigningBehindAStagePrefixSignsFromV1(t *testing.T) {
	secret := "tsig_3q9XbW2uTQJmHqJ8cZrQv0b1YwUeT9yD4kF7Lm2Np5s"
	f := newFakeServer(t, reply(200, sampleEvent))
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	c, err := NewClient("tk_local_test", WithBaseURL(f.srv.URL+"/dev/"), WithSigningSecret(secret),
		WithClock(clock.Now, clock.Sleep, func() float64 { return 0 }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Events.Get(context.Background(), "evt 1/é"); err != nil {
		t.Fatal(err)
	}
	r := f.requests()[0]
	if r.URL.EscapedPath() != "/dev/v1/events/evt%201%2F%C3%A9" {
		t.Fatalf("sent %s", r.URL.EscapedPath())
	}
	// API Gateway strips the stage: the API checks the signature over the path from /v1 on.
	ts, sig := r.Header.Get(HeaderSignatureTimestamp), r.Header.Get(HeaderSignature)
	if err := VerifyRequestSignature([]string{secret}, ts, sig, "GET", "/v1/events/evt%201%2F%C3%A9", nil, clock.Now(), 300*time.Second); err != nil {
		t.Fatalf("signature over /v1...: %v", err)
	}
	if err := VerifyRequestSignature([]string{secret}, ts, sig, "GET", "/dev/v1/events/evt%201%2F%C3%A9", nil, clock.Now(), 300*time.Second); err == nil {
		t.Fatal("the stage prefix must not be signed")
	}
}
