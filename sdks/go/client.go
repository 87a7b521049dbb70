package triggers

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultBaseURL is the API of `make run`.
const DefaultBaseURL = "http://127.0.0.1:8000"

// RetryPolicy bounds the retries of one call. A wait before retry n (n = 0, 1, ...) is
// uniform(0, min(MaxDelay, BaseDelay * 2^n)) ("full jitter"); when the answer carried
// Retry-After, the wait is at least that. The call fails at once, with the last error, when the
// next wait would end after Deadline (measured from the call's start) or MaxAttempts attempts
// were made.
type RetryPolicy struct {
	MaxAttempts int           // attempts in all, the first included; 1 disables retries
	BaseDelay   time.Duration // the first retry's bound
	MaxDelay    time.Duration // the cap of the exponential bound
	// Deadline is the total time of a call, every attempt, retry and wait included: an attempt
	// started near it gets only the time left (less than the per-attempt timeout). Zero or
	// negative: no total bound (MaxAttempts and the per-attempt timeout still apply).
	Deadline time.Duration
}

// DefaultRetryPolicy returns the policy of a client made without WithRetryPolicy: 4 attempts
// (3 retries), 0.5 s base, 30 s cap, 2 minutes in all. It is a function, not a variable, so
// the package keeps no mutable state: change one client's policy with WithRetryPolicy (e.g.
// starting from a modified copy of this value).
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 4, BaseDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second, Deadline: 2 * time.Minute}
}

// Client calls the Triggers API with one API key. It is safe for concurrent use; share one.
type Client struct {
	Events    *EventsService
	Inbox     *InboxService
	APIKeys   *APIKeysService
	Webhooks  *WebhooksService
	Analytics *AnalyticsService

	baseURL        *url.URL
	apiKey         string
	signingSecrets []string
	http           *http.Client
	timeout        time.Duration
	retry          RetryPolicy
	userAgent      string
	now            func() time.Time
	sleep          func(context.Context, time.Duration) error
	jitter         func() float64
	newKey         func() string
	logger         *slog.Logger
	warned         sync.Map // "METHOD /v1/route/{param}" -> struct{}: deprecations already logged
}

// Option configures a Client.
type Option func(*Client) error

// WithBaseURL sets the API's address (default http://127.0.0.1:8000), e.g.
// "https://abc.execute-api.eu-west-1.amazonaws.com/prod": a path prefix is kept.
func WithBaseURL(raw string) Option {
	return func(c *Client) error {
		u, err := url.Parse(strings.TrimRight(raw, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("triggers: base URL %q is not an http(s) URL", raw)
		}
		c.baseURL = u
		return nil
	}
}

// WithSigningSecret makes the client sign every request (X-Triggers-Timestamp and
// X-Triggers-Signature), for a key created with signing. Give two secrets mid-rotation: one
// v1= value is sent per secret.
func WithSigningSecret(secrets ...string) Option {
	return func(c *Client) error {
		c.signingSecrets = append([]string(nil), secrets...)
		return nil
	}
}

// WithHTTPClient sets the *http.Client used (its Transport's connection pool is reused). Its
// own Timeout, if any, also applies; prefer WithTimeout.
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) error {
		if h == nil {
			return errors.New("triggers: WithHTTPClient(nil)")
		}
		c.http = h
		return nil
	}
}

// WithTimeout sets the timeout of each attempt (default 30 s); a timed-out attempt is a
// *NetworkError whose Timeout() is true, and is retried when the call is safe to repeat.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error {
		c.timeout = d
		return nil
	}
}

// WithRetryPolicy replaces DefaultRetryPolicy() for this client.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *Client) error {
		if p.MaxAttempts < 1 {
			return errors.New("triggers: RetryPolicy.MaxAttempts must be at least 1")
		}
		c.retry = p
		return nil
	}
}

// WithUserAgent appends a product token (e.g. "billing-worker/2.3") to the SDK's User-Agent.
func WithUserAgent(token string) Option {
	return func(c *Client) error {
		c.userAgent += " " + token
		return nil
	}
}

// WithClock replaces the clock, the sleep between retries and the jitter source (a function
// returning a value in [0, 1)); any nil argument keeps the default. For tests that check the
// retry schedule exactly.
func WithClock(now func() time.Time, sleep func(context.Context, time.Duration) error, jitter func() float64) Option {
	return func(c *Client) error {
		if now != nil {
			c.now = now
		}
		if sleep != nil {
			c.sleep = sleep
		}
		if jitter != nil {
			c.jitter = jitter
		}
		return nil
	}
}

// WithIdempotencyKeyGenerator replaces the generator of automatic idempotency keys (default: a
// random UUID v4).
func WithIdempotencyKeyGenerator(gen func() string) Option {
	return func(c *Client) error {
		c.newKey = gen
		return nil
	}
}

