// The process edge shared by the CLI and the container entrypoints: run, set the exit
// code, print operator errors (CliError) as one line and anything else with its stack.
// Once the work is done the process ends: a socket a client leaked (kafkajs keeps one to a
// broker that died mid-call) must not hold a finished command or a stopped service.
import { CliError } from './errors.ts';

/** How long what is still open may take to close by itself after the work is done. */
export const EXIT_GRACE_MS = 3000;

export function runMain(
  main: () => Promise<number>,
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  const finish = (code: number) => {
    process.exitCode = code;
    setTimeout(() => exit(code), EXIT_GRACE_MS).unref();
  };
  main().then(finish, (error: unknown) => {
    if (error instanceof CliError) {
      process.stderr.write(`mirrorlog: ${error.message}\n`);
      finish(error.exitCode);
    } else {
      process.stderr.write(`mirrorlog: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      finish(1);
    }
  });
}
