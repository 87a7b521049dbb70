// The package as users load it: import (ESM build) and require (CommonJS build), both through
// package.json's "exports"; both builds work, and have the same exports.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import * as esm from "@triggers-api/sdk";

const require = createRequire(import.meta.url);
const cjs = require("@triggers-api/sdk");
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url)));

it("package.json: name, version, zero runtime dependencies, exports for import/require/types", () => {
  assert.equal(pkg.name, "@triggers-api/sdk");
  assert.equal(pkg.version, "0.1.0");
  assert.equal(esm.VERSION, pkg.version);
  assert.equal(pkg.dependencies, undefined);
  const root = pkg.exports["."];
  assert.equal(root.import.default, "./dist/esm/index.js");
  assert.equal(root.require.default, "./dist/cjs/index.js");
  assert.ok(root.import.types.endsWith(".d.ts") && root.require.types.endsWith(".d.ts"));
});

it("require() loads the CommonJS build and import the ESM build, with the same exports", () => {
  assert.ok(require.resolve("@triggers-api/sdk").endsWith("/dist/cjs/index.js"));
  assert.deepEqual(Object.keys(cjs).sort(), Object.keys(esm).sort());
  assert.notEqual(cjs.TriggersClient, esm.TriggersClient, "two builds, not one re-exported");
  assert.equal(cjs.VERSION, "0.1.0");
});

for (const [label, mod] of [["esm", esm], ["cjs", cjs]]) {
  it(`${label}: a client makes a call and verifies a webhook`, async () => {
    const seen = [];
    const c = new mod.TriggersClient({
      baseUrl: "http://api.test",
      apiKey: "tk_x",
      fetch: async (url, init) => {
        seen.push([url, init.method]);
        return new Response(JSON.stringify({ status: "ok", version: "0.1.0", checks: { dynamodb: "ok" } }), { status: 200 });
      },
    });
    assert.equal((await c.health()).status, "ok");
    assert.deepEqual(seen, [["http://api.test/v1/health", "GET"]]);
    const wh = new mod.Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", { now: () => 1614265330_000 });
    const out = await wh.verify('{"test": 2432232314}', {
      "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
      "webhook-timestamp": "1614265330",
      "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    });
    assert.deepEqual(out.payload, { test: 2432232314 });
    const missing = new mod.TriggersClient({
      baseUrl: "http://api.test",
      apiKey: "tk_x",
      fetch: async () => new Response(JSON.stringify({ error: { code: "not_found", message: "m", details: [] }, request_id: "r" }), { status: 404 }),
    });
    const err = await missing.events.get("x").catch((e) => e);
    assert.ok(err instanceof mod.NotFoundError && err instanceof mod.ApiError && err instanceof mod.TriggersError);
    assert.equal(err.code, "not_found");
  });
}
