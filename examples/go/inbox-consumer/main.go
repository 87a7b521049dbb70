// Inbox-consumer is "poll, handle, ack": it walks the pending events of -source (every page),
// handles each one (here: prints it), and acknowledges the handled ones in batches of 25. An
// event whose handler fails stays pending and is reported; the exit status is then 1.
//
//	go run ./inbox-consumer -source billing
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/triggers-api/triggers-api/examples/go/internal/env"
	triggers "github.com/triggers-api/triggers-api/sdks/go"
)

func main() {
	source := flag.String("source", "", "only events of this source (default: all)")
	max := flag.Int("max", 0, "handle at most this many events (0: all pending)")
	flag.Parse()
	if err := run(*source, *max); err != nil {
		fmt.Fprintln(os.Stderr, "inbox-consumer:", err)
		os.Exit(1)
	}
}

func run(source string, max int) error {
	client, err := env.Client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := json.NewEncoder(os.Stdout)
	opts := triggers.ProcessOptions{InboxParams: triggers.InboxParams{Source: source, Limit: 50}, MaxEvents: max}
	res, err := client.Inbox.ProcessPending(ctx, opts, func(_ context.Context, ev triggers.Event) error {
		// Your work goes here; return an error to leave the event pending.
		return out.Encode(map[string]any{"handling": ev.EventId, "source": ev.Source, "event_type": ev.EventType, "payload": ev.Payload})
	})
	if res != nil {
		_ = out.Encode(map[string]any{"handled": res.Handled, "acked": res.Acked, "handler_errors": len(res.HandlerErrs), "ack_failures": len(res.AckFailed)})
	}
	var perr *triggers.ProcessError
	if errors.As(err, &perr) {
		for _, f := range perr.Result.HandlerErrs {
			fmt.Fprintf(os.Stderr, "inbox-consumer: %s left pending: %v\n", f.Event.EventId, f.Err)
		}
	}
	return err
}
