#!/usr/bin/env node
// In a source checkout, runs the TypeScript sources through tsx (so what runs is always
// what is checked out); where only the compiled tree exists (images, installs built with
// `npm run build` and pruned), runs dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = `${root}services/cli/main.ts`;
if (existsSync(source) && existsSync(`${root}node_modules/tsx`)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(source).href);
} else {
  await import(pathToFileURL(`${root}dist/services/cli/main.js`).href);
}
