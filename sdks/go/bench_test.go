package triggers

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The SDK's own cost per call, without a real API's noise: GET /v1/events/{id} against an
// in-process server answering a canned event, through the SDK and through plain net/http on the
// same connection pool (go test -run - -bench . -benchmem).
func benchServer(b *testing.B) *httptest.Server {
	body, _ := json.Marshal(sampleEvent)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-RateLimit-Limit", "1000")
		_, _ = w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv
}

func BenchmarkEventsGetSDK(b *testing.B) {
	srv := benchServer(b)
	c, err := NewClient("tk_local_bench", WithBaseURL(srv.URL), WithHTTPClient(srv.Client()))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Events.Get(ctx, "evt_1"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEventsGetRaw(b *testing.B) {
	srv := benchServer(b)
	client := srv.Client()
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/events/evt_1", nil)
		req.Header.Set("X-API-Key", "tk_local_bench")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var ev Event
		if err := json.Unmarshal(data, &ev); err != nil {
			b.Fatal(err)
		}
	}
}
