/**
 * `npm run bench`: runs every bench/*.bench.js module (compiled from .ts) and prints Markdown.
 * `npm run bench -- caps` runs only modules whose name contains "caps".
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchRow, markdownTable } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const modules = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => !filter || f.includes(filter))
  .sort();

console.log(`# capctl benchmarks — ${new Date().toISOString()}, node ${process.version}, ${process.arch}\n`);
for (const file of modules) {
  process.stderr.write(`running ${file}...\n`);
  const mod = (await import(join(here, file))) as { run: () => Promise<BenchRow[]> };
  const rows = await mod.run();
  console.log(`${markdownTable(file.replace(/\.bench\.js$/, ''), rows)}\n`);
}
