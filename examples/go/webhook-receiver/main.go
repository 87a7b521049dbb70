// Webhook-receiver is an endpoint for push deliveries that verifies every request's Standard
// Webhooks signature (webhook-id, webhook-timestamp, webhook-signature) against the raw body
// before reading it, answers 400 to anything that does not verify, and drops duplicate
// deliveries by webhook-id. It prints one JSON line per request.
//
// With -register-source it registers itself: it creates a webhook for that source pointing at
// its own address (an admin key is needed), uses the secret from the answer, and deletes the
// webhook when it exits. Otherwise give the endpoint's secret in WEBHOOK_SECRET.
//
//	go run ./webhook-receiver -addr 127.0.0.1:9000 -register-source billing
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/triggers-api/triggers-api/examples/go/internal/env"
	triggers "github.com/triggers-api/triggers-api/sdks/go"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "listen address (port 0: any free port)")
	register := flag.String("register-source", "", "create a webhook for this source pointing here (deleted on exit)")
	max := flag.Int("max", 0, "exit after this many verified deliveries (0: run until interrupted)")
	flag.Parse()
	if err := run(*addr, *register, *max); err != nil {
		fmt.Fprintln(os.Stderr, "webhook-receiver:", err)
		os.Exit(1)
	}
}

func run(addr, register string, max int) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String() + "/hooks"
	out := json.NewEncoder(os.Stdout)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	secret := os.Getenv("WEBHOOK_SECRET")
	if register != "" {
		client, err := env.Client()
		if err != nil {
			return err
		}
		hook, err := client.Webhooks.Create(ctx, triggers.WebhookCreate{Url: url, Sources: &[]string{register}, Description: ptrTo("examples/go webhook-receiver")})
		if err != nil {
			return err
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = client.Webhooks.Delete(cctx, hook.WebhookId)
		}()
		secret = hook.Secret
		_ = out.Encode(map[string]any{"registered": hook.WebhookId, "source": register})
	}
	if secret == "" {
		return errors.New("set WEBHOOK_SECRET to the endpoint's whsec_ secret, or pass -register-source")
	}
	verifier, err := triggers.NewWebhookVerifier(secret)
	if err != nil {
		return err
	}

	var mu sync.Mutex
	seen := map[string]bool{}
	done := make(chan struct{})
	verified := 0
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hooks", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		payload, err := verifier.Verify(body, r.Header) // the raw bytes, before any parsing
		mu.Lock()
		defer mu.Unlock()
		line := map[string]any{"webhook_id": r.Header.Get("webhook-id"), "verified": err == nil}
		if err != nil {
			line["error"] = err.Error()
			line["status"] = http.StatusBadRequest
			_ = out.Encode(line)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		line["type"] = payload.Type
		line["duplicate"] = seen[payload.MessageID]
		if ev, err := payload.Event(); err == nil {
			line["event_id"] = ev.EventId
		}
		line["status"] = http.StatusNoContent
		_ = out.Encode(line)
		w.WriteHeader(http.StatusNoContent)
		if !seen[payload.MessageID] {
			seen[payload.MessageID] = true
			verified++
			if max > 0 && verified == max {
				close(done)
			}
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	_ = out.Encode(map[string]any{"listening": url})
	select {
	case <-ctx.Done():
	case <-done:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func ptrTo[T any](v T) *T { return &v }
