// Container entrypoint: configuration from MIRRORLOG_* environment variables (and
// MIRRORLOG_CONFIG); exit 0 on SIGTERM after flushing, 2 on a configuration error.
import { runMain } from '../shared/run-main.ts';
import { run } from './command.ts';

runMain(() => run(process.argv.slice(2)));
