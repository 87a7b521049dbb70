package triggers

import (
	"context"
	"errors"
	"net/http"
)

// BulkBatchSize is the most items one bulk request takes; the bulk helpers split larger inputs.
const BulkBatchSize = 25

// CodeRequestFailed is the per-item code the bulk helpers give every item of a batch whose
// whole request failed (a network error, or an API error after the retries): the item's
// Message says why. Such items may be retried (creates are deduplicated by their keys).
const CodeRequestFailed BulkItemErrorCode = "request_failed"

// EventsService is /v1/events: create, get, acknowledge, delete, and their bulk forms.
type EventsService struct{ c *Client }

// Create is POST /v1/events. The call carries an Idempotency-Key: params.IdempotencyKey when
// set, else a random UUID the SDK generates; every retry of the call reuses it, so a retry
// never creates a second event. A create whose key was used before with the same body answers
// the original event (ResponseMeta.Replayed, see CaptureResponse).
func (s *EventsService) Create(ctx context.Context, params EventCreate) (*Event, error) {
	key := ""
	if params.IdempotencyKey != nil {
		key = *params.IdempotencyKey
	} else {
		key = s.c.newKey()
	}
	return call[Event](ctx, s.c, request{
		method: http.MethodPost, path: "/v1/events", body: params,
		header: map[string]string{"Idempotency-Key": key}, class: idempotent,
	})
}

// Get is GET /v1/events/{id}; an unknown id (or another tenant's) is a CodeNotFound *Error.
func (s *EventsService) Get(ctx context.Context, eventID string) (*Event, error) {
	return call[Event](ctx, s.c, request{method: http.MethodGet, path: "/v1/events/" + pathEscape(eventID), class: idempotent})
}

// Ack is POST /v1/events/{id}/ack and answers the acknowledged event. Acknowledging an event
// acknowledged before is a CodeAlreadyAcknowledged *Error, except when this call's own earlier
// attempt landed (its answer was lost and the call was retried): then the event is read and
// returned as acknowledged, since this call did acknowledge it.
func (s *EventsService) Ack(ctx context.Context, eventID string) (*Event, error) {
	path := "/v1/events/" + pathEscape(eventID)
	return call[Event](ctx, s.c, request{
		method: http.MethodPost, path: path + "/ack", class: idempotent,
		converge: func(ctx context.Context, e *Error) (*response, bool, error) {
			if e.Code != CodeAlreadyAcknowledged {
				return nil, false, nil
			}
			resp, err := s.c.do(ctx, request{method: http.MethodGet, path: path, class: idempotent})
			return resp, true, err
		},
	})
}

// Delete is DELETE /v1/events/{id} (pending or acknowledged). A second delete is a
// CodeNotFound *Error, except when this call's own earlier attempt landed and the call was
// retried: then the 404 means the call succeeded, and Delete returns nil.
func (s *EventsService) Delete(ctx context.Context, eventID string) error {
	_, err := s.c.do(ctx, request{
		method: http.MethodDelete, path: "/v1/events/" + pathEscape(eventID), class: idempotent,
		converge: func(_ context.Context, e *Error) (*response, bool, error) {
			if e.Code != CodeNotFound {
				return nil, false, nil
			}
			return &response{status: http.StatusNoContent, header: e.Header}, true, nil
		},
	})
	return err
}

// BulkResults merges the per-item results of every batch of a bulk helper (CreateMany,
// AckMany, DeleteMany). Indexes are positions in the caller's slice; both lists are in index
// order.
type BulkResults[S any] struct {
	Successful []S
	Failed     []BulkItemFailure
	RequestIDs []string // one per batch request that was answered
}

// BulkCreateResults are CreateMany's results.
type BulkCreateResults = BulkResults[BulkCreated]

// BulkAckResults are AckMany's results.
type BulkAckResults = BulkResults[BulkAcked]

// BulkDeleteResults are DeleteMany's results.
type BulkDeleteResults = BulkResults[BulkDeleted]

// batchAnswer is what one batch request answered: its successes and failures (indexes within
// the batch) and its request id.
type batchAnswer[S any] struct {
	successful []S
	failed     []BulkItemFailure
	requestID  string
}

