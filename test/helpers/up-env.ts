// The environment a `mirrorlog up` under test runs in: a fresh topic and bucket prefix on
// the local stack, and a home of its own, so its state directories never land in the real
// ~/.local/state.
import path from 'node:path';
import type { TestContext } from 'node:test';
import { tempDir } from './producer.ts';
import { freshPrefix, freshTopic, stackConfig } from './stack.ts';

export function upEnvironment(t: TestContext): NodeJS.ProcessEnv {
  const home = tempDir(t, 'home');
  const stack = stackConfig();
  return {
    ...process.env,
    HOME: home,
    XDG_STATE_HOME: path.join(home, 'state'),
    MIRRORLOG_TOPIC: freshTopic(t),
    MIRRORLOG_S3_PREFIX: freshPrefix(),
    MIRRORLOG_BROKERS: stack.brokers.join(','),
    MIRRORLOG_S3_ENDPOINT: stack.s3Endpoint,
  };
}
