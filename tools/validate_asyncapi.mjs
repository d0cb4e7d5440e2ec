// Validate an AsyncAPI document with the official parser (@asyncapi/parser); exit 1 on errors.
// Usage: node tools/validate_asyncapi.mjs docs/asyncapi.yaml  (NODE_PATH-free: imported from the cache dir)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
const cache = process.env.ASYNCAPI_CACHE;
const require = createRequire(path.join(cache, 'package.json'));
const { Parser } = require('@asyncapi/parser');
const file = process.argv[2];
const parser = new Parser();
const diagnostics = await parser.validate(readFileSync(file, 'utf8'), { source: path.resolve(file) });
let errors = 0;
for (const d of diagnostics) {
  // severity 0 = error, 1 = warning, 2 = info, 3 = hint
  const level = ['error', 'warning', 'info', 'hint'][d.severity] ?? d.severity;
  if (d.severity === 0) errors++;
  console.log(`${level}: ${d.code}: ${d.message} at ${d.path.join('/')}`);
}
console.log(errors ? `INVALID: ${errors} error(s)` : `VALID: ${file} (${diagnostics.length} diagnostic(s), 0 errors)`);
process.exit(errors ? 1 : 0);
