// Runs a service until SIGTERM or SIGINT, or until it dies, then stops it cleanly (flush,
// commit) and resolves with the exit code; a service that died is reported in one line
// with its reason and a non-zero code. One failure channel: `ready` says the service came
// up (or rejects if it could not), `failure` rejects if it dies at any time after.
// The handlers are installed before the service starts: a signal while it is still
// connecting exits at once with 0 (nothing to flush yet, and a server that is down would
// otherwise hold the start forever); a second signal while stopping exits at once too.
//
// The stop is bounded (stopTimeoutMs), and once it is over the process exits even if
// something still holds the event loop: after a Kafka outage, kafkajs keeps reconnect
// timers and sockets alive, and an applier that logged "stopped" ran on for minutes
// (issue 20, M5). The process belongs to the service, so nothing of value is cut short.
import { DeadlineError, withinMs } from './deadline.ts';
import { CliError } from './errors.ts';

export type RunningService = {
  /** Resolves once the service is live; rejects if it cannot start. */
  ready: Promise<void>;
  /** Never resolves; rejects when the running service dies. */
  failure?: Promise<never>;
  stop(): Promise<void>;
};

/** One failure channel for several services run together: the first to die, with its name. */
export function firstFailure(
  services: Record<string, { ready?: Promise<void>; failure?: Promise<never> }>,
): Promise<never> {
  const named = Object.entries(services).flatMap(([name, service]) =>
    [service.ready?.then(() => new Promise<never>(() => {})), service.failure]
      .filter((p): p is Promise<never> => p !== undefined)
      // An operator error (CliError) is already one line that says what to do: as it is.
      .map((p) =>
        p.catch((error: unknown) =>
          Promise.reject(error instanceof CliError ? error : new CliError(`${name} failed: ${messageOf(error)}`, 1)),
        ),
      ),
  );
  const failure = Promise.race(named);
  failure.catch(() => undefined);
  return failure;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** How long a clean stop may take (flush, commit, leave the group) before the process exits anyway. */
export const STOP_TIMEOUT_MS = 30_000;
/** After the stop: how long whatever still runs may keep the process before it exits. */
const EXIT_GRACE_MS = 1000;

export interface RunOptions {
  readonly stopTimeoutMs?: number;
  /** Ends the process once stopped (tests run services in-process and keep theirs). */
  readonly exit?: (code: number) => void;
}

export async function runUntilSignal(
  name: string,
  start: () => Promise<RunningService>,
  options: RunOptions = {},
): Promise<number> {
  const stopTimeoutMs = options.stopTimeoutMs ?? STOP_TIMEOUT_MS;
  const exit = options.exit ?? exitSoon;
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
    const inTime = await withinMs(service.stop(), stopTimeoutMs).then(
      () => true,
      (error: unknown) => {
        if (error instanceof DeadlineError) return false;
        throw error;
      },
    );
    if (!inTime) {
      process.stderr.write(`mirrorlog ${name}: not stopped after ${stopTimeoutMs / 1000} s, exiting\n`);
      exit(1);
      return 1;
    }
    exit(failure === undefined ? 0 : failure instanceof CliError ? failure.exitCode : 1);
    if (failure !== undefined) {
      if (failure instanceof CliError) throw failure;
      throw new CliError(`${name} failed: ${messageOf(failure)}`, 1);
    }
    return 0;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

/** Exits in EXIT_GRACE_MS unless the process ends by itself first (the timer does not hold it). */
function exitSoon(code: number): void {
  setTimeout(() => process.exit(process.exitCode ?? code), EXIT_GRACE_MS).unref();
}
