package triggers_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"time"

	triggers "github.com/triggers-api/triggers-api/sdks/go"
)

func ExampleNewClient() {
	client, err := triggers.NewClient("tk_local_...",
		triggers.WithBaseURL("http://127.0.0.1:8000"),
		triggers.WithTimeout(10*time.Second),
	)
	if err != nil {
		log.Fatal(err)
	}
	var meta triggers.ResponseMeta
	ev, err := client.Events.Create(triggers.CaptureResponse(context.Background(), &meta), triggers.EventCreate{
		Source: "billing", EventType: "invoice.paid", Payload: map[string]any{"amount": 4200},
	})
	var apiErr *triggers.Error
	switch {
	case errors.As(err, &apiErr):
		log.Fatalf("%s (%s): %s", apiErr.Code, apiErr.RequestID, apiErr.Message)
	case err != nil:
		log.Fatal(err) // *triggers.NetworkError, or the context's error
	}
	fmt.Println(ev.EventId, meta.RequestID, meta.RateLimit.Remaining)
}

func ExampleDefaultRetryPolicy() {
	// Start from the defaults (a fresh value each call) and change one client's policy only.
	policy := triggers.DefaultRetryPolicy()
	policy.Deadline = 10 * time.Second
	client, err := triggers.NewClient("tk_local_...", triggers.WithRetryPolicy(policy))
	if err != nil {
		log.Fatal(err)
	}
	_ = client
	fmt.Println(triggers.DefaultRetryPolicy().Deadline, policy.Deadline)
	// Output: 2m0s 10s
}

func ExampleInboxService_All() {
	client, _ := triggers.NewClient("tk_local_...")
	ctx := context.Background()
	for ev, err := range client.Inbox.All(ctx, triggers.InboxParams{Source: "billing", Priority: "high"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ev.EventId, ev.Payload)
	}
}

func ExampleInboxService_ProcessPending() {
	client, _ := triggers.NewClient("tk_local_...")
	res, err := client.Inbox.ProcessPending(context.Background(), triggers.ProcessOptions{
		InboxParams: triggers.InboxParams{Source: "billing"},
	}, func(ctx context.Context, ev triggers.Event) error {
		fmt.Println("handling", ev.EventId)
		return nil // an error leaves the event pending
	})
	if err != nil {
		log.Print(err) // *triggers.ProcessError lists the events left pending
	}
	fmt.Println(len(res.Acked), "acknowledged")
}

func ExampleWebhookVerifier_Verify() {
	verifier, err := triggers.NewWebhookVerifier("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("POST /hooks", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		payload, err := verifier.Verify(body, r.Header) // the raw bytes, before parsing
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if ev, err := payload.Event(); err == nil {
			fmt.Println(payload.MessageID, ev.EventId)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
