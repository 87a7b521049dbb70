// Deprecation notices (docs/VERSIONING.md): parsed onto lastResponse / ApiError, reported once
// per route per client.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NotFoundError, TriggersClient, parseDeprecation } from "@triggers-api/sdk";
import { EVENT, client, errorResponse, jsonResponse } from "./helpers.mjs";

const HEADERS = {
  deprecation: "@1803859200",
  sunset: "Wed, 01 Sep 2027 00:00:00 GMT",
  link: '<https://docs.example.com/v2>; rel="successor-version", <https://docs.example.com/changelog#2027-03-01>; rel="deprecation"; type="text/html"',
};

describe("deprecation headers", () => {
  it("parses Deprecation (@seconds), Sunset (HTTP-date) and the rel=deprecation Link", () => {
    const d = parseDeprecation(new Headers(HEADERS), "GET /v1/events/{event_id}");
    assert.equal(d.route, "GET /v1/events/{event_id}");
    assert.equal(d.deprecatedAt.toISOString(), "2027-03-01T00:00:00.000Z");
    assert.equal(d.sunset.toISOString(), "2027-09-01T00:00:00.000Z");
    assert.equal(d.link, "https://docs.example.com/changelog#2027-03-01");
    assert.deepEqual(d.raw, { deprecation: HEADERS.deprecation, sunset: HEADERS.sunset, link: HEADERS.link });
    assert.equal(parseDeprecation(new Headers({ sunset: HEADERS.sunset }), "r"), null, "no Deprecation header: no notice");
    const bare = parseDeprecation(new Headers({ deprecation: "true", link: "<https://x.test>; rel=next" }), "r");
    assert.equal(bare.deprecatedAt, null);
    assert.equal(bare.sunset, null);
    assert.equal(bare.link, null);
    assert.equal(parseDeprecation(new Headers({ deprecation: "@1", link: "<https://x.test/d>;rel=deprecation" }), "r").link, "https://x.test/d");
  });

  it("exposes the notice on lastResponse and on errors, and reports each route once per client", async () => {
    const seen = [];
    const { client: c } = client(
      [
        jsonResponse(200, EVENT, HEADERS),
        jsonResponse(200, { ...EVENT, event_id: "evt_other" }, HEADERS),
        errorResponse(404, "not_found", HEADERS),
        jsonResponse(200, EVENT, HEADERS),
        jsonResponse(200, EVENT),
      ],
      { onDeprecation: (d) => seen.push(d) },
    );
    const first = await c.events.get(EVENT.event_id);
    assert.equal(first.lastResponse.deprecation.sunset.toISOString(), "2027-09-01T00:00:00.000Z");
    await c.events.get("evt_other"); // same route, another id: not reported again
    const err = await c.events.get("evt_gone").catch((e) => e);
    assert.ok(err instanceof NotFoundError);
    assert.equal(err.deprecation.deprecatedAt.toISOString(), "2027-03-01T00:00:00.000Z");
    await c.events.ack(EVENT.event_id); // another route: reported
    const plain = await c.events.get(EVENT.event_id);
    assert.equal(plain.lastResponse.deprecation, null);
    assert.deepEqual(seen.map((d) => d.route), ["GET /v1/events/{event_id}", "POST /v1/events/{event_id}/ack"]);
  });

  it("per client, not per process: a second client reports the route again", async () => {
    const seen = [];
    for (let i = 0; i < 2; i++) {
      const { client: c } = client([jsonResponse(200, EVENT, HEADERS), jsonResponse(200, EVENT, HEADERS)], { onDeprecation: (d) => seen.push(d.route) });
      await c.events.get(EVENT.event_id);
      await c.events.get(EVENT.event_id);
    }
    assert.deepEqual(seen, ["GET /v1/events/{event_id}", "GET /v1/events/{event_id}"]);
  });

  it("defaults to one console.warn per route; null silences it; a throwing hook never fails the call", async (t) => {
    const warn = t.mock.method(console, "warn", () => {});
    const { client: c } = client([jsonResponse(200, EVENT, HEADERS), jsonResponse(200, EVENT, HEADERS)]);
    await c.events.get(EVENT.event_id);
    await c.events.get(EVENT.event_id);
    assert.equal(warn.mock.callCount(), 1);
    assert.match(warn.mock.calls[0].arguments[0], /GET \/v1\/events\/\{event_id\} is deprecated \(since 2027-03-01T00:00:00\.000Z\); sunset 2027-09-01T00:00:00\.000Z; see https:\/\/docs\.example\.com\/changelog#2027-03-01/);
    const { client: quiet } = client([jsonResponse(200, EVENT, HEADERS)], { onDeprecation: null });
    const got = await quiet.events.get(EVENT.event_id);
    assert.equal(warn.mock.callCount(), 1);
    assert.notEqual(got.lastResponse.deprecation, null, "parsed even when not reported");
    const { client: bad } = client([jsonResponse(200, EVENT, HEADERS)], { onDeprecation: () => { throw new Error("hook"); } });
    assert.equal((await bad.events.get(EVENT.event_id)).event_id, EVENT.event_id);
  });

  it("routes without a path parameter are keyed by their path", async () => {
    const seen = [];
    const c = new TriggersClient({
      baseUrl: "http://api.test",
      apiKey: "k",
      onDeprecation: (d) => seen.push(d.route),
      fetch: async () => jsonResponse(200, { events: [], next_cursor: null }, HEADERS),
    });
    await c.inbox.list({ source: "a" });
    await c.inbox.list({ source: "b" });
    assert.deepEqual(seen, ["GET /v1/inbox"]);
  });
});

