package triggers

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"strconv"
)

// ListParams page a list route (API keys, webhooks): Limit 1-100 (the API's default is 20),
// Cursor the NextCursor of the previous page.
type ListParams struct {
	Limit  int
	Cursor string
}

func (p ListParams) query(cursor string) []QueryPair {
	var q []QueryPair
	if p.Limit > 0 {
		q = append(q, QueryPair{"limit", strconv.Itoa(p.Limit)})
	}
	if cursor != "" {
		q = append(q, QueryPair{"cursor", cursor})
	}
	return q
}

// APIKeysService is /v1/api-keys: the keys of the client's tenant (an admin-scoped key only;
// other keys get a CodeForbidden *Error).
type APIKeysService struct{ c *Client }

// Create is POST /v1/api-keys. The answer carries the secret (and the signing secret of a
// signing key): shown once. Not retried once the request may have reached the server (the
// route takes no idempotency key): after a lost answer, List to see whether it was made.
func (s *APIKeysService) Create(ctx context.Context, params ApiKeyCreate) (*ApiKeyIssued, error) {
	return call[ApiKeyIssued](ctx, s.c, request{method: http.MethodPost, path: "/v1/api-keys", body: params, class: unsafe})
}

// List is one page of GET /v1/api-keys, by key id.
func (s *APIKeysService) List(ctx context.Context, params ListParams) (*ApiKeyList, error) {
	return call[ApiKeyList](ctx, s.c, request{method: http.MethodGet, path: "/v1/api-keys", query: params.query(params.Cursor), class: idempotent})
}

// All iterates over every key of the tenant, page by page (see InboxService.All).
func (s *APIKeysService) All(ctx context.Context, params ListParams) iter.Seq2[ApiKeyOut, error] {
	return paginate(params.Cursor, func(cursor string) ([]ApiKeyOut, *string, error) {
		page, err := call[ApiKeyList](ctx, s.c, request{method: http.MethodGet, path: "/v1/api-keys", query: params.query(cursor), class: idempotent})
		if err != nil {
			return nil, nil, err
		}
		return page.ApiKeys, page.NextCursor, nil
	})
}

// Get is GET /v1/api-keys/{key_id}.
func (s *APIKeysService) Get(ctx context.Context, keyID string) (*ApiKeyOut, error) {
	return call[ApiKeyOut](ctx, s.c, request{method: http.MethodGet, path: "/v1/api-keys/" + pathEscape(keyID), class: idempotent})
}

// APIKeyChanges is the body of PATCH /v1/api-keys/{key_id}: nil fields are left as they are.
// DefaultRateLimit sends "rate_limit": null (back to the stage's default); an empty, non-nil
// AllowedIPs allows every address.
type APIKeyChanges struct {
	Name             *string
	RateLimit        *int
	DefaultRateLimit bool
	AllowedIPs       *[]string
}

// MarshalJSON writes only the fields to change.
func (u APIKeyChanges) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	if u.Name != nil {
		m["name"] = *u.Name
	}
	if u.DefaultRateLimit {
		m["rate_limit"] = nil
	} else if u.RateLimit != nil {
		m["rate_limit"] = *u.RateLimit
	}
	if u.AllowedIPs != nil {
		ips := *u.AllowedIPs
		if ips == nil {
			ips = []string{}
		}
		m["allowed_ips"] = ips
	}
	return json.Marshal(m)
}

// Update is PATCH /v1/api-keys/{key_id}. Not retried once the request may have reached the
// server.
func (s *APIKeysService) Update(ctx context.Context, keyID string, changes APIKeyChanges) (*ApiKeyOut, error) {
	return call[ApiKeyOut](ctx, s.c, request{method: http.MethodPatch, path: "/v1/api-keys/" + pathEscape(keyID), body: changes, class: unsafe})
}

// Rotate is POST /v1/api-keys/{key_id}/rotate: a new secret (and signing secret); the previous
// one keeps working for GracePeriodSeconds (nil: the API's default, 24 h). Not retried once
// the request may have reached the server (a second rotation would end the first's grace).
func (s *APIKeysService) Rotate(ctx context.Context, keyID string, params ApiKeyRotate) (*ApiKeyIssued, error) {
	return call[ApiKeyIssued](ctx, s.c, request{method: http.MethodPost, path: "/v1/api-keys/" + pathEscape(keyID) + "/rotate", body: params, class: unsafe})
}

// Revoke is DELETE /v1/api-keys/{key_id} (204, also for a key revoked before).
func (s *APIKeysService) Revoke(ctx context.Context, keyID string) error {
	_, err := s.c.do(ctx, request{method: http.MethodDelete, path: "/v1/api-keys/" + pathEscape(keyID), class: idempotent})
	return err
}
