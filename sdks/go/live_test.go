package triggers_test

// Live tests: every call of the SDK against a running stack (`make test-sdks` starts one and
// sets TRIGGERS_API_URL, TRIGGERS_ADMIN_KEY and TRIGGERS_SDK_LIVE=1). Without the variables
// they skip, unless TRIGGERS_SDK_LIVE=1 says they must run.

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	triggers "github.com/triggers-api/triggers-api/sdks/go"
)

func liveEnv(t *testing.T) (apiURL, adminKey string) {
	t.Helper()
	apiURL, adminKey = os.Getenv("TRIGGERS_API_URL"), os.Getenv("TRIGGERS_ADMIN_KEY")
	if apiURL == "" || adminKey == "" {
		if os.Getenv("TRIGGERS_SDK_LIVE") == "1" {
			t.Fatal("TRIGGERS_SDK_LIVE=1 but TRIGGERS_API_URL or TRIGGERS_ADMIN_KEY is not set")
		}
		t.Skip("no live stack: set TRIGGERS_API_URL and TRIGGERS_ADMIN_KEY (make test-sdks does)")
	}
	return apiURL, adminKey
}

func liveClient(t *testing.T, key string, opts ...triggers.Option) *triggers.Client {
	t.Helper()
	apiURL, _ := liveEnv(t)
	c, err := triggers.NewClient(key, append([]triggers.Option{triggers.WithBaseURL(apiURL)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func adminClient(t *testing.T, opts ...triggers.Option) *triggers.Client {
	_, admin := liveEnv(t)
	return liveClient(t, admin, opts...)
}

func unique(prefix string) string { return fmt.Sprintf("%s.%d", prefix, time.Now().UnixNano()) }

func ptr[T any](v T) *T { return &v }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestLiveHealth(t *testing.T) {
	c := adminClient(t)
	h, err := c.Health(ctxT(t))
	if err != nil || h.Status != "ok" || h.Version == "" || h.Checks.Dynamodb != "ok" {
		t.Fatalf("%+v %v", h, err)
	}
}

func TestLiveEventLifecycle(t *testing.T) {
	ctx := ctxT(t)
	c := adminClient(t)
	source := unique("go.lifecycle")
	var meta triggers.ResponseMeta
	ev, err := c.Events.Create(triggers.CaptureResponse(ctx, &meta), triggers.EventCreate{
		Source: source, EventType: "invoice.paid", Payload: map[string]any{"amount": 4200},
		Metadata: &triggers.EventCreate_Metadata{Priority: ptr(triggers.EventCreateMetadataPriorityHigh), AdditionalProperties: map[string]string{"team": "payments"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if meta.StatusCode != 201 || meta.Replayed || meta.RequestID == "" || !meta.RateLimit.Known || ev.IdempotencyKey == nil || len(*ev.IdempotencyKey) != 36 {
		t.Fatalf("meta %+v event %+v", meta, ev)
	}
	if team, _ := ev.Metadata.Get("team"); team != "payments" || *ev.Metadata.Priority != "high" || ev.Status != "pending" || !strings.HasPrefix(ev.EventId, "evt_") {
		t.Fatalf("event %+v", ev)
	}

	// With a key of ours: a replay answers the same event, 200, Replayed.
	key := unique("order")
	body := triggers.EventCreate{Source: source, EventType: "order.created", Payload: map[string]any{"order": 1}, IdempotencyKey: &key}
	first, err := c.Events.Create(ctx, body)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Events.Create(triggers.CaptureResponse(ctx, &meta), body)
	if err != nil || again.EventId != first.EventId || !meta.Replayed || meta.StatusCode != 200 {
		t.Fatalf("replay %v %v meta %+v", again, err, meta)
	}
	body.Payload = map[string]any{"order": 2}
	if _, err := c.Events.Create(ctx, body); !triggers.IsCode(err, triggers.CodeIdempotencyConflict) {
		t.Fatalf("conflict: %v", err)
	}

	got, err := c.Events.Get(ctx, ev.EventId)
	if err != nil || got.EventId != ev.EventId || got.Payload["amount"] != float64(4200) {
		t.Fatalf("get %+v %v", got, err)
	}
	acked, err := c.Events.Ack(ctx, ev.EventId)
	if err != nil || acked.Status != "acknowledged" || acked.AcknowledgedAt == nil {
		t.Fatalf("ack %+v %v", acked, err)
	}
	_, err = c.Events.Ack(ctx, ev.EventId)
	var apiErr *triggers.Error
	if !errors.As(err, &apiErr) || apiErr.Code != triggers.CodeAlreadyAcknowledged || apiErr.StatusCode != 409 || apiErr.RequestID == "" {
		t.Fatalf("second ack: %v", err)
	}
	if err := c.Events.Delete(ctx, ev.EventId); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Events.Get(ctx, ev.EventId); !triggers.IsCode(err, triggers.CodeNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := c.Events.Delete(ctx, ev.EventId); !triggers.IsCode(err, triggers.CodeNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	// A validation error carries its details.
	_, err = c.Events.Create(ctx, triggers.EventCreate{Source: "bad source!", EventType: "t", Payload: map[string]any{}})
	if !errors.As(err, &apiErr) || apiErr.Code != triggers.CodeValidationError || len(apiErr.Details) == 0 || apiErr.Details[0].Field != "source" {
		t.Fatalf("validation: %v", err)
	}
}

func createN(t *testing.T, c *triggers.Client, source string, n int, item func(i int) triggers.EventCreate) []string {
	t.Helper()
	items := make([]triggers.EventCreate, n)
	for i := range items {
		items[i] = item(i)
		items[i].Source = source
	}
	res, err := c.Events.CreateMany(ctxT(t), items)
	if err != nil || len(res.Failed) != 0 || len(res.Successful) != n {
		t.Fatalf("create %d: %+v %v", n, res, err)
	}
	ids := make([]string, n)
	for _, s := range res.Successful {
		ids[s.Index] = s.Event.EventId
	}
	return ids
}

func TestLiveInboxPagingAndFilters(t *testing.T) {
	ctx := ctxT(t)
	c := adminClient(t)
	source := unique("go.inbox")
	start := time.Now().Add(-time.Second)
	ids := createN(t, c, source, 7, func(i int) triggers.EventCreate {
		md := &triggers.EventCreate_Metadata{AdditionalProperties: map[string]string{"team": []string{"a", "b"}[i%2], "zone.name x": "eu"}}
		if i < 2 {
			md.Priority = ptr(triggers.EventCreateMetadataPriorityHigh)
		}
		return triggers.EventCreate{EventType: []string{"x.created", "x.deleted"}[i%3/2], Payload: map[string]any{"i": i}, Metadata: md}
	})

	page, err := c.Inbox.List(ctx, triggers.InboxParams{Source: source, Limit: 3})
	if err != nil || len(page.Events) != 3 || page.NextCursor == nil {
		t.Fatalf("page %+v %v", page, err)
	}
	var got []string
	pages := 0
	for ev, err := range c.Inbox.All(ctx, triggers.InboxParams{Source: source, Limit: 3}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.EventId)
		pages++
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Fatalf("iterated %v, want %v", got, ids)
	}
	count := func(p triggers.InboxParams) int {
		p.Source = source
		n := 0
		for _, err := range c.Inbox.All(ctx, p) {
			if err != nil {
				t.Fatalf("%+v: %v", p, err)
			}
			n++
		}
		return n
	}
	if n := count(triggers.InboxParams{Priority: "high"}); n != 2 {
		t.Fatalf("priority high: %d", n)
	}
	if n := count(triggers.InboxParams{Priority: "normal", Limit: 2}); n != 5 {
		t.Fatalf("priority normal: %d", n)
	}
	if n := count(triggers.InboxParams{Metadata: map[string]string{"team": "a", "zone.name x": "eu"}}); n != 4 {
		t.Fatalf("metadata: %d", n)
	}
	if n := count(triggers.InboxParams{EventType: "x.deleted"}); n != 2 {
		t.Fatalf("event type: %d", n)
	}
	if n := count(triggers.InboxParams{CreatedAfter: start, CreatedBefore: time.Now().Add(time.Minute)}); n != 7 {
		t.Fatalf("time range: %d", n)
	}
	if n := count(triggers.InboxParams{CreatedBefore: start}); n != 0 {
		t.Fatalf("before the start: %d", n)
	}
	// A cursor sent with other filters is refused on "cursor".
	_, err = c.Inbox.List(ctx, triggers.InboxParams{Source: source, Priority: "high", Cursor: *page.NextCursor})
	var apiErr *triggers.Error
	if !errors.As(err, &apiErr) || apiErr.Code != triggers.CodeValidationError || apiErr.Details[0].Field != "cursor" {
		t.Fatalf("foreign cursor: %v", err)
	}
}

func TestLiveProcessPending(t *testing.T) {
	ctx := ctxT(t)
	c := adminClient(t)
	source := unique("go.process")
	ids := createN(t, c, source, 30, func(i int) triggers.EventCreate {
		return triggers.EventCreate{EventType: "job.run", Payload: map[string]any{"i": i}}
	})
	refuse := ids[11]
	var mu sync.Mutex
	handled := map[string]bool{}
	res, err := c.Inbox.ProcessPending(ctx, triggers.ProcessOptions{InboxParams: triggers.InboxParams{Source: source, Limit: 10}},
		func(_ context.Context, ev triggers.Event) error {
			mu.Lock()
			defer mu.Unlock()
			handled[ev.EventId] = true
			if ev.EventId == refuse {
				return errors.New("cannot handle this one")
			}
			return nil
		})
	var perr *triggers.ProcessError
	if !errors.As(err, &perr) || res.Handled != 29 || len(res.Acked) != 29 || len(res.HandlerErrs) != 1 || res.HandlerErrs[0].Event.EventId != refuse {
		t.Fatalf("%+v %v", res, err)
	}
	var left []string
	for ev, err := range c.Inbox.All(ctx, triggers.InboxParams{Source: source}) {
		if err != nil {
			t.Fatal(err)
		}
		left = append(left, ev.EventId)
	}
	if len(left) != 1 || left[0] != refuse || len(handled) != 30 {
		t.Fatalf("left %v, handled %d", left, len(handled))
	}
	ev, err := c.Events.Get(ctx, ids[0])
	if err != nil || ev.Status != "acknowledged" {
		t.Fatalf("%+v %v", ev, err)
	}
}

func TestLiveBulk(t *testing.T) {
	ctx := ctxT(t)
	c := adminClient(t)
	source := unique("go.bulk")
	items := make([]triggers.EventCreate, 60)
	for i := range items {
		items[i] = triggers.EventCreate{Source: source, EventType: "bulk.item", Payload: map[string]any{"i": i}}
	}
	items[37].Source = "not a valid source!"
	res, err := c.Events.CreateMany(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.RequestIDs) != 3 || len(res.Successful) != 59 || len(res.Failed) != 1 || res.Failed[0].Index != 37 || res.Failed[0].Error.Code != "validation_error" {
		t.Fatalf("requests %d ok %d failed %+v", len(res.RequestIDs), len(res.Successful), res.Failed)
	}
	ids := make([]string, 0, 59)
	for _, s := range res.Successful {
		if s.Event.Payload["i"] != float64(s.Index) || s.Replayed {
			t.Fatalf("index %d holds item %v", s.Index, s.Event.Payload["i"])
		}
		ids = append(ids, s.Event.EventId)
	}
	// Ack all of them plus an unknown id at index 59.
	acks, err := c.Events.AckMany(ctx, append(append([]string{}, ids...), "evt_01JD8ZK3ABCDEFGHJKMNPQRSTV"))
	if err != nil || len(acks.Successful) != 59 || len(acks.Failed) != 1 || acks.Failed[0].Index != 59 || acks.Failed[0].Error.Code != "not_found" {
		t.Fatalf("acks %+v %v", acks, err)
	}
	acks, err = c.Events.AckMany(ctx, ids[:2])
	if err != nil || len(acks.Failed) != 2 || acks.Failed[1].Error.Code != "already_acknowledged" {
		t.Fatalf("second acks %+v %v", acks, err)
	}
	dels, err := c.Events.DeleteMany(ctx, append([]string{"evt_01JD8ZK3ABCDEFGHJKMNPQRSTV"}, ids...))
	if err != nil || len(dels.Successful) != 59 || len(dels.Failed) != 1 || dels.Failed[0].Index != 0 || dels.Successful[0].Index != 1 || dels.Successful[0].EventId != ids[0] {
		t.Fatalf("deletes %+v %v", dels, err)
	}
	if _, err := c.Events.Get(ctx, ids[58]); !triggers.IsCode(err, triggers.CodeNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestLiveAPIKeys(t *testing.T) {
	ctx := ctxT(t)
	c := adminClient(t)
	name := unique("go key")
	issued, err := c.APIKeys.Create(ctx, triggers.ApiKeyCreate{Name: name, RateLimit: ptr(500), AllowedIps: &[]string{"127.0.0.1", "::1"}})
	if err != nil || !strings.HasPrefix(issued.Secret, "tk_") || issued.SigningSecret != nil || issued.Admin || *issued.RateLimit != 500 {
		t.Fatalf("%+v %v", issued, err)
	}
	got, err := c.APIKeys.Get(ctx, issued.KeyId)
	if err != nil || got.Name != name || len(got.AllowedIps) != 2 || got.AllowedIps[0] != "127.0.0.1/32" {
		t.Fatalf("%+v %v", got, err)
	}
	found := false
	for k, err := range c.APIKeys.All(ctx, triggers.ListParams{Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		found = found || k.KeyId == issued.KeyId
	}
	if !found {
		t.Fatal("the new key is not listed")
	}
	list, err := c.APIKeys.List(ctx, triggers.ListParams{Limit: 1})
	if err != nil || len(list.ApiKeys) != 1 || list.NextCursor == nil {
		t.Fatalf("%+v %v", list, err)
	}
	updated, err := c.APIKeys.Update(ctx, issued.KeyId, triggers.APIKeyChanges{Name: ptr(name + " renamed"), RateLimit: ptr(20), AllowedIPs: &[]string{}})
	if err != nil || updated.Name != name+" renamed" || *updated.RateLimit != 20 || len(updated.AllowedIps) != 0 {
		t.Fatalf("%+v %v", updated, err)
	}
	updated, err = c.APIKeys.Update(ctx, issued.KeyId, triggers.APIKeyChanges{DefaultRateLimit: true})
	if err != nil || updated.RateLimit != nil {
		t.Fatalf("default rate limit: %+v %v", updated, err)
	}

	// The new key works, is not admin, and keeps working across a rotation with grace.
	user := liveClient(t, issued.Secret)
	if _, err := user.Inbox.List(ctx, triggers.InboxParams{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := user.APIKeys.List(ctx, triggers.ListParams{}); !triggers.IsCode(err, triggers.CodeForbidden) {
		t.Fatalf("non-admin: %v", err)
	}
	rotated, err := c.APIKeys.Rotate(ctx, issued.KeyId, triggers.ApiKeyRotate{GracePeriodSeconds: ptr(3600)})
	if err != nil || rotated.Secret == issued.Secret || len(rotated.Secrets) != 2 {
		t.Fatalf("%+v %v", rotated, err)
	}
	if _, err := liveClient(t, rotated.Secret).Inbox.List(ctx, triggers.InboxParams{Limit: 1}); err != nil {
		t.Fatalf("new secret: %v", err)
	}
	if _, err := user.Inbox.List(ctx, triggers.InboxParams{Limit: 1}); err != nil {
		t.Fatalf("old secret in its grace: %v", err)
	}
	if err := c.APIKeys.Revoke(ctx, issued.KeyId); err != nil {
		t.Fatal(err)
	}
	if err := c.APIKeys.Revoke(ctx, issued.KeyId); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	if _, err := c.APIKeys.Rotate(ctx, issued.KeyId, triggers.ApiKeyRotate{}); !triggers.IsCode(err, triggers.CodeConflict) {
		t.Fatalf("rotating a revoked key: %v", err)
	}
	if _, err := liveClient(t, rotated.Secret).Inbox.List(ctx, triggers.InboxParams{Limit: 1}); !triggers.IsCode(err, triggers.CodeUnauthorized) {
		t.Fatalf("revoked key: %v", err)
	}
	if _, err := c.APIKeys.Get(ctx, "key_0000000000000000"); !triggers.IsCode(err, triggers.CodeNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestLiveRequestSigning(t *testing.T) {
	ctx := ctxT(t)
	c := adminClient(t)
	issued, err := c.APIKeys.Create(ctx, triggers.ApiKeyCreate{Name: unique("go signing"), Signing: ptr(true)})
	if err != nil || issued.SigningSecret == nil || !strings.HasPrefix(*issued.SigningSecret, "tsig_") {
		t.Fatalf("%+v %v", issued, err)
	}
	t.Cleanup(func() { _ = c.APIKeys.Revoke(context.Background(), issued.KeyId) })
	signed := liveClient(t, issued.Secret, triggers.WithSigningSecret(*issued.SigningSecret))
	source := unique("go.signed")
	ev, err := signed.Events.Create(ctx, triggers.EventCreate{Source: source, EventType: "a b", Payload: map[string]any{"note": "café ☃"}})
	if err == nil || !triggers.IsCode(err, triggers.CodeValidationError) {
		t.Fatalf("an invalid event type should be a validation error, not a signature error: %v", err)
	}
	ev, err = signed.Events.Create(ctx, triggers.EventCreate{Source: source, EventType: "signed.thing", Payload: map[string]any{"note": "café ☃"},
		Metadata: &triggers.EventCreate_Metadata{AdditionalProperties: map[string]string{"a key": "a value/é"}}})
	if err != nil {
		t.Fatal(err)
	}
	// Query parameters with spaces, dots and non-ASCII, in canonical order.
	page, err := signed.Inbox.List(ctx, triggers.InboxParams{Source: source, Limit: 5, Metadata: map[string]string{"a key": "a value/é"}, CreatedAfter: time.Now().Add(-time.Hour)})
	if err != nil || len(page.Events) != 1 || page.Events[0].EventId != ev.EventId {
		t.Fatalf("%+v %v", page, err)
	}
	if _, err := signed.Events.Ack(ctx, ev.EventId); err != nil {
		t.Fatal(err)
	}
	if err := signed.Events.Delete(ctx, ev.EventId); err != nil {
		t.Fatal(err)
	}
	// Unsigned, or signed with another secret: a typed 401 signature_invalid.
	for name, client := range map[string]*triggers.Client{
		"unsigned":     liveClient(t, issued.Secret),
		"wrong secret": liveClient(t, issued.Secret, triggers.WithSigningSecret("tsig_Rr4kP0zXw9LmN2bV7cQ1tY6uH3jG8fD5sA0eK9iO4pW")),
	} {
		_, err := client.Inbox.List(ctx, triggers.InboxParams{Limit: 1})
		var apiErr *triggers.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != triggers.CodeSignatureInvalid || apiErr.Attempts != 1 {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// A clock 10 minutes off: signature_expired.
	skewed := liveClient(t, issued.Secret, triggers.WithSigningSecret(*issued.SigningSecret),
		triggers.WithClock(func() time.Time { return time.Now().Add(-10 * time.Minute) }, nil, nil))
	if _, err := skewed.Inbox.List(ctx, triggers.InboxParams{Limit: 1}); !triggers.IsCode(err, triggers.CodeSignatureExpired) {
		t.Fatalf("skewed clock: %v", err)
	}
	// Mid-rotation a client may send one value per secret: the right one passes.
	both := liveClient(t, issued.Secret, triggers.WithSigningSecret("tsig_Rr4kP0zXw9LmN2bV7cQ1tY6uH3jG8fD5sA0eK9iO4pW", *issued.SigningSecret))
	if _, err := both.Inbox.List(ctx, triggers.InboxParams{Limit: 1}); err != nil {
		t.Fatalf("two values: %v", err)
	}
}

func TestLiveRateLimit(t *testing.T) {
	ctx := ctxT(t)
	c := adminClient(t)
	// 20 a minute: a burst of 20, then one request every 3 s.
	issued, err := c.APIKeys.Create(ctx, triggers.ApiKeyCreate{Name: unique("go tiny limit"), RateLimit: ptr(20)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.APIKeys.Revoke(context.Background(), issued.KeyId) })
	noRetry := liveClient(t, issued.Secret, triggers.WithRetryPolicy(triggers.RetryPolicy{MaxAttempts: 1, Deadline: time.Minute}))
	var limited *triggers.Error
	for i := 0; i < 500 && limited == nil; i++ {
		_, err := noRetry.Inbox.List(ctx, triggers.InboxParams{Limit: 1})
		if err != nil && !errors.As(err, &limited) {
			t.Fatal(err)
		}
	}
	if limited == nil {
		t.Fatal("never rate limited")
	}
	rl := limited.RateLimit
	if limited.Code != triggers.CodeRateLimited || limited.StatusCode != 429 || !rl.Known || rl.Limit != 20 || rl.Remaining != 0 ||
		rl.RetryAfter < time.Second || rl.Reset.Before(time.Now().Add(-2*time.Second)) {
		t.Fatalf("%+v %+v", limited, rl)
	}
	// The retrying client waits Retry-After out and gets through.
	retrying := liveClient(t, issued.Secret)
	for {
		var meta triggers.ResponseMeta
		_, err := retrying.Inbox.List(triggers.CaptureResponse(ctx, &meta), triggers.InboxParams{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if meta.Attempts > 1 {
			break // it met a 429 and waited it out
		}
	}
}

// receiver records the deliveries it verifies; a tampered copy must be rejected.
type receiver struct {
	mu       sync.Mutex
	verifier *triggers.WebhookVerifier
	got      []*triggers.WebhookPayload
	rejected int
	srv      *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.verifier == nil {
			w.WriteHeader(503)
			return
		}
		p, err := r.verifier.Verify(body, req.Header)
		if err != nil {
			r.rejected++
			w.WriteHeader(400)
			return
		}
		// The same delivery with one byte changed does not verify.
		if _, err := r.verifier.Verify(append(bytes.Clone(body), ' '), req.Header); err == nil {
			t.Error("a tampered body verified")
		}
		r.got = append(r.got, p)
		w.WriteHeader(204)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setSecrets(t *testing.T, secrets ...string) {
	v, err := triggers.NewWebhookVerifier(secrets...)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.verifier = v
	r.mu.Unlock()
}

func (r *receiver) waitFor(t *testing.T, what string, match func(*triggers.WebhookPayload) bool) *triggers.WebhookPayload {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, p := range r.got {
			if match(p) {
				r.mu.Unlock()
				return p
			}
		}
		r.mu.Unlock()
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no verified delivery of %s within 90 s", what)
	return nil
}

func TestLiveWebhooks(t *testing.T) {
	ctx := ctxT(t)
	c := adminClient(t)
	rcv := newReceiver(t)
	source := unique("go.hooks")
	hook, err := c.Webhooks.Create(ctx, triggers.WebhookCreate{Url: rcv.srv.URL + "/hooks", Sources: &[]string{source}, Description: ptr("go sdk test")})
	if err != nil || !strings.HasPrefix(hook.Secret, "whsec_") || hook.Status != "active" {
		t.Fatalf("%+v %v", hook, err)
	}
	t.Cleanup(func() { _ = c.Webhooks.Delete(context.Background(), hook.WebhookId) })
	rcv.setSecrets(t, hook.Secret)

	got, err := c.Webhooks.Get(ctx, hook.WebhookId)
	if err != nil || got.Url != rcv.srv.URL+"/hooks" || got.Sources[0] != source {
		t.Fatalf("%+v %v", got, err)
	}
	listed := false
	for w, err := range c.Webhooks.All(ctx, triggers.ListParams{Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		listed = listed || w.WebhookId == hook.WebhookId
	}
	if !listed {
		t.Fatal("not listed")
	}
	if page, err := c.Webhooks.List(ctx, triggers.ListParams{Limit: 100}); err != nil || len(page.Webhooks) == 0 {
		t.Fatalf("%+v %v", page, err)
	}
	updated, err := c.Webhooks.Update(ctx, hook.WebhookId, triggers.WebhookChanges{Description: ptr("renamed"), RateLimitPerSecond: ptr(50), EventTypes: &[]string{"hook.*"}})
	if err != nil || updated.Description != "renamed" || *updated.RateLimitPerSecond != 50 || updated.EventTypes[0] != "hook.*" {
		t.Fatalf("%+v %v", updated, err)
	}
	updated, err = c.Webhooks.Update(ctx, hook.WebhookId, triggers.WebhookChanges{NoRateLimit: true})
	if err != nil || updated.RateLimitPerSecond != nil {
		t.Fatalf("no rate limit: %+v %v", updated, err)
	}

	// A test delivery, verified by our verifier.
	test, err := c.Webhooks.Test(ctx, hook.WebhookId)
	if err != nil || test.Kind != "test" || test.EventType != triggers.WebhookTestType {
		t.Fatalf("%+v %v", test, err)
	}
	rcv.waitFor(t, "the test send", func(p *triggers.WebhookPayload) bool {
		return p.MessageID == test.DeliveryId && p.Type == triggers.WebhookTestType
	})

	// A real event matching the filters.
	ev, err := c.Events.Create(ctx, triggers.EventCreate{Source: source, EventType: "hook.fired", Payload: map[string]any{"n": 1}})
	if err != nil {
		t.Fatal(err)
	}
	p := rcv.waitFor(t, "the event", func(p *triggers.WebhookPayload) bool {
		e, err := p.Event()
		return err == nil && e.EventId == ev.EventId
	})
	delivered, _ := p.Event()
	if delivered.Source != source || delivered.Payload["n"] != float64(1) || p.Type != "hook.fired" {
		t.Fatalf("%+v", delivered)
	}

	// Replay: a new delivery (new id) of the same event.
	replay, err := c.Webhooks.Replay(ctx, hook.WebhookId, triggers.WebhookReplay{Since: ev.CreatedAt.Add(-time.Second)})
	if err != nil || replay.Queued != 1 {
		t.Fatalf("%+v %v", replay, err)
	}
	rcv.waitFor(t, "the replay", func(q *triggers.WebhookPayload) bool {
		e, err := q.Event()
		return err == nil && e.EventId == ev.EventId && q.MessageID != p.MessageID
	})

	// The deliveries log: the test, the delivery and the replay, all succeeded eventually.
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := 0
		for d, err := range c.Webhooks.AllDeliveries(ctx, hook.WebhookId, triggers.DeliveryParams{Status: "succeeded", Limit: 2}) {
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Attempts) == 0 || d.Attempts[0].StatusCode == nil || *d.Attempts[0].StatusCode != 204 {
				t.Fatalf("delivery %+v", d)
			}
			n++
		}
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d succeeded deliveries, want 3", n)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if page, err := c.Webhooks.Deliveries(ctx, hook.WebhookId, triggers.DeliveryParams{Limit: 1}); err != nil || len(page.Deliveries) != 1 || page.NextCursor == nil {
		t.Fatalf("%+v %v", page, err)
	}

	// Rotate with no grace: only the new secret signs, so the receiver must switch.
	rotated, err := c.Webhooks.RotateSecret(ctx, hook.WebhookId, triggers.WebhookRotate{GracePeriodSeconds: ptr(0)})
	if err != nil || rotated.Secret == hook.Secret || !strings.HasPrefix(rotated.Secret, "whsec_") {
		t.Fatalf("%+v %v", rotated, err)
	}
	rcv.setSecrets(t, rotated.Secret)
	test2, err := c.Webhooks.Test(ctx, hook.WebhookId)
	if err != nil {
		t.Fatal(err)
	}
	rcv.waitFor(t, "a test send after the rotation", func(p *triggers.WebhookPayload) bool { return p.MessageID == test2.DeliveryId })

	paused, err := c.Webhooks.Update(ctx, hook.WebhookId, triggers.WebhookChanges{Status: ptr(triggers.WebhookUpdateStatusPaused)})
	if err != nil || paused.Status != "paused" {
		t.Fatalf("%+v %v", paused, err)
	}
	if _, err := c.Webhooks.Test(ctx, hook.WebhookId); !triggers.IsCode(err, triggers.CodeConflict) {
		t.Fatalf("test on a paused webhook: %v", err)
	}
	if err := c.Webhooks.Delete(ctx, hook.WebhookId); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Webhooks.Get(ctx, hook.WebhookId); !triggers.IsCode(err, triggers.CodeNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if rcv.rejected != 0 {
		t.Fatalf("%d real deliveries were rejected", rcv.rejected)
	}
}

func TestLiveAnalytics(t *testing.T) {
	ctx := ctxT(t)
	c := adminClient(t)
	source := unique("go.analytics")
	createN(t, c, source, 3, func(i int) triggers.EventCreate {
		return triggers.EventCreate{EventType: "metric.tick", Payload: map[string]any{"i": i}}
	})
	to := time.Now().Add(time.Minute)
	from := to.Add(-2 * time.Hour)
	// The counters trail the events by the stream's delay: wait for ours.
	deadline := time.Now().Add(60 * time.Second)
	for {
		ts, err := c.Analytics.Timeseries(ctx, triggers.AnalyticsParams{Granularity: "minute", From: from, To: to, Source: source})
		if err != nil {
			t.Fatal(err)
		}
		if ts.Granularity != "minute" || len(ts.Buckets) < 120 {
			t.Fatalf("%d buckets", len(ts.Buckets))
		}
		total := 0
		for _, b := range ts.Buckets {
			total += b.Count
		}
		if total == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timeseries count %d, want 3", total)
		}
		time.Sleep(500 * time.Millisecond)
	}
	sum, err := c.Analytics.Summary(ctx, triggers.AnalyticsParams{From: from, To: to})
	if err != nil || sum.Totals.Ingested < 3 {
		t.Fatalf("%+v %v", sum, err)
	}
	found := false
	for _, s := range sum.BySource {
		found = found || (s.Source == source && s.Ingested == 3)
	}
	if !found {
		t.Fatalf("summary by_source lacks %s", source)
	}
	exp, err := c.Analytics.ExportJSON(ctx, triggers.AnalyticsParams{Granularity: "hour", From: from, To: to})
	if err != nil || exp.Granularity != "hour" {
		t.Fatalf("%+v %v", exp, err)
	}
	rows := 0
	for _, r := range exp.Rows {
		if r.Source == source {
			rows += r.Count
		}
	}
	if rows != 3 {
		t.Fatalf("export json counts %d for %s", rows, source)
	}
	raw, err := c.Analytics.ExportCSV(ctx, triggers.AnalyticsParams{Granularity: "hour", From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil || len(records) < 2 || strings.Join(records[0][:4], ",") != "start,source,event_type,count" || !bytes.Contains(raw, []byte("\r\n")) {
		t.Fatalf("csv %q %v", raw, err)
	}
	csvCount := 0
	for _, r := range records[1:] {
		if r[1] == source {
			var n int
			fmt.Sscan(r[3], &n)
			csvCount += n
		}
	}
	if csvCount != 3 {
		t.Fatalf("csv counts %d", csvCount)
	}
	if _, err := c.Analytics.Summary(ctx, triggers.AnalyticsParams{From: to, To: from}); !triggers.IsCode(err, triggers.CodeValidationError) {
		t.Fatalf("a reversed range: %v", err)
	}
}
