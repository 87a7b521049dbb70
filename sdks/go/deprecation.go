package triggers

import (
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Deprecation is what a deprecated route announces on its answers (docs/VERSIONING.md): the
// Deprecation header (RFC 9745, "@<unix seconds>"), the Sunset header (RFC 8594, an HTTP-date)
// and the Link with rel="deprecation". The route still works as before until Sunset.
type Deprecation struct {
	Since  time.Time // when the route is (or will be) deprecated; zero if the header was unreadable
	Sunset time.Time // when the route may stop answering; zero when not announced
	Link   string    // where the replacement is described; empty when not announced
	Raw    string    // the Deprecation header as received
}

// parseDeprecation reads the deprecation headers; nil when the answer has no Deprecation.
func parseDeprecation(h http.Header) *Deprecation {
	raw := strings.TrimSpace(h.Get("Deprecation"))
	if raw == "" {
		return nil
	}
	d := &Deprecation{Raw: raw}
	if secs, err := strconv.ParseInt(strings.TrimPrefix(raw, "@"), 10, 64); err == nil {
		d.Since = time.Unix(secs, 0).UTC()
	} else if at, err := http.ParseTime(raw); err == nil { // the draft's HTTP-date form
		d.Since = at.UTC()
	}
	if sunset := strings.TrimSpace(h.Get("Sunset")); sunset != "" {
		if at, err := http.ParseTime(sunset); err == nil {
			d.Sunset = at.UTC()
		}
	}
	d.Link = deprecationLink(h.Values("Link"))
	return d
}

var linkEntry = regexp.MustCompile(`<([^>]*)>([^<]*)`)
var relParam = regexp.MustCompile(`(?i)(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^;,\s]+))`)

// deprecationLink finds the target of the Link whose rel includes "deprecation".
func deprecationLink(values []string) string {
	for _, m := range linkEntry.FindAllStringSubmatch(strings.Join(values, ", "), -1) {
		for _, rel := range relParam.FindAllStringSubmatch(m[2], -1) {
			for _, r := range strings.Fields(rel[1] + " " + rel[2]) {
				if strings.EqualFold(r, "deprecation") {
					return m[1]
				}
			}
		}
	}
	return ""
}

// routeTemplate is the route a path belongs to, as docs/API.md names it: the id segments of
// /v1/events, /v1/webhooks and /v1/api-keys become {event_id}, {webhook_id} and {key_id}.
func routeTemplate(path string) string {
	seg := strings.Split(path, "/") // "", "v1", collection, id, ...
	if len(seg) < 4 || seg[1] != "v1" {
		return path
	}
	param := map[string]string{"events": "{event_id}", "webhooks": "{webhook_id}", "api-keys": "{key_id}"}[seg[2]]
	if param == "" || (seg[2] == "events" && seg[3] == "bulk") {
		return path
	}
	seg[3] = param
	return strings.Join(seg, "/")
}

// noteDeprecation logs, once per route for this client, that a route answered Deprecation.
func (c *Client) noteDeprecation(req request, h http.Header) {
	if h.Get("Deprecation") == "" {
		return
	}
	route := req.method + " " + routeTemplate(req.path)
	if _, seen := c.warned.LoadOrStore(route, struct{}{}); seen {
		return
	}
	d := parseDeprecation(h)
	logger := c.logger
	if logger == nil {
		logger = slog.Default()
	}
	sunset := "not announced"
	if !d.Sunset.IsZero() {
		sunset = d.Sunset.Format(time.RFC3339)
	}
	link := d.Link
	if link == "" {
		link = "-"
	}
	logger.Warn("triggers: the API route is deprecated", "route", route, "deprecation", d.Raw,
		"sunset", sunset, "link", link)
}
