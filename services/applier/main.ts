// Container entrypoint: configuration from MIRRORLOG_* environment variables (and
// MIRRORLOG_CONFIG; flags are accepted too), exit 0 on SIGTERM after a clean stop.
import { run } from './command.ts';

process.exitCode = await run(process.argv.slice(2));
