// Shared by the examples: where the API is and which key to use.
//   TRIGGERS_API_URL  default http://127.0.0.1:8000 (what `make run` serves)
//   TRIGGERS_API_KEY  default the dev key `make run` writes to .run/dev-key.json
import { readFileSync } from "node:fs";
import { TriggersClient } from "@triggers-api/sdk";

export function apiUrl() {
  return process.env.TRIGGERS_API_URL || "http://127.0.0.1:8000";
}

export function apiKey() {
  if (process.env.TRIGGERS_API_KEY) return process.env.TRIGGERS_API_KEY;
  const file = new URL("../../.run/dev-key.json", import.meta.url);
  try {
    return JSON.parse(readFileSync(file, "utf8")).secret;
  } catch {
    console.error(
      "No API key: set TRIGGERS_API_KEY, or start the local stack with `make run` " +
        "(it writes its dev key to .run/dev-key.json).",
    );
    process.exit(2);
  }
}

export function makeClient() {
  return new TriggersClient({ baseUrl: apiUrl(), apiKey: apiKey(), appInfo: "triggers-examples/0.1.0" });
}