// WithLogger sets where the client logs (only the once-per-route deprecation warning, see
// ResponseMeta.Deprecation); nil silences it. Default: slog.Default() at the time of the log.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		if l == nil {
			l = slog.New(discardHandler{})
		}
		c.logger = l
		return nil
	}
}

// NewClient makes a client for apiKey ("tk_<stage>_..."), sent as X-API-Key.
func NewClient(apiKey string, opts ...Option) (*Client, error) {
	base, _ := url.Parse(DefaultBaseURL)
	c := &Client{
		baseURL:   base,
		apiKey:    apiKey,
		http:      &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}, // a pool of its own
		timeout:   30 * time.Second,
		retry:     DefaultRetryPolicy(),
		userAgent: fmt.Sprintf("triggers-go/%s (%s; %s/%s)", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH),
		now:       time.Now,
		sleep:     sleepContext,
		jitter:    mrand.Float64,
		newKey:    newUUID,
	}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	if apiKey == "" {
		return nil, errors.New("triggers: NewClient needs an API key")
	}
	c.Events = &EventsService{c}
	c.Inbox = &InboxService{c}
	c.APIKeys = &APIKeysService{c}
	c.Webhooks = &WebhooksService{c}
	c.Analytics = &AnalyticsService{c}
	return c, nil
}

// UserAgent is the User-Agent header the client sends.
func (c *Client) UserAgent() string { return c.userAgent }

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ResponseMeta describes the HTTP answer of a successful call: pass a pointer with
// CaptureResponse to read it.
type ResponseMeta struct {
	StatusCode int
	RequestID  string
	RateLimit  RateLimit
	Attempts   int
	// Replayed is true when POST /v1/events answered an earlier request's event
	// (Idempotent-Replayed: true).
	Replayed bool
	// Deprecation is non-nil when the route answered a Deprecation header (docs/VERSIONING.md).
	Deprecation *Deprecation
	Header      http.Header
}

type metaKey struct{}

// CaptureResponse returns a context under which a call fills *meta with its response's
// metadata (request id, rate-limit state, attempts). A call made through several HTTP requests
// (bulk, iterators, ProcessPending) fills it with the last one's.
func CaptureResponse(ctx context.Context, meta *ResponseMeta) context.Context {
	return context.WithValue(ctx, metaKey{}, meta)
}

// retryClass says when a request may be sent again.
type retryClass int

const (
	// idempotent: repeated on connection errors, timeouts, 429, 500, 502, 503, 504.
	idempotent retryClass = iota
	// unsafe: repeated only on 429 (the API writes nothing) and on errors proving the request
	// never reached the server (connection refused, DNS failure).
	unsafe
)

