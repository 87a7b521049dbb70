// Request signing (docs/API.md, "Request signing"): X-Triggers-Timestamp and
// X-Triggers-Signature: v1=<hex HMAC-SHA256(signing_secret, "{ts}.{METHOD}.{target}.{sha256(body)}")>.
import { hmacSha256, hex, importHmacKey, sha256Hex, timingSafeEqual } from "./crypto.js";

/** RFC 3986 percent-encoding: only A-Z a-z 0-9 - _ . ~ stay as they are; a space is %20. */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Compares by Unicode code point (as the API's sorted() does), not by UTF-16 unit. */
function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/**
 * The canonical query: the decoded pairs sorted by name then value, each percent-encoded
 * (RFC 3986), joined with "&".
 */
export function canonicalQuery(pairs: ReadonlyArray<readonly [string, string]>): string {
  return [...pairs]
    .sort(([ak, av], [bk, bv]) => compareCodePoints(ak, bk) || compareCodePoints(av, bv))
    .map(([k, v]) => `${encodeRfc3986(k)}=${encodeRfc3986(v)}`)
    .join("&");
}

/** The signed target: the path from /v1 on, plus "?" and the canonical query when there is one. */
export function canonicalTarget(path: string, pairs: ReadonlyArray<readonly [string, string]> = []): string {
  const query = canonicalQuery(pairs);
  return query ? `${path}?${query}` : path;
}

export interface SignedHeaders {
  "X-Triggers-Timestamp": string;
  "X-Triggers-Signature": string;
}

/**
 * Signs requests with one or more signing secrets (several: one `v1=` value per secret, e.g.
 * mid-rotation). The HMAC keys are imported once.
 */
export class RequestSigner {
  private readonly keys: Promise<CryptoKey[]>;

  constructor(signingSecrets: string | readonly string[]) {
    const list = typeof signingSecrets === "string" ? [signingSecrets] : [...signingSecrets];
    if (list.length === 0 || list.some((s) => typeof s !== "string" || s.length === 0)) {
      throw new TypeError("signingSecret must be a non-empty string (or a non-empty list of them)");
    }
    this.keys = Promise.all(list.map((s) => importHmacKey(s)));
  }

  /** The hex signatures of one request, one per secret. */
  async signatures(
    timestamp: string,
    method: string,
    target: string,
    body: string | Uint8Array,
  ): Promise<string[]> {
    const content = `${timestamp}.${method.toUpperCase()}.${target}.${await sha256Hex(body)}`;
    const keys = await this.keys;
    return Promise.all(keys.map(async (k) => hex(await hmacSha256(k, content))));
  }

  /** The two headers for a request; `timestamp` is Unix seconds (now when omitted). */
  async sign(
    method: string,
    path: string,
    query: ReadonlyArray<readonly [string, string]>,
    body: string | Uint8Array,
    timestamp: number | string = Math.floor(Date.now() / 1000),
  ): Promise<SignedHeaders> {
    const ts = String(timestamp);
    const sigs = await this.signatures(ts, method, canonicalTarget(path, query), body);
    return {
      "X-Triggers-Timestamp": ts,
      "X-Triggers-Signature": sigs.map((s) => `v1=${s}`).join(","),
    };
  }
}

export type SignatureVerdict = "ok" | "signature_invalid" | "signature_expired";

/**
 * The API's check of a signed request, for tests and for services that accept requests signed
 * the same way: "ok" when one `v1=` value matches one of the secrets (constant-time) and the
 * timestamp is within `toleranceSeconds` of `nowSeconds`.
 */
export async function verifyRequestSignature(options: {
  signingSecrets: string | readonly string[];
  timestamp: string | null | undefined;
  signature: string | null | undefined;
  method: string;
  target: string;
  body: string | Uint8Array;
  nowSeconds?: number;
  toleranceSeconds?: number;
}): Promise<SignatureVerdict> {
  const { timestamp, signature } = options;
  if (typeof timestamp !== "string" || typeof signature !== "string") return "signature_invalid";
  if (!/^[0-9]{1,15}$/.test(timestamp)) return "signature_invalid";
  const offered = signature
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.startsWith("v1="))
    .map((part) => part.slice(3).toLowerCase())
    .filter((sig) => /^[0-9a-f]{64}$/.test(sig));
  if (offered.length === 0) return "signature_invalid";
  const expected = await new RequestSigner(options.signingSecrets).signatures(
    timestamp,
    options.method,
    options.target,
    options.body,
  );
  let match = false;
  for (const want of expected) for (const got of offered) if (timingSafeEqual(want, got)) match = true;
  if (!match) return "signature_invalid";
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? 300;
  return Math.abs(now - Number(timestamp)) > tolerance ? "signature_expired" : "ok";
}
