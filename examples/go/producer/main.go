// Producer creates events: -n of them from -source, one request each, every one with an
// idempotency key the SDK generates and reuses if it has to retry. It prints one JSON line per
// event, then a summary line.
//
//	go run ./producer -source billing -n 3
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/triggers-api/triggers-api/examples/go/internal/env"
	triggers "github.com/triggers-api/triggers-api/sdks/go"
)

func main() {
	source := flag.String("source", "examples.go", "the events' source")
	eventType := flag.String("type", "invoice.paid", "the events' type")
	n := flag.Int("n", 3, "how many events")
	flag.Parse()
	if err := run(*source, *eventType, *n); err != nil {
		fmt.Fprintln(os.Stderr, "producer:", err)
		os.Exit(1)
	}
}

func run(source, eventType string, n int) error {
	client, err := env.Client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := json.NewEncoder(os.Stdout)
	ids := make([]string, 0, n)
	for i := 0; i < n; i++ {
		var meta triggers.ResponseMeta
		ev, err := client.Events.Create(triggers.CaptureResponse(ctx, &meta), triggers.EventCreate{
			Source:    source,
			EventType: eventType,
			Payload:   map[string]any{"invoice_id": fmt.Sprintf("inv_%d", 1000+i), "amount": 4200 + i},
			Metadata: &triggers.EventCreate_Metadata{
				AdditionalProperties: map[string]string{"producer": "examples/go"},
			},
		})
		if err != nil {
			return err
		}
		ids = append(ids, ev.EventId)
		_ = out.Encode(map[string]any{"event_id": ev.EventId, "status": meta.StatusCode, "request_id": meta.RequestID,
			"rate_limit_remaining": meta.RateLimit.Remaining})
	}
	return out.Encode(map[string]any{"created": len(ids), "event_ids": ids})
}
