// Deprecation notices (docs/VERSIONING.md): a deprecated route's answers carry `Deprecation`
// (RFC 9745: "@<unix seconds>"), optionally `Sunset` (RFC 8594: an HTTP-date) and
// `Link: <url>; rel="deprecation"`.

/** The parsed deprecation headers of one answer. */
export interface Deprecation {
  /** The route, e.g. "GET /v1/events/{event_id}". */
  route: string;
  /** From when the route is deprecated (may be in the future); null when not a date. */
  deprecatedAt: Date | null;
  /** After when the route may stop answering; null when no (valid) Sunset header. */
  sunset: Date | null;
  /** The `rel="deprecation"` link describing the replacement, or null. */
  link: string | null;
  /** The headers as received. */
  raw: { deprecation: string; sunset: string | null; link: string | null };
}

function httpDate(value: string | null): Date | null {
  if (value === null || value.trim() === "") return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : new Date(ms);
}

/** RFC 9745 "@1803859200"; an HTTP-date (older drafts) is accepted too; anything else is null. */
function deprecationDate(value: string): Date | null {
  const m = /^\s*@(-?\d{1,15})\s*$/.exec(value);
  if (m) return new Date(Number(m[1]) * 1000);
  return /^\s*@/.test(value) ? null : httpDate(value);
}

/** The target of the first Link entry whose rel includes "deprecation". */
function deprecationLink(value: string | null): string | null {
  if (value === null) return null;
  const entry = /<([^>]*)>((?:\s*;\s*[^;,]+)*)/g;
  for (let m = entry.exec(value); m !== null; m = entry.exec(value)) {
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(m[2] ?? "");
    const rels = (rel?.[1] ?? rel?.[2] ?? "").toLowerCase().split(/\s+/);
    if (rels.includes("deprecation")) return m[1] ?? null;
  }
  return null;
}

/** The answer's deprecation notice, or null when it carries no `Deprecation` header. */
export function parseDeprecation(headers: Headers, route: string): Deprecation | null {
  const deprecation = headers.get("deprecation");
  if (deprecation === null) return null;
  const sunset = headers.get("sunset");
  const link = headers.get("link");
  return {
    route,
    deprecatedAt: deprecationDate(deprecation),
    sunset: httpDate(sunset),
    link: deprecationLink(link),
    raw: { deprecation, sunset, link },
  };
}

/** The default `onDeprecation`: one console.warn line. */
export function warnDeprecation(d: Deprecation): void {
  const when = d.deprecatedAt ? d.deprecatedAt.toISOString() : d.raw.deprecation;
  const sunset = d.sunset ? d.sunset.toISOString() : "not set";
  console.warn(`@triggers-api/sdk: ${d.route} is deprecated (since ${when}); sunset ${sunset}; see ${d.link ?? "-"}`);
}
