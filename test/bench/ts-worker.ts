// A worker thread's entry that runs a TypeScript module: workers do not inherit the
// parent's `--import tsx`, so the entry registers tsx before importing the module.
export function tsWorkerEntry(module: URL): URL {
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const code = `import { register } from ${tsx}; register(); await import(${JSON.stringify(module.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}
