// Container entrypoint: configuration from MIRRORLOG_* environment variables (and
// MIRRORLOG_CONFIG; flags are accepted too); exit 0 on SIGTERM after a clean stop, 2 on a
// configuration error (one line, as the producer's entrypoint and the CLI print it).
import { runMain } from '../shared/run-main.ts';
import { run } from './command.ts';

runMain(() => run(process.argv.slice(2)));
