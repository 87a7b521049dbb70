package triggers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrorCode is the stable, machine-readable code of an API error (docs/ERRORS.md).
type ErrorCode = ErrorBodyCode

// The API's error codes, by their short names (the generated ErrorBodyCode* constants are the
// same values).
const (
	CodeValidationError      = ErrorBodyCodeValidationError
	CodeInvalidJSON          = ErrorBodyCodeInvalidJson
	CodeUnauthorized         = ErrorBodyCodeUnauthorized
	CodeSignatureInvalid     = ErrorBodyCodeSignatureInvalid
	CodeSignatureExpired     = ErrorBodyCodeSignatureExpired
	CodeForbidden            = ErrorBodyCodeForbidden
	CodeIPNotAllowed         = ErrorBodyCodeIpNotAllowed
	CodeNotFound             = ErrorBodyCodeNotFound
	CodeMethodNotAllowed     = ErrorBodyCodeMethodNotAllowed
	CodeAlreadyAcknowledged  = ErrorBodyCodeAlreadyAcknowledged
	CodeIdempotencyConflict  = ErrorBodyCodeIdempotencyConflict
	CodeConflict             = ErrorBodyCodeConflict
	CodePayloadTooLarge      = ErrorBodyCodePayloadTooLarge
	CodeUnsupportedMediaType = ErrorBodyCodeUnsupportedMediaType
	CodeRateLimited          = ErrorBodyCodeRateLimited
	CodeInternalError        = ErrorBodyCodeInternalError
	CodeServiceUnavailable   = ErrorBodyCodeServiceUnavailable
)

// RateLimit is a key's rate-limit state as the API reported it on a response
// (X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After).
// Known is false when the response carried no rate-limit headers (401s, /v1/health).
type RateLimit struct {
	Known      bool
	Limit      int           // requests per minute (also the burst)
	Remaining  int           // requests that would be admitted right now
	Reset      time.Time     // when the bucket is full again
	RetryAfter time.Duration // the Retry-After of a 429/503; zero when absent
}

func parseRateLimit(h http.Header) RateLimit {
	var rl RateLimit
	if v, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Limit"))); err == nil {
		rl.Known, rl.Limit = true, v
	}
	if v, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Remaining"))); err == nil {
		rl.Known, rl.Remaining = true, v
	}
	if v, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64); err == nil {
		rl.Known, rl.Reset = true, time.Unix(v, 0).UTC()
	}
	rl.RetryAfter = parseRetryAfter(h.Get("Retry-After"), time.Now())
	return rl
}

// parseRetryAfter reads whole seconds (what this API sends) or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if at, err := http.ParseTime(v); err == nil {
		if d := at.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// Error is an error answer of the API (any non-2xx status with the JSON envelope, or without it
// from a proxy in between). Branch on Code; Message is for humans.
//
//	var apiErr *triggers.Error
//	if errors.As(err, &apiErr) && apiErr.Code == triggers.CodeNotFound { ... }
type Error struct {
	StatusCode int
	Code       ErrorCode // empty when the body was not the API's envelope (e.g. a gateway's HTML)
	Message    string
	Details    []ErrorDetail
	RequestID  string // the body's request_id, else the X-Request-ID header
	RateLimit  RateLimit
	Header     http.Header
	Attempts   int // attempts made, retries included
	// Deprecation is non-nil when the route answered a Deprecation header (docs/VERSIONING.md).
	Deprecation *Deprecation
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "triggers: %d", e.StatusCode)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	for _, d := range e.Details {
		fmt.Fprintf(&b, " [%s: %s]", d.Field, d.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request %s)", e.RequestID)
	}
	return b.String()
}

// Is makes errors.Is(err, &triggers.Error{Code: triggers.CodeNotFound}) match on the code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return (t.Code == "" || t.Code == e.Code) && (t.StatusCode == 0 || t.StatusCode == e.StatusCode)
}

// ErrorCodeOf returns the API error code of err (through wrapping), or "" when err is not an
// API error.
func ErrorCodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// IsCode reports whether err is an API error with that code.
func IsCode(err error, code ErrorCode) bool {
	return err != nil && ErrorCodeOf(err) == code
}

func newAPIError(status int, header http.Header, body []byte, attempts int) *Error {
	e := &Error{
		StatusCode:  status,
		Header:      header,
		RateLimit:   parseRateLimit(header),
		RequestID:   header.Get("X-Request-ID"),
		Attempts:    attempts,
		Deprecation: parseDeprecation(header),
	}
	var env ErrorEnvelope
	if json.Unmarshal(body, &env) == nil && env.Error.Code != "" {
		e.Code = env.Error.Code
		e.Message = env.Error.Message
		e.Details = env.Error.Details
		if env.RequestId != "" {
			e.RequestID = env.RequestId
		}
	} else {
		e.Message = http.StatusText(status)
	}
	return e
}

// NetworkError is a request that got no HTTP answer: the connection was refused or reset, DNS
// failed, or the attempt timed out (TimedOut, also Timeout() as for net.Error). It is returned after the
// retries (if the call was retried) ran out.
type NetworkError struct {
	Method   string
	Path     string
	TimedOut bool
	Attempts int
	Err      error
}

func (e *NetworkError) Error() string {
	kind := "network error"
	if e.TimedOut {
		kind = "timeout"
	}
	return fmt.Sprintf("triggers: %s on %s %s after %d attempt(s): %v", kind, e.Method, e.Path, e.Attempts, e.Err)
}

func (e *NetworkError) Unwrap() error { return e.Err }

// Timeout reports whether the attempt timed out (the net.Error convention).
func (e *NetworkError) Timeout() bool { return e.TimedOut }

// DecodeError is a 2xx answer whose body could not be read as the documented type.
type DecodeError struct {
	StatusCode int
	RequestID  string
	Err        error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("triggers: decoding the %d answer (request %s): %v", e.StatusCode, e.RequestID, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }
