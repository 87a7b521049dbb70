package triggers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks headers of a delivery.
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// DefaultWebhookTolerance is how far a delivery's webhook-timestamp may be from the receiver's
// clock, either way.
const DefaultWebhookTolerance = 5 * time.Minute

// WebhookTestType is the type of the delivery POST /v1/webhooks/{id}/test sends.
const WebhookTestType = "webhook.test"

// Verification failures of WebhookVerifier.Verify (wrapped in a *WebhookVerificationError).
var (
	ErrWebhookMissingHeaders = errors.New("missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrWebhookBadTimestamp   = errors.New("webhook-timestamp is not an integer")
	ErrWebhookTooOld         = errors.New("webhook-timestamp is too old")
	ErrWebhookTooNew         = errors.New("webhook-timestamp is too far in the future")
	ErrWebhookNoMatch        = errors.New("no signature matches")
	ErrWebhookBadPayload     = errors.New("the verified body is not a delivery document")
)

// WebhookVerificationError is why a delivery was rejected: answer it with a 400.
type WebhookVerificationError struct{ Err error }

func (e *WebhookVerificationError) Error() string {
	return "triggers: webhook verification failed: " + e.Err.Error()
}
func (e *WebhookVerificationError) Unwrap() error { return e.Err }

// WebhookPayload is the body of a delivery: {"type", "timestamp", "data"}. For an event, Data
// is the event exactly as GET /v1/events/{id} answers it (see Event); for a test delivery
// (Type == WebhookTestType) it is {"webhook_id", "message"}.
type WebhookPayload struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
	// MessageID is the webhook-id header: the same on every retry of one delivery, so a
	// receiver can drop duplicates with it.
	MessageID string `json:"-"`
}

// Event decodes Data as an event; it fails for a test delivery.
func (p *WebhookPayload) Event() (*Event, error) {
	if p.Type == WebhookTestType {
		return nil, fmt.Errorf("triggers: a %s delivery carries no event", WebhookTestType)
	}
	var ev Event
	if err := json.Unmarshal(p.Data, &ev); err != nil {
		return nil, fmt.Errorf("triggers: decoding the delivery's event: %w", err)
	}
	return &ev, nil
}

// WebhookVerifier verifies deliveries per Standard Webhooks against one or more endpoint
// secrets ("whsec_..."; several during a rotation). It is safe for concurrent use.
type WebhookVerifier struct {
	keys      [][]byte
	tolerance time.Duration
	now       func() time.Time
}

// NewWebhookVerifier makes a verifier for the given secrets (from webhook create or
// rotate-secret), with a 5-minute timestamp tolerance.
func NewWebhookVerifier(secrets ...string) (*WebhookVerifier, error) {
	if len(secrets) == 0 {
		return nil, errors.New("triggers: NewWebhookVerifier needs at least one secret")
	}
	v := &WebhookVerifier{tolerance: DefaultWebhookTolerance, now: time.Now}
	for _, s := range secrets {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil || len(raw) == 0 {
			return nil, fmt.Errorf("triggers: a webhook secret is whsec_ followed by base64: %w", err)
		}
		v.keys = append(v.keys, raw)
	}
	return v, nil
}

// WithTolerance returns a copy of v accepting timestamps within d of its clock.
func (v *WebhookVerifier) WithTolerance(d time.Duration) *WebhookVerifier {
	c := *v
	c.tolerance = d
	return &c
}

// WithClock returns a copy of v reading the time from now (for tests).
func (v *WebhookVerifier) WithClock(now func() time.Time) *WebhookVerifier {
	c := *v
	c.now = now
	return &c
}

// Verify checks the raw body bytes (as received, before any JSON parsing) against the
// delivery's headers and returns the parsed payload. Any failure is a
// *WebhookVerificationError. Header names are matched case-insensitively.
func (v *WebhookVerifier) Verify(body []byte, header http.Header) (*WebhookPayload, error) {
	if err := v.VerifySignature(body, header.Get(HeaderWebhookID), header.Get(HeaderWebhookTimestamp), header.Get(HeaderWebhookSignature)); err != nil {
		return nil, err
	}
	var p WebhookPayload
	if err := json.Unmarshal(body, &p); err != nil || p.Type == "" {
		return nil, &WebhookVerificationError{Err: ErrWebhookBadPayload}
	}
	p.MessageID = header.Get(HeaderWebhookID)
	return &p, nil
}

// VerifySignature checks the three header values against body without parsing it.
func (v *WebhookVerifier) VerifySignature(body []byte, msgID, timestamp, signature string) error {
	if msgID == "" || timestamp == "" || signature == "" {
		return &WebhookVerificationError{Err: ErrWebhookMissingHeaders}
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return &WebhookVerificationError{Err: ErrWebhookBadTimestamp}
	}
	now := v.now().Unix()
	tol := int64(v.tolerance / time.Second)
	if now-ts > tol {
		return &WebhookVerificationError{Err: ErrWebhookTooOld}
	}
	if ts-now > tol {
		return &WebhookVerificationError{Err: ErrWebhookTooNew}
	}
	content := make([]byte, 0, len(msgID)+len(timestamp)+2+len(body))
	content = append(content, msgID...)
	content = append(content, '.')
	content = append(content, timestamp...)
	content = append(content, '.')
	content = append(content, body...)
	for _, key := range v.keys {
		mac := hmac.New(sha256.New, key)
		mac.Write(content)
		expected := mac.Sum(nil)
		for _, entry := range strings.Fields(signature) {
			version, sig, ok := strings.Cut(entry, ",")
			if !ok || version != "v1" {
				continue
			}
			given, err := base64.StdEncoding.DecodeString(sig)
			if err != nil {
				continue
			}
			if hmac.Equal(expected, given) {
				return nil
			}
		}
	}
	return &WebhookVerificationError{Err: ErrWebhookNoMatch}
}

// SignWebhook computes a webhook-signature header value ("v1,<base64>", one per secret,
// space-separated) for msgID, timestamp and body, as the API's delivery worker does. Useful to
// test a receiver.
func SignWebhook(secrets []string, msgID string, timestamp int64, body []byte) (string, error) {
	parts := make([]string, 0, len(secrets))
	content := fmt.Sprintf("%s.%d.", msgID, timestamp)
	for _, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil {
			return "", fmt.Errorf("triggers: a webhook secret is whsec_ followed by base64: %w", err)
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(content))
		mac.Write(body)
		parts = append(parts, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(parts, " "), nil
}
