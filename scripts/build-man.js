#!/usr/bin/env node
// Build step: writes dist/man/capctl.1 from the compiled commander definitions (npm run build).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '../dist/src/cli/main.js';
import { manPage } from '../dist/src/cli/manpage.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
mkdirSync(join(root, 'dist', 'man'), { recursive: true });
writeFileSync(join(root, 'dist', 'man', 'capctl.1'), manPage(await buildProgram(), version));
