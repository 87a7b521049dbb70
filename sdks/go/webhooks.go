package triggers

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
)

// WebhooksService is /v1/webhooks: push delivery endpoints of the client's tenant (an
// admin-scoped key only).
type WebhooksService struct{ c *Client }

// Create is POST /v1/webhooks. The answer carries the endpoint's signing secret ("whsec_..."),
// shown only here and by RotateSecret. Not retried once the request may have reached the
// server: after a lost answer, List to see whether it was made.
func (s *WebhooksService) Create(ctx context.Context, params WebhookCreate) (*WebhookIssued, error) {
	return call[WebhookIssued](ctx, s.c, request{method: http.MethodPost, path: "/v1/webhooks", body: params, class: unsafe})
}

// List is one page of GET /v1/webhooks.
func (s *WebhooksService) List(ctx context.Context, params ListParams) (*WebhookList, error) {
	return call[WebhookList](ctx, s.c, request{method: http.MethodGet, path: "/v1/webhooks", query: params.query(params.Cursor), class: idempotent})
}

// All iterates over every webhook of the tenant (see InboxService.All).
func (s *WebhooksService) All(ctx context.Context, params ListParams) iter.Seq2[WebhookOut, error] {
	return paginate(params.Cursor, func(cursor string) ([]WebhookOut, *string, error) {
		page, err := call[WebhookList](ctx, s.c, request{method: http.MethodGet, path: "/v1/webhooks", query: params.query(cursor), class: idempotent})
		if err != nil {
			return nil, nil, err
		}
		return page.Webhooks, page.NextCursor, nil
	})
}

// Get is GET /v1/webhooks/{webhook_id}.
func (s *WebhooksService) Get(ctx context.Context, webhookID string) (*WebhookOut, error) {
	return call[WebhookOut](ctx, s.c, request{method: http.MethodGet, path: "/v1/webhooks/" + pathEscape(webhookID), class: idempotent})
}

// WebhookChanges is the body of PATCH /v1/webhooks/{webhook_id}: nil fields are left as they
// are; NoRateLimit sends "rate_limit_per_second": null (no limit). Status "active" re-enables
// a paused or disabled endpoint.
type WebhookChanges struct {
	URL                *string
	EventTypes         *[]string
	Sources            *[]string
	Description        *string
	RateLimitPerSecond *int
	NoRateLimit        bool
	Status             *WebhookUpdateStatus
}

// MarshalJSON writes only the fields to change.
func (u WebhookChanges) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	if u.URL != nil {
		m["url"] = *u.URL
	}
	for name, list := range map[string]*[]string{"event_types": u.EventTypes, "sources": u.Sources} {
		if list != nil {
			l := *list
			if l == nil {
				l = []string{}
			}
			m[name] = l
		}
	}
	if u.Description != nil {
		m["description"] = *u.Description
	}
	if u.NoRateLimit {
		m["rate_limit_per_second"] = nil
	} else if u.RateLimitPerSecond != nil {
		m["rate_limit_per_second"] = *u.RateLimitPerSecond
	}
	if u.Status != nil {
		m["status"] = *u.Status
	}
	return json.Marshal(m)
}

// Update is PATCH /v1/webhooks/{webhook_id}. Not retried once the request may have reached the
// server.
func (s *WebhooksService) Update(ctx context.Context, webhookID string, changes WebhookChanges) (*WebhookOut, error) {
	return call[WebhookOut](ctx, s.c, request{method: http.MethodPatch, path: "/v1/webhooks/" + pathEscape(webhookID), body: changes, class: unsafe})
}

// Delete is DELETE /v1/webhooks/{webhook_id}. A retry whose earlier attempt landed answers
// nil (the 404 of the repeat means it is gone).
func (s *WebhooksService) Delete(ctx context.Context, webhookID string) error {
	_, err := s.c.do(ctx, request{
		method: http.MethodDelete, path: "/v1/webhooks/" + pathEscape(webhookID), class: idempotent,
		converge: func(_ context.Context, e *Error) (*response, bool, error) {
			if e.Code != CodeNotFound {
				return nil, false, nil
			}
			return &response{status: http.StatusNoContent, header: e.Header}, true, nil
		},
	})
	return err
}

// RotateSecret is POST /v1/webhooks/{webhook_id}/rotate-secret: a new signing secret; the old
// one keeps signing beside it for GracePeriodSeconds (nil: 24 h). Not retried once the request
// may have reached the server.
func (s *WebhooksService) RotateSecret(ctx context.Context, webhookID string, params WebhookRotate) (*WebhookSecretRotated, error) {
	return call[WebhookSecretRotated](ctx, s.c, request{method: http.MethodPost, path: "/v1/webhooks/" + pathEscape(webhookID) + "/rotate-secret", body: params, class: unsafe})
}

// Test is POST /v1/webhooks/{webhook_id}/test: queues a webhook.test delivery and answers it.
// Not retried once the request may have reached the server.
func (s *WebhooksService) Test(ctx context.Context, webhookID string) (*DeliveryOut, error) {
	return call[DeliveryOut](ctx, s.c, request{method: http.MethodPost, path: "/v1/webhooks/" + pathEscape(webhookID) + "/test", class: unsafe})
}

// Replay is POST /v1/webhooks/{webhook_id}/replay: queues a new delivery of every matching
// event created in [Since, Until]. Not retried once the request may have reached the server.
func (s *WebhooksService) Replay(ctx context.Context, webhookID string, params WebhookReplay) (*ReplayAccepted, error) {
	return call[ReplayAccepted](ctx, s.c, request{method: http.MethodPost, path: "/v1/webhooks/" + pathEscape(webhookID) + "/replay", body: params, class: unsafe})
}

// DeliveryParams filter and page GET /v1/webhooks/{webhook_id}/deliveries.
type DeliveryParams struct {
	Status string // "pending", "succeeded" or "failed"; empty: all
	Limit  int
	Cursor string
}

func (p DeliveryParams) query(cursor string) []QueryPair {
	q := ListParams{Limit: p.Limit}.query(cursor)
	if p.Status != "" {
		q = append(q, QueryPair{"status", p.Status})
	}
	return q
}

// Deliveries is one page of the deliveries log, newest first.
func (s *WebhooksService) Deliveries(ctx context.Context, webhookID string, params DeliveryParams) (*DeliveryList, error) {
	return call[DeliveryList](ctx, s.c, request{method: http.MethodGet, path: "/v1/webhooks/" + pathEscape(webhookID) + "/deliveries", query: params.query(params.Cursor), class: idempotent})
}

// AllDeliveries iterates over the whole deliveries log (see InboxService.All).
func (s *WebhooksService) AllDeliveries(ctx context.Context, webhookID string, params DeliveryParams) iter.Seq2[DeliveryOut, error] {
	return paginate(params.Cursor, func(cursor string) ([]DeliveryOut, *string, error) {
		page, err := call[DeliveryList](ctx, s.c, request{method: http.MethodGet, path: "/v1/webhooks/" + pathEscape(webhookID) + "/deliveries", query: params.query(cursor), class: idempotent})
		if err != nil {
			return nil, nil, err
		}
		return page.Deliveries, page.NextCursor, nil
	})
}
