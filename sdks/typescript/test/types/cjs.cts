// Type-level test of the built package as a CommonJS consumer sees it (exports -> require -> types).
import sdk = require("@triggers-api/sdk");

const client = new sdk.TriggersClient({ baseUrl: "http://127.0.0.1:8000" });
export const health: Promise<sdk.Health & sdk.WithResponse> = client.health();
export const page: Promise<sdk.Page<sdk.ApiKeyOut>> = client.apiKeys.list({ limit: 10 });
