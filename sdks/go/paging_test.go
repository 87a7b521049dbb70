package triggers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func event(id string) map[string]any {
	e := map[string]any{}
	for k, v := range sampleEvent {
		e[k] = v
	}
	e["event_id"] = id
	return e
}

func page(next any, ids ...string) func(http.ResponseWriter, *http.Request) {
	events := make([]any, len(ids))
	for i, id := range ids {
		events[i] = event(id)
	}
	return reply(200, map[string]any{"events": events, "next_cursor": next})
}

func TestInboxIteratorWalksEveryPageWithTheSameFilters(t *testing.T) {
	f := newFakeServer(t, page("c1", "evt_1", "evt_2"), page("c2"), page(nil, "evt_3"))
	c := testClient(t, f, &fakeClock{now: time.Unix(1_800_000_000, 0)}, 0)
	after := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	params := InboxParams{Limit: 2, Source: "billing", EventType: "invoice.paid", CreatedAfter: after, CreatedBefore: after.Add(time.Hour),
		Priority: "high", Metadata: map[string]string{"team": "payments", "a.b c": "x/y"}}
	var ids []string
	for ev, err := range c.Inbox.All(context.Background(), params) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.EventId)
	}
	if strings.Join(ids, ",") != "evt_1,evt_2,evt_3" {
		t.Fatalf("ids %v", ids)
	}
	for i, r := range f.requests() {
		q := r.URL.Query()
		if q.Get("source") != "billing" || q.Get("event_type") != "invoice.paid" || q.Get("limit") != "2" ||
			q.Get("created_after") != "2026-11-30T10:00:00.000Z" || q.Get("created_before") != "2026-11-30T11:00:00.000Z" ||
			q.Get("priority") != "high" || q.Get("metadata.team") != "payments" || q.Get("metadata.a.b c") != "x/y" {
			t.Fatalf("page %d query %s", i, r.URL.RawQuery)
		}
		if want := []string{"", "c1", "c2"}[i]; q.Get("cursor") != want {
			t.Fatalf("page %d cursor %q, want %q", i, q.Get("cursor"), want)
		}
	}
}

func TestIteratorStopsOnBreakAndYieldsErrorsOnce(t *testing.T) {
	f := newFakeServer(t, page("c1", "evt_1", "evt_2"))
	c := testClient(t, f, &fakeClock{now: time.Unix(1_800_000_000, 0)}, 0)
	for ev, err := range c.Inbox.All(context.Background(), InboxParams{}) {
		if err != nil || ev.EventId != "evt_1" {
			t.Fatal(ev, err)
		}
		break
	}
	if f.count() != 1 {
		t.Fatalf("%d requests after break", f.count())
	}
	f = newFakeServer(t, page("c1", "evt_1"), reply(400, apiError("validation_error", 400)))
	c = testClient(t, f, &fakeClock{now: time.Unix(1_800_000_000, 0)}, 0)
	var got []string
	var errs []error
	for ev, err := range c.Inbox.All(context.Background(), InboxParams{}) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, ev.EventId)
	}
	if len(got) != 1 || len(errs) != 1 || !IsCode(errs[0], CodeValidationError) {
		t.Fatalf("got %v errs %v", got, errs)
	}
}

