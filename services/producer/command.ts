// `mirrorlog producer --root DIR [--source ID] [--exclude GLOB]...`
import { producerConfigSchema } from '../../schemas/config.ts';
import { HELP_SHOWN, loadConfig } from '../shared/config.ts';
import { runUntilSignal } from '../shared/service-lifecycle.ts';
import { startProducer } from './producer.ts';

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const config = loadConfig(producerConfigSchema, {
    argv,
    env,
    usage:
      'usage: mirrorlog producer --root DIR [--source ID] [--exclude GLOB]... [options]\n\n' +
      'Watches a source tree and publishes every change.',
  });
  if (config === HELP_SHOWN) return 0;
  return runUntilSignal('producer', () => startProducer(config));
}
