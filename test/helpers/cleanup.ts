// Cleanups run in reverse order of creation (a service stops before its topic and
// directories are deleted). node:test runs `t.after` hooks first-in first-out, so every
// helper registers through `defer` instead.
import type { TestContext } from 'node:test';

const stacks = new WeakMap<TestContext, (() => unknown)[]>();

export function defer(t: TestContext, cleanup: () => unknown): void {
  let stack = stacks.get(t);
  if (stack === undefined) {
    const created: (() => unknown)[] = [];
    stack = created;
    stacks.set(t, created);
    t.after(async () => {
      const errors: unknown[] = [];
      while (created.length > 0) {
        try {
          await created.pop()!();
        } catch (error) {
          errors.push(error);
        }
      }
      if (errors.length > 0) throw errors[0];
    });
  }
  stack.push(cleanup);
}
