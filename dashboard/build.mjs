// Builds the dashboard into ../chalicelib/dashboard_static/ (git-ignored): the page
// (index.html), a content-hashed script and stylesheet, and manifest.json, the list of files the
// app serves (chalicelib/api/dashboard.py serves nothing else). Prints each file's size, raw and
// gzipped.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'chalicelib', 'dashboard_static');
const CONTENT_TYPES = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const result = await build({
  entryPoints: [join(here, 'src', 'main.js'), join(here, 'src', 'dashboard.css')],
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  entryNames: 'dashboard-[hash]',
  outdir: out,
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
});

const files = {};
let script;
let style;
for (const path of Object.keys(result.metafile.outputs)) {
  const name = path.split('/').pop();
  const ext = name.slice(name.lastIndexOf('.'));
  if (ext === '.txt') {
    continue; // the licence comments esbuild links: kept beside the bundle, not served
  }
  if (!(ext in CONTENT_TYPES)) {
    throw new Error(`unexpected build output ${name}`);
  }
  files[name] = CONTENT_TYPES[ext];
  if (ext === '.js') script = name;
  if (ext === '.css') style = name;
}

const template = readFileSync(join(here, 'src', 'index.html'), 'utf8');
const html = template
  .replace('{{SCRIPT}}', `dashboard/assets/${script}`)
  .replace('{{STYLE}}', `dashboard/assets/${style}`);
if (html.includes('{{')) {
  throw new Error('index.html has a placeholder the build did not fill');
}
writeFileSync(join(out, 'index.html'), html);

const sizes = {};
for (const name of ['index.html', ...Object.keys(files)]) {
  const body = readFileSync(join(out, name));
  sizes[name] = { bytes: body.length, gzip_bytes: gzipSync(body, { level: 9 }).length };
}
const sourceHash = createHash('sha256');
for (const name of Object.keys(sizes).sort()) {
  sourceHash.update(readFileSync(join(out, name)));
}
const manifest = { page: 'index.html', assets: files, sizes, digest: sourceHash.digest('hex') };
writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');

let raw = 0;
let gz = 0;
for (const [name, size] of Object.entries(sizes)) {
  raw += size.bytes;
  gz += size.gzip_bytes;
  console.log(`dashboard: ${name.padEnd(28)} ${String(size.bytes).padStart(8)} B  ${String(size.gzip_bytes).padStart(7)} B gzip`);
}
console.log(`dashboard: total ${raw} B, ${gz} B gzip -> ${out}`);
