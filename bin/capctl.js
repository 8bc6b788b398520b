#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run by `npm ci` via prepare).
// `capctl audit ...` loads only the audit commands (src/cli/audit-main.ts): start-up counts
// when a query over a large log should take well under a second.
const { main } = await import(
  process.argv[2] === 'audit' ? '../dist/src/cli/audit-main.js' : '../dist/src/cli/main.js'
);

await main(process.argv);