type request struct {
	method  string
	path    string // from /v1 on, path parameters already escaped
	query   []QueryPair
	body    any // marshalled once; nil: no body
	rawBody []byte
	header  map[string]string
	class   retryClass
	// converge, for an idempotent call whose repeat answers an error once the first attempt
	// landed (a retried ack answers 409 already_acknowledged, a retried delete 404): given that
	// error on a retry after an attempt whose outcome is unknown, it decides the call's
	// answer instead.
	converge func(ctx context.Context, e *Error) (resp *response, handled bool, err error)
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends req with retries and returns the 2xx answer, or an *Error / *NetworkError.
func (c *Client) do(ctx context.Context, req request) (*response, error) {
	var body []byte
	if req.body != nil {
		b, err := json.Marshal(req.body)
		if err != nil {
			return nil, fmt.Errorf("triggers: encoding the request body: %w", err)
		}
		body = b
	} else if req.rawBody != nil {
		body = req.rawBody
	}
	start := c.now()
	bounded := c.retry.Deadline > 0
	deadline := start.Add(c.retry.Deadline)
	uncertain := false // an earlier attempt may have reached the server and acted
	var lastErr error
	for attempt := 0; ; attempt++ {
		timeout := c.timeout
		if bounded {
			left := deadline.Sub(c.now())
			if left <= 0 && lastErr != nil {
				return nil, lastErr
			}
			timeout = min(timeout, max(left, time.Millisecond))
		}
		resp, err := c.once(ctx, req, body, timeout)
		if err == nil {
			c.noteDeprecation(req, resp.header)
		}
		var retryAfter time.Duration
		var apiErr *Error
		var netErr *NetworkError
		retryable := false
		switch {
		case err == nil && resp.status >= 200 && resp.status < 300:
			c.capture(ctx, resp, attempt+1)
			return resp, nil
		case err == nil:
			apiErr = newAPIError(resp.status, resp.header, resp.body, attempt+1)
			retryAfter = apiErr.RateLimit.RetryAfter
			if uncertain && req.converge != nil {
				if cresp, handled, cerr := req.converge(ctx, apiErr); handled {
					return cresp, cerr
				}
			}
			switch resp.status {
			case http.StatusTooManyRequests:
				retryable = true
			case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
				retryable = req.class == idempotent
			}
			err = apiErr
		default:
			if ctx.Err() != nil { // the caller's context: never retried
				return nil, ctx.Err()
			}
			netErr = &NetworkError{Method: req.method, Path: req.path, Attempts: attempt + 1, Err: err,
				TimedOut: errors.Is(err, context.DeadlineExceeded) || isTimeout(err)}
			retryable = req.class == idempotent || neverSent(err)
			err = netErr
		}
		if !retryable || attempt+1 >= c.retry.MaxAttempts {
			return nil, err
		}
		lastErr = err
		wait := c.backoff(attempt)
		if retryAfter > wait {
			wait = retryAfter
		}
		if bounded && c.now().Add(wait).After(deadline) {
			return nil, err
		}
		if ctxDeadline, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(ctxDeadline) {
			return nil, err
		}
		// A 429 proves nothing was done; anything else but a refused connection may have acted.
		if resp == nil || resp.status != http.StatusTooManyRequests {
			uncertain = uncertain || netErr == nil || !neverSent(netErr.Err)
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return nil, serr
		}
	}
}

func (c *Client) backoff(attempt int) time.Duration {
	bound := float64(c.retry.BaseDelay) * math.Pow(2, float64(attempt))
	if bound > float64(c.retry.MaxDelay) {
		bound = float64(c.retry.MaxDelay)
	}
	return time.Duration(c.jitter() * bound)
}

func (c *Client) capture(ctx context.Context, resp *response, attempts int) {
	meta, ok := ctx.Value(metaKey{}).(*ResponseMeta)
	if !ok || meta == nil {
		return
	}
	*meta = ResponseMeta{
		StatusCode:  resp.status,
		RequestID:   resp.header.Get("X-Request-ID"),
		RateLimit:   parseRateLimit(resp.header),
		Attempts:    attempts,
		Replayed:    strings.EqualFold(resp.header.Get("Idempotent-Replayed"), "true"),
		Deprecation: parseDeprecation(resp.header),
		Header:      resp.header,
	}
}

// once makes one attempt: a fresh signature, the per-attempt timeout, the whole body read.
func (c *Client) once(ctx context.Context, req request, body []byte, timeout time.Duration) (*response, error) {
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	target := c.baseURL.String() + req.path
	if len(req.query) > 0 {
		target += "?" + CanonicalQuery(req.query)
	}
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	hreq, err := http.NewRequestWithContext(actx, req.method, target, reader)
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("X-API-Key", c.apiKey)
	hreq.Header.Set("User-Agent", c.userAgent)
	hreq.Header.Set("Accept", "application/json")
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	for k, v := range req.header {
		hreq.Header.Set(k, v)
	}
	if len(c.signingSecrets) > 0 {
		for k, v := range SignatureHeaders(c.signingSecrets, c.now(), req.method, req.path, req.query, body) {
			hreq.Header.Set(k, v)
		}
	}
	hresp, err := c.http.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer hresp.Body.Close()
	data, err := io.ReadAll(hresp.Body)
	if err != nil {
		return nil, err
	}
	return &response{status: hresp.StatusCode, header: hresp.Header, body: data}, nil
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// neverSent reports errors that prove the request did not reach the server.
func neverSent(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	// A failed dial (refused, unreachable, timed out before connecting) sent nothing.
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// decode reads a JSON answer into out.
func decode[T any](resp *response) (*T, error) {
	var out T
	if err := json.Unmarshal(resp.body, &out); err != nil {
		return nil, &DecodeError{StatusCode: resp.status, RequestID: resp.header.Get("X-Request-ID"), Err: err}
	}
	return &out, nil
}

func call[T any](ctx context.Context, c *Client, req request) (*T, error) {
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	return decode[T](resp)
}

// Health is GET /v1/health (no authentication needed, but the key is sent anyway).
func (c *Client) Health(ctx context.Context) (*Health, error) {
	return call[Health](ctx, c, request{method: http.MethodGet, path: "/v1/health", class: idempotent})
}

// pathEscape encodes a path parameter as the API re-encodes it before checking a signature
// (RFC 3986: only A-Z a-z 0-9 - _ . ~ as they are), so the path sent is the path signed.
func pathEscape(s string) string { return percentEncode(s) }

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// discardHandler drops every record (slog.DiscardHandler needs Go 1.24; this module supports 1.23).
type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (h discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h discardHandler) WithGroup(string) slog.Handler           { return h }
