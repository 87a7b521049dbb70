// Command bench measures what the SDK adds to a call: 1,000 GET /v1/events/{id} through
// Client.Events.Get and 1,000 through a plain net/http request on the same *http.Client (the
// same connection pool), alternating, after a warm-up; it prints the median of each and the
// difference. Not run by the tests. Against a stack:
//
//	.venv/bin/python scripts/sdk_stack.py --env -- sh -c 'cd sdks/go && go run ./bench'
//
// It reads TRIGGERS_API_URL and TRIGGERS_API_KEY (or TRIGGERS_ADMIN_KEY, which sdk_stack.py sets).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"time"

	triggers "github.com/triggers-api/triggers-api/sdks/go"
)

func main() {
	n := flag.Int("n", 1000, "calls of each kind")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func run(n int) error {
	apiURL := os.Getenv("TRIGGERS_API_URL")
	key := os.Getenv("TRIGGERS_API_KEY")
	if key == "" {
		key = os.Getenv("TRIGGERS_ADMIN_KEY")
	}
	if apiURL == "" || key == "" {
		return fmt.Errorf("set TRIGGERS_API_URL and TRIGGERS_API_KEY")
	}
	httpClient := &http.Client{}
	c, err := triggers.NewClient(key, triggers.WithBaseURL(apiURL), triggers.WithHTTPClient(httpClient))
	if err != nil {
		return err
	}
	ctx := context.Background()
	ev, err := c.Events.Create(ctx, triggers.EventCreate{Source: "bench.go", EventType: "bench.get", Payload: map[string]any{"n": 1}})
	if err != nil {
		return err
	}
	url := apiURL + "/v1/events/" + ev.EventId
	raw := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("X-API-Key", key)
		resp, err := httpClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("raw GET: %d %s", resp.StatusCode, body)
		}
		var out triggers.Event // decoded like the SDK does, so only the SDK's own work differs
		return json.Unmarshal(body, &out)
	}
	sdk := func() error { _, err := c.Events.Get(ctx, ev.EventId); return err }
	for i := 0; i < 50; i++ { // warm-up: connections, caches
		if err := sdk(); err != nil {
			return err
		}
		if err := raw(); err != nil {
			return err
		}
	}
	sdkTimes := make([]time.Duration, 0, n)
	rawTimes := make([]time.Duration, 0, n)
	timed := func(f func() error) (time.Duration, error) {
		t0 := time.Now()
		err := f()
		return time.Since(t0), err
	}
	for i := 0; i < n; i++ {
		// Alternate which goes first, so neither always follows the other's request.
		first, second := sdk, raw
		if i%2 == 1 {
			first, second = raw, sdk
		}
		d1, err := timed(first)
		if err != nil {
			return err
		}
		d2, err := timed(second)
		if err != nil {
			return err
		}
		if i%2 == 1 {
			d1, d2 = d2, d1
		}
		sdkTimes = append(sdkTimes, d1)
		rawTimes = append(rawTimes, d2)
	}
	ms, mr := median(sdkTimes), median(rawTimes)
	fmt.Printf("events.get x %d (alternating, same connection pool)\n", n)
	fmt.Printf("  SDK median:      %8.3f ms\n", float64(ms.Microseconds())/1000)
	fmt.Printf("  net/http median: %8.3f ms\n", float64(mr.Microseconds())/1000)
	fmt.Printf("  overhead:        %8.1f µs per call\n", float64((ms-mr).Nanoseconds())/1000)
	return c.Events.Delete(ctx, ev.EventId)
}
