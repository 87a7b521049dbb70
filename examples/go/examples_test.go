// The examples run against the live stack (make test-sdks): the producer's events exist, the
// inbox consumer acknowledges them, and the webhook receiver verifies a real delivery and
// rejects a tampered one. Without TRIGGERS_API_URL the tests skip (fail with
// TRIGGERS_SDK_LIVE=1).
package examples_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	triggers "github.com/triggers-api/triggers-api/sdks/go"
)

func live(t *testing.T) (apiURL, key string) {
	t.Helper()
	apiURL, key = os.Getenv("TRIGGERS_API_URL"), os.Getenv("TRIGGERS_ADMIN_KEY")
	if apiURL == "" || key == "" {
		if os.Getenv("TRIGGERS_SDK_LIVE") == "1" {
			t.Fatal("TRIGGERS_SDK_LIVE=1 but TRIGGERS_API_URL or TRIGGERS_ADMIN_KEY is not set")
		}
		t.Skip("no live stack (make test-sdks sets TRIGGERS_API_URL and TRIGGERS_ADMIN_KEY)")
	}
	return apiURL, key
}

// build compiles the three examples once per test run.
func build(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"producer", "inbox-consumer", "webhook-receiver"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), "./"+name)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build ./%s: %v\n%s", name, err, out)
		}
	}
	return dir
}

func command(t *testing.T, bin string, args ...string) *exec.Cmd {
	apiURL, key := live(t)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TRIGGERS_API_URL="+apiURL, "TRIGGERS_API_KEY="+key)
	return cmd
}

func lines(t *testing.T, out []byte) []map[string]any {
	var res []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		res = append(res, m)
	}
	return res
}

func TestExamples(t *testing.T) {
	apiURL, key := live(t)
	bin := build(t)
	client, err := triggers.NewClient(key, triggers.WithBaseURL(apiURL))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	source := fmt.Sprintf("examples.go.%d", time.Now().UnixNano())

	// The receiver registers a webhook for the source and prints where it listens.
	recv := command(t, filepath.Join(bin, "webhook-receiver"), "-addr", "127.0.0.1:0", "-register-source", source, "-max", "3")
	stdout, err := recv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	recv.Stderr = os.Stderr
	if err := recv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = recv.Process.Kill(); _ = recv.Wait() })
	received := make(chan map[string]any, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				received <- m
			}
		}
		close(received)
	}()
	next := func(what string) map[string]any {
		select {
		case m, ok := <-received:
			if !ok {
				t.Fatalf("the receiver exited before %s", what)
			}
			return m
		case <-time.After(90 * time.Second):
			t.Fatalf("no %s from the receiver within 90 s", what)
		}
		return nil
	}
	registered := next("registration")
	webhookID, _ := registered["registered"].(string)
	listening, _ := next("listening line")["listening"].(string)
	if !strings.HasPrefix(webhookID, "wh") || !strings.HasPrefix(listening, "http://127.0.0.1:") {
		t.Fatalf("receiver said %v / %v", registered, listening)
	}

	// A tampered delivery is refused with 400 and logged as not verified.
	body := []byte(`{"type":"invoice.paid","timestamp":"2026-11-30T21:00:00.000Z","data":{}}`)
	req, _ := http.NewRequest(http.MethodPost, listening, bytes.NewReader(body))
	req.Header.Set("webhook-id", "msg_forged")
	req.Header.Set("webhook-timestamp", fmt.Sprint(time.Now().Unix()))
	req.Header.Set("webhook-signature", "v1,"+strings.Repeat("A", 43)+"=")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("a forged delivery got %d", resp.StatusCode)
	}
	if m := next("the forged delivery's line"); m["verified"] != false || m["webhook_id"] != "msg_forged" {
		t.Fatalf("forged: %v", m)
	}

	// The producer's events exist.
	out, err := command(t, filepath.Join(bin, "producer"), "-source", source, "-n", "3").Output()
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	produced := lines(t, out)
	summary := produced[len(produced)-1]
	ids, _ := summary["event_ids"].([]any)
	if summary["created"] != float64(3) || len(ids) != 3 {
		t.Fatalf("producer said %s", out)
	}
	for _, id := range ids {
		ev, err := client.Events.Get(ctx, id.(string))
		if err != nil || ev.Source != source || ev.Status != "pending" {
			t.Fatalf("%v: %+v %v", id, ev, err)
		}
	}

	// The receiver verifies the three real deliveries, then exits (-max 3).
	delivered := map[string]bool{}
	for len(delivered) < 3 {
		m := next("a delivery")
		if m["verified"] != true || m["status"] != float64(204) {
			t.Fatalf("a real delivery was not verified: %v", m)
		}
		delivered[m["event_id"].(string)] = true
	}
	for _, id := range ids {
		if !delivered[id.(string)] {
			t.Fatalf("%v was not delivered: %v", id, delivered)
		}
	}
	if err := recv.Wait(); err != nil {
		t.Fatalf("receiver: %v", err)
	}
	if _, err := client.Webhooks.Get(ctx, webhookID); !triggers.IsCode(err, triggers.CodeNotFound) {
		t.Fatalf("the receiver left its webhook behind: %v", err)
	}

	// The consumer handles and acknowledges them.
	out, err = command(t, filepath.Join(bin, "inbox-consumer"), "-source", source).Output()
	if err != nil {
		t.Fatalf("consumer: %v\n%s", err, out)
	}
	consumed := lines(t, out)
	last := consumed[len(consumed)-1]
	if last["handled"] != float64(3) || len(last["acked"].([]any)) != 3 || len(consumed) != 4 {
		t.Fatalf("consumer said %s", out)
	}
	for _, id := range ids {
		ev, err := client.Events.Get(ctx, id.(string))
		if err != nil || ev.Status != "acknowledged" {
			t.Fatalf("%v after the consumer: %+v %v", id, ev, err)
		}
	}
}

// Without TRIGGERS_API_KEY or a .run/dev-key.json, an example says to run `make run`.
func TestExampleWithoutAKeySaysWhatToDo(t *testing.T) {
	bin := build(t)
	cmd := exec.Command(filepath.Join(bin, "producer"))
	cmd.Dir = t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TRIGGERS_API_KEY=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "make run") {
		t.Fatalf("%v: %s", err, out)
	}
}
