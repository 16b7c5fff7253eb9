// Runs a service until SIGTERM or SIGINT, or until it dies, then stops it cleanly (flush,
// commit) and resolves with the exit code; a service that died is reported in one line
// with its reason and a non-zero code. One failure channel: `ready` says the service came
// up (or rejects if it could not), `failure` rejects if it dies at any time after.
// The handlers are installed before the service starts: a signal while it is still connecting exits at once with 0 (nothing to flush yet, and
// a server that is down would otherwise hold the start forever); a second signal while
// stopping exits at once too.
import { CliError } from './errors.ts';

export type RunningService = {
  /** Resolves once the service is live; rejects if it cannot start. */
  ready: Promise<void>;
  /** Never resolves; rejects when the running service dies. */
  failure?: Promise<never>;
  stop(): Promise<void>;
};

/** One failure channel for several services run together: the first to die, with its name. */
export function firstFailure(services: Record<string, { ready?: Promise<void>; failure?: Promise<never> }>): Promise<never> {
  const named = Object.entries(services).flatMap(([name, service]) =>
    [service.ready?.then(() => new Promise<never>(() => {})), service.failure]
      .filter((p): p is Promise<never> => p !== undefined)
      // An operator error (CliError) is already one line that says what to do: as it is.
      .map((p) => p.catch((error: unknown) => Promise.reject(error instanceof CliError ? error : new CliError(`${name} failed: ${messageOf(error)}`, 1)))),
  );
  const failure = Promise.race(named);
  failure.catch(() => undefined);
  return failure;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}


export async function runUntilSignal(name: string, start: () => Promise<RunningService>): Promise<number> {
  let signalled!: () => void;
  const signal = new Promise<void>((resolve) => (signalled = resolve));
  let signals = 0;
  let started = false;
  const onSignal = (received: NodeJS.Signals) => {
    signals++;
    if (!started) {
      process.stderr.write(`mirrorlog ${name}: ${received} while starting, exiting\n`);
      process.exit(0);
    }
    if (signals > 1) {
      process.stderr.write(`mirrorlog ${name}: second ${received}, exiting without a clean stop\n`);
      process.exit(130);
    }
    signalled();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    const service = await start();
    started = true;
    let failure: unknown;
    const failed = firstFailure({ [name]: service }).catch((error: unknown) => {
      failure = error;
    });
    await Promise.race([signal, failed]);
    await service.stop();
    if (failure !== undefined) throw failure;
    return 0;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
