package triggers

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The shared vector files the API's own tests read (not copies).
var vectorsDir = filepath.Join("..", "..", "tests", "vectors")

type requestVectors struct {
	ToleranceSeconds int `json:"tolerance_seconds"`
	Sign             []struct {
		Name            string      `json:"name"`
		Secrets         []string    `json:"secrets"`
		Timestamp       string      `json:"timestamp"`
		Method          string      `json:"method"`
		Path            string      `json:"path"`
		Query           [][2]string `json:"query"`
		CanonicalTarget string      `json:"canonical_target"`
		Body            string      `json:"body"`
		Header          string      `json:"header"`
	} `json:"sign"`
	Verify []struct {
		Name      string   `json:"name"`
		Secrets   []string `json:"secrets"`
		Now       int64    `json:"now"`
		Signature *string  `json:"signature"`
		Timestamp *string  `json:"timestamp"`
		Method    string   `json:"method"`
		Target    string   `json:"target"`
		Body      string   `json:"body"`
		Expected  string   `json:"expected"`
	} `json:"verify"`
}

func loadJSON(t *testing.T, name string, out any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(vectorsDir, name))
	if err != nil {
		t.Fatalf("reading the shared vectors: %v", err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatal(err)
	}
}

func TestRequestSigningVectorsSign(t *testing.T) {
	var v requestVectors
	loadJSON(t, "request_signing.json", &v)
	if len(v.Sign) == 0 {
		t.Fatal("no sign vectors")
	}
	for _, tc := range v.Sign {
		t.Run(tc.Name, func(t *testing.T) {
			pairs := make([]QueryPair, len(tc.Query))
			for i, p := range tc.Query {
				pairs[i] = QueryPair{p[0], p[1]}
			}
			target := CanonicalTarget(tc.Path, pairs)
			if target != tc.CanonicalTarget {
				t.Fatalf("target %q, want %q", target, tc.CanonicalTarget)
			}
			secs, err := strconv.ParseInt(tc.Timestamp, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			headers := SignatureHeaders(tc.Secrets, time.Unix(secs, 0), tc.Method, tc.Path, pairs, []byte(tc.Body))
			if headers[HeaderSignature] != tc.Header {
				t.Fatalf("signature %q, want %q", headers[HeaderSignature], tc.Header)
			}
			if headers[HeaderSignatureTimestamp] != tc.Timestamp {
				t.Fatalf("timestamp %q, want %q", headers[HeaderSignatureTimestamp], tc.Timestamp)
			}
		})
	}
}

func TestRequestSigningVectorsVerify(t *testing.T) {
	var v requestVectors
	loadJSON(t, "request_signing.json", &v)
	if len(v.Verify) == 0 {
		t.Fatal("no verify vectors")
	}
	for _, tc := range v.Verify {
		t.Run(tc.Name, func(t *testing.T) {
			deref := func(s *string) string {
				if s == nil {
					return ""
				}
				return *s
			}
			err := VerifyRequestSignature(tc.Secrets, deref(tc.Timestamp), deref(tc.Signature), tc.Method, tc.Target, []byte(tc.Body),
				time.Unix(tc.Now, 0), time.Duration(v.ToleranceSeconds)*time.Second)
			got := "ok"
			if err != nil {
				got = string(ErrorCodeOf(err))
			}
			if got != tc.Expected {
				t.Fatalf("verdict %q, want %q (%v)", got, tc.Expected, err)
			}
		})
	}
}

type webhookVectors struct {
	ToleranceSeconds int `json:"tolerance_seconds"`
	Sign             []struct {
		Name       string   `json:"name"`
		Secrets    []string `json:"secrets"`
		MsgID      string   `json:"msg_id"`
		Timestamp  int64    `json:"timestamp"`
		Body       string   `json:"body"`
		Signatures []string `json:"signatures"`
		Header     string   `json:"header"`
	} `json:"sign"`
}

func deliveryHeader(id string, ts int64, sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", jsonInt(ts))
	h.Set("webhook-signature", sig)
	return h
}

func jsonInt(n int64) string { return strconv.FormatInt(n, 10) }

func TestWebhookVectors(t *testing.T) {
	var v webhookVectors
	loadJSON(t, "webhook_signing.json", &v)
	if len(v.Sign) == 0 {
		t.Fatal("no vectors")
	}
	for _, tc := range v.Sign {
		t.Run(tc.Name, func(t *testing.T) {
			at := func() time.Time { return time.Unix(tc.Timestamp, 0) }
			// The header verifies under each secret alone, and under all of them.
			for _, secret := range tc.Secrets {
				ver, err := NewWebhookVerifier(secret)
				if err != nil {
					t.Fatal(err)
				}
				err = ver.WithClock(at).VerifySignature([]byte(tc.Body), tc.MsgID, jsonInt(tc.Timestamp), tc.Header)
				if err != nil {
					t.Fatalf("secret %s: %v", secret, err)
				}
			}
			// Our signer reproduces the vector's header exactly.
			header, err := SignWebhook(tc.Secrets, tc.MsgID, tc.Timestamp, []byte(tc.Body))
			if err != nil {
				t.Fatal(err)
			}
			if header != tc.Header {
				t.Fatalf("signed %q, want %q", header, tc.Header)
			}
			// A changed byte, id or timestamp fails.
			ver, _ := NewWebhookVerifier(tc.Secrets...)
			ver = ver.WithClock(at)
			if err := ver.VerifySignature([]byte(tc.Body+" "), tc.MsgID, jsonInt(tc.Timestamp), tc.Header); !errors.Is(err, ErrWebhookNoMatch) {
				t.Fatalf("tampered body: %v", err)
			}
			if err := ver.VerifySignature([]byte(tc.Body), tc.MsgID+"x", jsonInt(tc.Timestamp), tc.Header); !errors.Is(err, ErrWebhookNoMatch) {
				t.Fatalf("other id: %v", err)
			}
			// Outside the tolerance, either way.
			tol := int64(v.ToleranceSeconds)
			late := ver.WithClock(func() time.Time { return time.Unix(tc.Timestamp+tol+1, 0) })
			if err := late.VerifySignature([]byte(tc.Body), tc.MsgID, jsonInt(tc.Timestamp), tc.Header); !errors.Is(err, ErrWebhookTooOld) {
				t.Fatalf("late: %v", err)
			}
			early := ver.WithClock(func() time.Time { return time.Unix(tc.Timestamp-tol-1, 0) })
			if err := early.VerifySignature([]byte(tc.Body), tc.MsgID, jsonInt(tc.Timestamp), tc.Header); !errors.Is(err, ErrWebhookTooNew) {
				t.Fatalf("early: %v", err)
			}
			edge := ver.WithClock(func() time.Time { return time.Unix(tc.Timestamp+tol, 0) })
			if err := edge.VerifySignature([]byte(tc.Body), tc.MsgID, jsonInt(tc.Timestamp), tc.Header); err != nil {
				t.Fatalf("at the tolerance: %v", err)
			}
		})
	}
}

// Messages signed by the Standard Webhooks reference library verify with ours, and ours with it.
func TestWebhookAgainstReferenceLibrary(t *testing.T) {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	ref, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := NewWebhookVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	bodies := []string{
		`{"type":"invoice.paid","timestamp":"2026-11-30T21:00:00.000Z","data":{"event_id":"evt_01JD8ZK3ABCDEFGHJKMNPQRSTV","source":"billing","event_type":"invoice.paid","payload":{"amount":4200},"metadata":{"priority":"normal"},"status":"pending","created_at":"2026-11-30T21:00:00.000Z","acknowledged_at":null,"idempotency_key":null}}`,
		`{"type":"webhook.test","timestamp":"2026-11-30T21:00:00.000Z","data":{"webhook_id":"wh_1","message":"A test delivery from Triggers API."}}`,
		`{"type":"note.created","timestamp":"2026-11-30T21:00:00.000Z","data":{"text":"Grüße, 東京 🚀"}}`,
	}
	now := time.Now()
	for i, body := range bodies {
		id := "msg_" + jsonInt(int64(i))
		// reference -> ours
		sig, err := ref.Sign(id, now, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		p, err := ours.Verify([]byte(body), deliveryHeader(id, now.Unix(), sig))
		if err != nil {
			t.Fatalf("ours rejected the reference's signature: %v", err)
		}
		if p.MessageID != id || p.Type == "" {
			t.Fatalf("payload %+v", p)
		}
		// ours -> reference
		mine, err := SignWebhook([]string{secret}, id, now.Unix(), []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if mine != sig {
			t.Fatalf("signatures differ: %q vs %q", mine, sig)
		}
		if err := ref.Verify([]byte(body), deliveryHeader(id, now.Unix(), mine)); err != nil {
			t.Fatalf("the reference rejected ours: %v", err)
		}
		// Both reject a tampered body.
		tampered := []byte(strings.Replace(body, "webhook", "webh00k", 1) + " ")
		if ref.Verify(tampered, deliveryHeader(id, now.Unix(), mine)) == nil {
			t.Fatal("reference accepted a tampered body")
		}
		if _, err := ours.Verify(tampered, deliveryHeader(id, now.Unix(), mine)); err == nil {
			t.Fatal("ours accepted a tampered body")
		}
		// Both reject a stale timestamp (10 minutes old), signed correctly.
		old := now.Add(-10 * time.Minute)
		stale, _ := ref.Sign(id, old, []byte(body))
		if ref.Verify([]byte(body), deliveryHeader(id, old.Unix(), stale)) == nil {
			t.Fatal("reference accepted a stale timestamp")
		}
		if _, err := ours.Verify([]byte(body), deliveryHeader(id, old.Unix(), stale)); !errors.Is(err, ErrWebhookTooOld) {
			t.Fatalf("ours: %v", err)
		}
	}
}

func TestWebhookPayloadAndErrors(t *testing.T) {
	secret := "whsec_GcXNfr2tR249G+kXMTg5b6CttvpEwhsUekwqFIDKSg4="
	ver, err := NewWebhookVerifier("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", secret)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"invoice.paid","timestamp":"2026-11-30T21:00:00.000Z","data":{"event_id":"evt_1","source":"billing","event_type":"invoice.paid","payload":{"amount":4200},"metadata":{"priority":"high","team":"payments"},"status":"pending","created_at":"2026-11-30T21:00:00.000Z","acknowledged_at":null,"idempotency_key":null}}`)
	now := time.Now().Unix()
	sig, _ := SignWebhook([]string{secret}, "msg_1", now, body)
	p, err := ver.Verify(body, deliveryHeader("msg_1", now, sig))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := p.Event()
	if err != nil {
		t.Fatal(err)
	}
	if team, _ := ev.Metadata.Get("team"); ev.EventId != "evt_1" || ev.Payload["amount"] != float64(4200) || team != "payments" || *ev.Metadata.Priority != "high" {
		t.Fatalf("event %+v", ev)
	}
	var vErr *WebhookVerificationError
	if _, err := ver.Verify(body, http.Header{}); !errors.As(err, &vErr) || !errors.Is(err, ErrWebhookMissingHeaders) {
		t.Fatalf("missing headers: %v", err)
	}
	if _, err := ver.Verify(body, deliveryHeader("msg_1", now, "v2,"+strings.TrimPrefix(sig, "v1,"))); !errors.Is(err, ErrWebhookNoMatch) {
		t.Fatalf("unknown version: %v", err)
	}
	h := deliveryHeader("msg_1", now, sig)
	h.Set("webhook-timestamp", "12.5")
	if _, err := ver.Verify(body, h); !errors.Is(err, ErrWebhookBadTimestamp) {
		t.Fatalf("bad timestamp: %v", err)
	}
	if _, err := NewWebhookVerifier("whsec_!!!"); err == nil {
		t.Fatal("a malformed secret was accepted")
	}
	testBody := []byte(`{"type":"webhook.test","timestamp":"2026-11-30T21:00:00.000Z","data":{"webhook_id":"wh_1","message":"hi"}}`)
	sig, _ = SignWebhook([]string{secret}, "msg_2", now, testBody)
	p, err = ver.Verify(testBody, deliveryHeader("msg_2", now, sig))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Event(); err == nil {
		t.Fatal("a test delivery decoded as an event")
	}
}
