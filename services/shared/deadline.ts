// Bounds on waits for servers that may never answer: a client call that hangs must not
// hold a status check or a stop forever.

export class DeadlineError extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'DeadlineError';
  }
}

/** `work`, or a DeadlineError once `ms` have passed (the work itself is not cancelled). */
export async function withinMs<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(ms)), Math.max(0, ms));
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for `work` to settle, at most `ms`; never rejects (for closing what may hang). */
export async function settleWithin(work: Promise<unknown>, ms: number): Promise<void> {
  await withinMs(work, ms).catch(() => undefined);
}