func TestKeyWebhookAndDeliveryIterators(t *testing.T) {
	key := func(id string) map[string]any {
		return map[string]any{"key_id": id, "tenant_id": "t", "name": "n", "admin": false, "rate_limit": nil, "allowed_ips": []any{},
			"signing": false, "status": "active", "created_at": "2026-11-30T10:00:00.000Z", "created_by": nil,
			"updated_at": "2026-11-30T10:00:00.000Z", "expires_at": nil, "revoked_at": nil, "last_used_at": nil, "secrets": []any{}}
	}
	f := newFakeServer(t,
		reply(200, map[string]any{"api_keys": []any{key("key_1")}, "next_cursor": "k"}),
		reply(200, map[string]any{"api_keys": []any{key("key_2")}, "next_cursor": nil}),
		reply(200, map[string]any{"webhooks": []any{}, "next_cursor": nil}),
		reply(200, map[string]any{"deliveries": []any{map[string]any{"delivery_id": "msg_1", "webhook_id": "wh_1", "kind": "test", "status": "succeeded",
			"event_type": "webhook.test", "event_id": nil, "attempts": []any{}, "created_at": "2026-11-30T10:00:00.000Z", "updated_at": "2026-11-30T10:00:00.000Z",
			"next_attempt_at": nil, "failure_reason": nil}}, "next_cursor": nil}),
	)
	c := testClient(t, f, &fakeClock{now: time.Unix(1_800_000_000, 0)}, 0)
	var keys []string
	for k, err := range c.APIKeys.All(context.Background(), ListParams{Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.KeyId)
	}
	n := 0
	for _, err := range c.Webhooks.All(context.Background(), ListParams{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	var deliveries []string
	for d, err := range c.Webhooks.AllDeliveries(context.Background(), "wh_1", DeliveryParams{Status: "succeeded"}) {
		if err != nil {
			t.Fatal(err)
		}
		deliveries = append(deliveries, d.DeliveryId)
	}
	if fmt.Sprint(keys) != "[key_1 key_2]" || n != 0 || fmt.Sprint(deliveries) != "[msg_1]" {
		t.Fatalf("keys %v webhooks %d deliveries %v", keys, n, deliveries)
	}
	if f.requests()[1].URL.Query().Get("cursor") != "k" || f.requests()[3].URL.Query().Get("status") != "succeeded" || f.requests()[3].URL.Path != "/v1/webhooks/wh_1/deliveries" {
		t.Fatalf("requests %v %v", f.requests()[1].URL, f.requests()[3].URL)
	}
}

// bulkEcho answers a bulk request: every item succeeds except those whose source is "bad"
// (create) or whose id starts with "bad" (ack/delete).
func bulkEcho(t *testing.T) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Items    []EventCreate `json:"items"`
			EventIDs []string      `json:"event_ids"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Error(err)
		}
		ok, failed := []any{}, []any{}
		fail := func(i int) {
			failed = append(failed, map[string]any{"index": i, "error": map[string]any{"code": "validation_error", "message": "bad", "details": []any{}}})
		}
		if body.Items != nil {
			if len(body.Items) > 25 {
				t.Errorf("a batch of %d", len(body.Items))
			}
			for i, item := range body.Items {
				if item.Source == "bad" {
					fail(i)
					continue
				}
				e := event(fmt.Sprintf("evt_%s", *item.IdempotencyKey))
				ok = append(ok, map[string]any{"index": i, "event": e, "replayed": false})
			}
		} else {
			if len(body.EventIDs) > 25 {
				t.Errorf("a batch of %d", len(body.EventIDs))
			}
			for i, id := range body.EventIDs {
				if strings.HasPrefix(id, "bad") {
					fail(i)
				} else if r.Method == http.MethodDelete {
					ok = append(ok, map[string]any{"index": i, "event_id": id})
				} else {
					ok = append(ok, map[string]any{"index": i, "event": event(id)})
				}
			}
		}
		reply(200, map[string]any{"successful": ok, "failed": failed, "request_id": "req_bulk"})(w, r)
	}
}

func TestBulkCreateSplitsIntoBatchesAndMergesIndexes(t *testing.T) {
	f := newFakeServer(t, bulkEcho(t), bulkEcho(t), bulkEcho(t))
	c := testClient(t, f, &fakeClock{now: time.Unix(1_800_000_000, 0)}, 0)
	items := make([]EventCreate, 60)
	own := "mine-7"
	for i := range items {
		items[i] = EventCreate{Source: "s", EventType: "t", Payload: map[string]any{"i": i}}
	}
	items[7].IdempotencyKey = &own
	items[41].Source = "bad"
	res, err := c.Events.CreateMany(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	if f.count() != 3 || len(res.Successful) != 59 || len(res.Failed) != 1 || res.Failed[0].Index != 41 || len(res.RequestIDs) != 3 {
		t.Fatalf("%d requests, %d ok, failed %+v", f.count(), len(res.Successful), res.Failed)
	}
	keys := map[string]bool{}
	for i, s := range res.Successful {
		want := i
		if i >= 41 {
			want = i + 1
		}
		if s.Index != want {
			t.Fatalf("successful[%d].Index = %d, want %d", i, s.Index, want)
		}
		keys[s.Event.EventId] = true
	}
	if !keys["evt_mine-7"] || len(keys) != 59 {
		t.Fatalf("keys: the caller's kept and every other item given its own: %d", len(keys))
	}
	if items[0].IdempotencyKey != nil {
		t.Fatal("the caller's slice was changed")
	}
}

func TestBulkAckAndDeleteAnyNumber(t *testing.T) {
	ids := make([]string, 30)
	for i := range ids {
		ids[i] = fmt.Sprintf("evt_%d", i)
	}
	ids[26] = "bad_26"
	f := newFakeServer(t, bulkEcho(t), bulkEcho(t), bulkEcho(t), bulkEcho(t))
	c := testClient(t, f, &fakeClock{now: time.Unix(1_800_000_000, 0)}, 0)
	acks, err := c.Events.AckMany(context.Background(), ids)
	if err != nil || len(acks.Successful) != 29 || acks.Failed[0].Index != 26 || acks.Successful[28].Index != 29 {
		t.Fatalf("%+v %v", acks, err)
	}
	dels, err := c.Events.DeleteMany(context.Background(), ids)
	if err != nil || len(dels.Successful) != 29 || dels.Failed[0].Index != 26 || dels.Successful[25].EventId != "evt_25" {
		t.Fatalf("%+v %v", dels, err)
	}
	if f.requests()[0].URL.Path != "/v1/events/bulk/ack" || f.requests()[2].Method != http.MethodDelete || f.requests()[2].URL.Path != "/v1/events/bulk" {
		t.Fatal("routes")
	}
}

func TestBulkBatchFailureMarksItsItemsAndGoesOn(t *testing.T) {
	f := newFakeServer(t, reply(400, apiError("validation_error", 400)), bulkEcho(t))
	c := testClient(t, f, &fakeClock{now: time.Unix(1_800_000_000, 0)}, 0)
	ids := make([]string, 27)
	for i := range ids {
		ids[i] = fmt.Sprintf("evt_%d", i)
	}
	res, err := c.Events.AckMany(context.Background(), ids)
	if err != nil || len(res.Failed) != 25 || res.Failed[24].Index != 24 || res.Failed[0].Error.Code != CodeRequestFailed ||
		len(res.Successful) != 2 || res.Successful[0].Index != 25 {
		t.Fatalf("%+v %v", res, err)
	}
	// A refused key stops the run.
	f = newFakeServer(t, reply(403, apiError("forbidden", 403)))
	c = testClient(t, f, &fakeClock{now: time.Unix(1_800_000_000, 0)}, 0)
	_, err = c.Events.DeleteMany(context.Background(), ids)
	if !IsCode(err, CodeForbidden) || f.count() != 1 {
		t.Fatalf("%v after %d", err, f.count())
	}
}

func TestProcessPendingAcksWhatWasHandled(t *testing.T) {
	ids := make([]string, 30)
	for i := range ids {
		ids[i] = fmt.Sprintf("evt_%02d", i)
	}
	f := newFakeServer(t, page("c1", ids[:20]...), page(nil, ids[20:]...), bulkEcho(t), bulkEcho(t))
	c := testClient(t, f, &fakeClock{now: time.Unix(1_800_000_000, 0)}, 0)
	boom := errors.New("boom")
	var order []string
	res, err := c.Inbox.ProcessPending(context.Background(), ProcessOptions{InboxParams: InboxParams{Source: "s"}}, func(_ context.Context, ev Event) error {
		order = append(order, ev.EventId)
		if ev.EventId == "evt_03" {
			return boom
		}
		return nil
	})
	var perr *ProcessError
	if !errors.As(err, &perr) || !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if res.Handled != 29 || len(res.Acked) != 29 || len(res.HandlerErrs) != 1 || res.HandlerErrs[0].Event.EventId != "evt_03" || len(order) != 30 {
		t.Fatalf("%+v", res)
	}
	// The first 25 handled were acked after the 26th event (one batch), the other 4 at the end.
	var first, second struct {
		EventIDs []string `json:"event_ids"`
	}
	_ = json.Unmarshal(f.bodyAt()[2], &first)
	_ = json.Unmarshal(f.bodyAt()[3], &second)
	if len(first.EventIDs) != 25 || len(second.EventIDs) != 4 {
		t.Fatalf("ack batches %d and %d", len(first.EventIDs), len(second.EventIDs))
	}
	for _, id := range append(first.EventIDs, second.EventIDs...) {
		if id == "evt_03" {
			t.Fatal("the failed event was acked")
		}
	}
	// MaxEvents bounds a run.
	f = newFakeServer(t, page("c1", ids[:5]...), bulkEcho(t))
	c = testClient(t, f, &fakeClock{now: time.Unix(1_800_000_000, 0)}, 0)
	res, err = c.Inbox.ProcessPending(context.Background(), ProcessOptions{MaxEvents: 3}, func(context.Context, Event) error { return nil })
	if err != nil || res.Handled != 3 || f.count() != 2 {
		t.Fatalf("%+v %v %d", res, err, f.count())
	}
}
