// Build the package: ESM (dist/esm) and CommonJS (dist/cjs), each with its .d.ts files, by
// running the TypeScript compiler pinned in package.json twice. No bundler, no runtime deps.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
if (!existsSync(tsc)) {
  // `npm install <this folder>` links the folder without its devDependencies: a published or
  // bootstrapped copy already has dist/ and needs no build.
  if (existsSync(join(root, "dist", "esm", "index.js")) && existsSync(join(root, "dist", "cjs", "index.js"))) {
    process.exit(0);
  }
  console.error("@triggers-api/sdk: TypeScript is not installed; run `npm ci` in sdks/typescript first");
  process.exit(1);
}
rmSync(join(root, "dist"), { recursive: true, force: true });
const run = (...args) => execFileSync(process.execPath, [tsc, ...args], { cwd: root, stdio: "inherit" });
run("-p", "tsconfig.json", "--outDir", "dist/esm");
run("-p", "tsconfig.json", "--outDir", "dist/cjs", "--module", "CommonJS", "--moduleResolution", "Node10", "--verbatimModuleSyntax", "false");
for (const [dir, type] of [["esm", "module"], ["cjs", "commonjs"]]) {
  mkdirSync(join(root, "dist", dir), { recursive: true });
  writeFileSync(join(root, "dist", dir, "package.json"), JSON.stringify({ type }) + "\n");
}
