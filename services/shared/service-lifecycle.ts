// Runs a service until SIGTERM or SIGINT, then stops it cleanly (flush, commit) and
// resolves with the exit code. The handlers are installed before the service starts: a
// signal while it is still connecting exits at once with 0 (nothing to flush yet, and
// a server that is down would otherwise hold the start forever); a second signal while
// stopping exits at once too.
import { CliError } from './errors.ts';

export type RunningService = { ready: Promise<void>; stop(): Promise<void> };

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
    const failed = service.ready.then(
      () => new Promise<never>(() => {}),
      (error: unknown) => {
        failure = error;
      },
    );
    await Promise.race([signal, failed]);
    await service.stop();
    if (failure !== undefined) {
      if (failure instanceof CliError) throw failure;
      throw new CliError(`${name} failed: ${failure instanceof Error ? failure.message : String(failure)}`, 1);
    }
    return 0;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
