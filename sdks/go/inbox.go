package triggers

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"sort"
	"strconv"
	"time"
)

// InboxParams are the filters of GET /v1/inbox (all ANDed; zero values are not sent).
type InboxParams struct {
	Limit         int               // page size, 1-100 (the API's default is 50)
	Cursor        string            // NextCursor of the previous page (List only)
	Source        string            // exact source
	EventType     string            // exact event type
	CreatedAfter  time.Time         // exclusive
	CreatedBefore time.Time         // exclusive
	Priority      string            // "low", "normal" or "high"
	Metadata      map[string]string // metadata.<key>=<value>, exact, at most 20
}

func (p InboxParams) query(cursor string) []QueryPair {
	var q []QueryPair
	if p.Limit > 0 {
		q = append(q, QueryPair{"limit", strconv.Itoa(p.Limit)})
	}
	if cursor != "" {
		q = append(q, QueryPair{"cursor", cursor})
	}
	if p.Source != "" {
		q = append(q, QueryPair{"source", p.Source})
	}
	if p.EventType != "" {
		q = append(q, QueryPair{"event_type", p.EventType})
	}
	if !p.CreatedAfter.IsZero() {
		q = append(q, QueryPair{"created_after", formatTime(p.CreatedAfter)})
	}
	if !p.CreatedBefore.IsZero() {
		q = append(q, QueryPair{"created_before", formatTime(p.CreatedBefore)})
	}
	if p.Priority != "" {
		q = append(q, QueryPair{"priority", p.Priority})
	}
	keys := make([]string, 0, len(p.Metadata))
	for k := range p.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q = append(q, QueryPair{"metadata." + k, p.Metadata[k]})
	}
	return q
}

// InboxService is GET /v1/inbox: the tenant's pending events, oldest first.
type InboxService struct{ c *Client }

// List fetches one page. A short page with a NextCursor means "keep going" (filters that are
// not key conditions stop a page early); a nil NextCursor means the pass is done.
func (s *InboxService) List(ctx context.Context, params InboxParams) (*InboxPage, error) {
	return call[InboxPage](ctx, s.c, request{method: http.MethodGet, path: "/v1/inbox", query: params.query(params.Cursor), class: idempotent})
}

// All iterates over every pending event matching params, fetching pages as it goes (one pass:
// from the first page to next_cursor null; params.Cursor, if set, is where it starts). An
// error ends the iteration after yielding it once; breaking out of the loop stops paging.
//
//	for ev, err := range client.Inbox.All(ctx, triggers.InboxParams{Source: "billing"}) {
//		if err != nil { return err }
//		...
//	}
func (s *InboxService) All(ctx context.Context, params InboxParams) iter.Seq2[Event, error] {
	return paginate(params.Cursor, func(cursor string) ([]Event, *string, error) {
		page, err := call[InboxPage](ctx, s.c, request{method: http.MethodGet, path: "/v1/inbox", query: params.query(cursor), class: idempotent})
		if err != nil {
			return nil, nil, err
		}
		return page.Events, page.NextCursor, nil
	})
}

// paginate walks cursor pages.
func paginate[T any](cursor string, fetch func(cursor string) ([]T, *string, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			items, next, err := fetch(cursor)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range items {
				if !yield(item, nil) {
					return
				}
			}
			if next == nil || *next == "" {
				return
			}
			cursor = *next
		}
	}
}

// ProcessOptions bound ProcessPending.
type ProcessOptions struct {
	InboxParams     // which pending events (Cursor is ignored)
	MaxEvents   int // stop after handling this many (0: the whole pass)
}

// HandlerFailure is an event the handler refused: it stays pending.
type HandlerFailure struct {
	Event Event
	Err   error
}

// ProcessResult reports a ProcessPending run.
type ProcessResult struct {
	Handled     int              // events the handler accepted
	Acked       []string         // ids acknowledged
	HandlerErrs []HandlerFailure // events whose handler returned an error (left pending)
	AckFailed   []AckFailure     // handled events whose ack failed (they stay pending)
}

// AckFailure is a handled event whose acknowledgement failed.
type AckFailure struct {
	EventID string
	Error   BulkItemError
}

// ProcessError is ProcessPending's error when some events were not processed: handler errors
// and failed acks. The events involved stay pending (and come back in a later pass).
type ProcessError struct{ Result *ProcessResult }

func (e *ProcessError) Error() string {
	return fmt.Sprintf("triggers: %d handler error(s), %d failed ack(s)", len(e.Result.HandlerErrs), len(e.Result.AckFailed))
}

// Unwrap returns the handlers' errors, for errors.Is / errors.As.
func (e *ProcessError) Unwrap() []error {
	out := make([]error, 0, len(e.Result.HandlerErrs))
	for _, f := range e.Result.HandlerErrs {
		out = append(out, f.Err)
	}
	return out
}

// ProcessPending is "poll, handle, ack": it walks one pass of the pending events matching
// opts, calls handle for each (in order, on this goroutine), and acknowledges the events
// handled without error in bulk, 25 per request, as they accumulate. An event whose handler
// returns an error (or panics: the panic is re-raised after the events handled so far are
// acknowledged) is not acknowledged: it stays in the inbox and is reported in the result.
// The error is a *ProcessError when any handler or ack failed, or the listing's error.
func (s *InboxService) ProcessPending(ctx context.Context, opts ProcessOptions, handle func(context.Context, Event) error) (res *ProcessResult, err error) {
	res = &ProcessResult{Acked: []string{}}
	var pending []string
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		acks, aerr := s.c.Events.AckMany(ctx, pending)
		if acks != nil {
			for _, a := range acks.Successful {
				res.Acked = append(res.Acked, a.Event.EventId)
			}
			for _, f := range acks.Failed {
				res.AckFailed = append(res.AckFailed, AckFailure{EventID: pending[f.Index], Error: f.Error})
			}
		}
		pending = pending[:0]
		return aerr
	}
	defer func() {
		if p := recover(); p != nil {
			_ = flush()
			panic(p)
		}
	}()
	params := opts.InboxParams
	params.Cursor = ""
	seen := 0
	for ev, lerr := range s.All(ctx, params) {
		if lerr != nil {
			if ferr := flush(); ferr != nil {
				return res, errors.Join(lerr, ferr)
			}
			return res, lerr
		}
		if opts.MaxEvents > 0 && seen >= opts.MaxEvents {
			break
		}
		seen++
		if herr := handle(ctx, ev); herr != nil {
			res.HandlerErrs = append(res.HandlerErrs, HandlerFailure{Event: ev, Err: herr})
			continue
		}
		res.Handled++
		pending = append(pending, ev.EventId)
		if len(pending) == BulkBatchSize {
			if ferr := flush(); ferr != nil {
				return res, ferr
			}
		}
	}
	if ferr := flush(); ferr != nil {
		return res, ferr
	}
	if len(res.HandlerErrs) > 0 || len(res.AckFailed) > 0 {
		return res, &ProcessError{Result: res}
	}
	return res, nil
}
