#!/usr/bin/env node
// Copy Oura's OpenAPI description into test/fixtures/ so tests never need ../shared.
// Keeps the structure (paths, parameters, schemas, security, example values) and drops the
// prose: every string-valued `description` and `summary` (operations, parameters, schemas,
// tags, example objects). A schema *property* named `description` is an object, so it stays.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = resolve(root, process.argv[2] ?? '../shared/oura/openapi-1.27.json');
const target = resolve(root, process.argv[3] ?? 'test/fixtures/oura-openapi.json');
const PROSE = new Set(['description', 'summary']);

function stripProse(node) {
  if (Array.isArray(node)) return node.map(stripProse);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (PROSE.has(key) && typeof value === 'string') continue;
    out[key] = key === 'responses' && value && typeof value === 'object' ? stripResponses(value) : stripProse(value);
  }
  return out;
}

// A Response Object must have a description: without one Prism ignores the response, and a
// bodiless 204 (DELETE of a subscription) would never be served. Keep it, emptied.
function stripResponses(responses) {
  const out = {};
  for (const [code, response] of Object.entries(responses)) {
    out[code] = response && typeof response === 'object' && !('$ref' in response) ? { description: '', ...stripProse(response) } : stripProse(response);
  }
  return out;
}

const spec = JSON.parse(readFileSync(source, 'utf8'));
const stripped = stripProse(spec);
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, `${JSON.stringify(stripped, null, 1)}\n`);
const before = readFileSync(source).length;
const after = readFileSync(target).length;
console.error(`wrote ${target} (${Object.keys(stripped.paths).length} paths, ${before} -> ${after} bytes)`);
