// The process edge shared by the CLI and the container entrypoints: run, set the exit
// code, print operator errors (CliError) as one line and anything else with its stack.
import { CliError } from './errors.ts';

export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      if (error instanceof CliError) {
        process.stderr.write(`mirrorlog: ${error.message}\n`);
        process.exitCode = error.exitCode;
      } else {
        process.stderr.write(`mirrorlog: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
        process.exitCode = 1;
      }
    },
  );
}
