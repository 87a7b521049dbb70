package triggers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Request-signing headers (docs/API.md, "Request signing").
const (
	HeaderSignatureTimestamp = "X-Triggers-Timestamp"
	HeaderSignature          = "X-Triggers-Signature"
)

// QueryPair is one decoded query parameter, in the order given.
type QueryPair struct{ Name, Value string }

// percentEncode encodes s per RFC 3986: only A-Z a-z 0-9 - _ . ~ stay as they are.
func percentEncode(s string) string {
	const hexdigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') ||
			c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdigits[c>>4])
		b.WriteByte(hexdigits[c&15])
	}
	return b.String()
}

// CanonicalQuery is the signed form of a query: each pair percent-encoded as RFC 3986, sorted by
// name then value (both decoded), joined with "&". It is also the query string the client sends.
func CanonicalQuery(pairs []QueryPair) string {
	sorted := append([]QueryPair(nil), pairs...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Name != sorted[j].Name {
			return sorted[i].Name < sorted[j].Name
		}
		return sorted[i].Value < sorted[j].Value
	})
	parts := make([]string, len(sorted))
	for i, p := range sorted {
		parts[i] = percentEncode(p.Name) + "=" + percentEncode(p.Value)
	}
	return strings.Join(parts, "&")
}

// CanonicalTarget is the path, then "?" and the canonical query when there is a query.
func CanonicalTarget(path string, pairs []QueryPair) string {
	if len(pairs) == 0 {
		return path
	}
	return path + "?" + CanonicalQuery(pairs)
}

// SignRequest computes the X-Triggers-Signature value of one request: "v1=<hex HMAC-SHA256>"
// of "{timestamp}.{METHOD}.{target}.{hex SHA-256 of body}" under each signing secret,
// comma-separated (one value per secret, for a client unsure which applies mid-rotation).
// target is CanonicalTarget(path, query).
func SignRequest(secrets []string, timestamp int64, method, target string, body []byte) string {
	digest := sha256.Sum256(body)
	content := strconv.FormatInt(timestamp, 10) + "." + strings.ToUpper(method) + "." + target + "." +
		hex.EncodeToString(digest[:])
	values := make([]string, len(secrets))
	for i, secret := range secrets {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(content))
		values[i] = "v1=" + hex.EncodeToString(mac.Sum(nil))
	}
	return strings.Join(values, ",")
}

// SignatureHeaders returns the two request-signing headers for a request made at now.
func SignatureHeaders(secrets []string, now time.Time, method, path string, query []QueryPair, body []byte) map[string]string {
	ts := now.Unix()
	return map[string]string{
		HeaderSignatureTimestamp: strconv.FormatInt(ts, 10),
		HeaderSignature:          SignRequest(secrets, ts, method, CanonicalTarget(path, query), body),
	}
}

// Request-signature verdicts of VerifyRequestSignature, named as the API's 401 codes.
var (
	ErrSignatureInvalid = &Error{StatusCode: 401, Code: CodeSignatureInvalid, Message: "no signature value matches"}
	ErrSignatureExpired = &Error{StatusCode: 401, Code: CodeSignatureExpired, Message: "the signature's timestamp is outside the tolerance"}
)

// VerifyRequestSignature checks a signed request the way the API does (for a proxy or a test
// double in front of the API): the timestamp header must be an integer, one of the
// comma-separated "v1=<hex>" values must match under one of secrets (constant-time, hex in
// any case), and then the timestamp must be within tolerance of now. It returns nil,
// ErrSignatureInvalid or ErrSignatureExpired. target is CanonicalTarget(path, query).
func VerifyRequestSignature(secrets []string, timestampHeader, signatureHeader string, method, target string, body []byte, now time.Time, tolerance time.Duration) error {
	if timestampHeader == "" || signatureHeader == "" {
		return ErrSignatureInvalid
	}
	for _, c := range timestampHeader {
		if c < '0' || c > '9' {
			return ErrSignatureInvalid
		}
	}
	ts, err := strconv.ParseInt(timestampHeader, 10, 64)
	if err != nil {
		return ErrSignatureInvalid
	}
	digest := sha256.Sum256(body)
	content := timestampHeader + "." + strings.ToUpper(method) + "." + target + "." + hex.EncodeToString(digest[:])
	matched := false
	for _, value := range strings.Split(signatureHeader, ",") {
		value = strings.TrimSpace(value)
		hexsig, ok := strings.CutPrefix(value, "v1=")
		if !ok {
			continue
		}
		given, err := hex.DecodeString(hexsig)
		if err != nil || len(given) != sha256.Size {
			continue
		}
		for _, secret := range secrets {
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write([]byte(content))
			if hmac.Equal(mac.Sum(nil), given) {
				matched = true
			}
		}
	}
	if !matched {
		return ErrSignatureInvalid
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrSignatureExpired
	}
	return nil
}
