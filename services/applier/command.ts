// `mirrorlog applier --target DIR --replica NAME [--topic T] [--rebuild] [options]`
import { applierConfigSchema } from '../../schemas/config.ts';
import { HELP_SHOWN, loadConfig } from '../shared/config.ts';
import { runUntilSignal } from '../shared/service-lifecycle.ts';
import { startApplier } from './applier.ts';

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const config = loadConfig(applierConfigSchema, {
    argv,
    env,
    usage:
      'usage: mirrorlog applier --target DIR --replica NAME [--rebuild] [options]\n\n' +
      'Materializes one replica from the log (consumer group mirrorlog.replica.TOPIC.NAME).\n' +
      '--durability syncfs|fsync|none: how data is made durable before offsets are committed ' +
      '(default syncfs: one filesystem sync per --commit-interval).',
  });
  if (config === HELP_SHOWN) return 0;
  return runUntilSignal('applier', async () => {
    const applier = await startApplier(config, { env });
    return { ready: Promise.resolve(), failure: applier.failure, stop: () => applier.stop() };
  });
}