// inBatches calls send for [0, n) in batches of BulkBatchSize, in order, and merges the
// answers: indexes shifted back into the caller's slice (index points at a success's Index),
// a batch whose request failed after its retries as one CodeRequestFailed failure per item
// (the next batches still run). A fatal error stops it, with the batches done so far.
func inBatches[S any](n int, send func(start, end int) (batchAnswer[S], error), index func(*S) *int) (*BulkResults[S], error) {
	out := &BulkResults[S]{Successful: []S{}, Failed: []BulkItemFailure{}}
	for start := 0; start < n; start += BulkBatchSize {
		end := min(start+BulkBatchSize, n)
		answer, err := send(start, end)
		if err != nil {
			if fatal(err) {
				return out, err
			}
			out.Failed = append(out.Failed, batchFailure(start, end, err)...)
			continue
		}
		out.RequestIDs = append(out.RequestIDs, answer.requestID)
		for _, ok := range answer.successful {
			*index(&ok) += start
			out.Successful = append(out.Successful, ok)
		}
		for _, f := range answer.failed {
			f.Index += start
			out.Failed = append(out.Failed, f)
		}
	}
	return out, nil
}

// batchFailure is every item of [start, end) failed with err.
func batchFailure(start, end int, err error) []BulkItemFailure {
	out := make([]BulkItemFailure, 0, end-start)
	for i := start; i < end; i++ {
		out = append(out, BulkItemFailure{Index: i, Error: BulkItemError{Code: CodeRequestFailed, Message: err.Error(), Details: []ErrorDetail{}}})
	}
	return out
}

// fatal errors stop a bulk helper: the caller's context is done, or the key may not do this.
func fatal(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		var ne *NetworkError
		return !errors.As(err, &ne)
	}
	switch ErrorCodeOf(err) {
	case CodeUnauthorized, CodeForbidden, CodeIPNotAllowed, CodeSignatureInvalid, CodeSignatureExpired:
		return true
	}
	return false
}

// CreateMany creates any number of events with POST /v1/events/bulk, 25 per request, in
// order, and merges the per-item results with indexes into items. Every item without an
// IdempotencyKey gets a generated one (the caller's slice is not changed), so a retried batch
// never duplicates an event. A batch whose request fails after its retries has each of its
// items in Failed with CodeRequestFailed, and the next batches still run. The error is non-nil
// only when the run stopped early (the context ended, or the key is refused): the results then
// hold the batches done.
func (s *EventsService) CreateMany(ctx context.Context, items []EventCreate) (*BulkCreateResults, error) {
	send := func(start, end int) (batchAnswer[BulkCreated], error) {
		batch := make([]EventCreate, end-start)
		copy(batch, items[start:end])
		for i := range batch {
			if batch[i].IdempotencyKey == nil {
				key := s.c.newKey()
				batch[i].IdempotencyKey = &key
			}
		}
		res, err := call[BulkCreateResult](ctx, s.c, request{
			method: http.MethodPost, path: "/v1/events/bulk", body: BulkCreateRequest{Items: batch}, class: idempotent,
		})
		if err != nil {
			return batchAnswer[BulkCreated]{}, err
		}
		return batchAnswer[BulkCreated]{res.Successful, res.Failed, res.RequestId}, nil
	}
	return inBatches(len(items), send, func(c *BulkCreated) *int { return &c.Index })
}

// AckMany acknowledges any number of events with POST /v1/events/bulk/ack, 25 per request,
// merging the results as CreateMany does. A batch retried after its first attempt may have
// landed reports the events that attempt acknowledged as already_acknowledged failures.
func (s *EventsService) AckMany(ctx context.Context, eventIDs []string) (*BulkAckResults, error) {
	send := func(start, end int) (batchAnswer[BulkAcked], error) {
		res, err := call[BulkAckResult](ctx, s.c, request{
			method: http.MethodPost, path: "/v1/events/bulk/ack", body: BulkEventIds{EventIds: eventIDs[start:end]}, class: idempotent,
		})
		if err != nil {
			return batchAnswer[BulkAcked]{}, err
		}
		return batchAnswer[BulkAcked]{res.Successful, res.Failed, res.RequestId}, nil
	}
	return inBatches(len(eventIDs), send, func(a *BulkAcked) *int { return &a.Index })
}

// DeleteMany deletes any number of events with DELETE /v1/events/bulk, 25 per request, merging
// the results as CreateMany does. A batch retried after its first attempt may have landed
// reports the events that attempt deleted as not_found failures.
func (s *EventsService) DeleteMany(ctx context.Context, eventIDs []string) (*BulkDeleteResults, error) {
	send := func(start, end int) (batchAnswer[BulkDeleted], error) {
		res, err := call[BulkDeleteResult](ctx, s.c, request{
			method: http.MethodDelete, path: "/v1/events/bulk", body: BulkEventIds{EventIds: eventIDs[start:end]}, class: idempotent,
		})
		if err != nil {
			return batchAnswer[BulkDeleted]{}, err
		}
		return batchAnswer[BulkDeleted]{res.Successful, res.Failed, res.RequestId}, nil
	}
	return inBatches(len(eventIDs), send, func(d *BulkDeleted) *int { return &d.Index })
}
