import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logLevel as KafkaLogLevel } from 'kafkajs';
import { createLogger, kafkaLogCreator, kafkaLogLevelFor } from '../../services/shared/logger.ts';
import type { LogLevelName } from '../../services/shared/logger.ts';

function collectingLogger(level: LogLevelName = 'trace') {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level,
    name: 'applier',
    destination: { write: (text: string) => void lines.push(JSON.parse(text) as Record<string, unknown>) },
  });
  return { logger, lines };
}

describe('createLogger', () => {
  it('writes JSON lines with the service, pid and a level name', () => {
    const { logger, lines } = collectingLogger('info');
    logger.info({ path: 'a/b' }, 'applied');
    logger.debug('not shown at info');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.['service'], 'applier');
    assert.equal(lines[0]?.['pid'], process.pid);
    assert.equal(lines[0]?.['level'], 'info');
    assert.equal(lines[0]?.['msg'], 'applied');
    assert.equal(lines[0]?.['path'], 'a/b');
  });

  it('redacts secrets at the top level, one level down and in a logged config', () => {
    const { logger, lines } = collectingLogger();
    logger.info({ s3SecretKey: 'top-secret', s3AccessKey: 'AKIA-secret' }, 'a');
    logger.info({ config: { s3SecretKey: 'top-secret', topic: 't' } }, 'b');
    logger.info({ store: { s3AccessKey: 'AKIA-secret' } }, 'c');
    const text = JSON.stringify(lines);
    assert.ok(!text.includes('top-secret') && !text.includes('AKIA-secret'), text);
    assert.equal((lines[1]?.['config'] as Record<string, unknown>)['topic'], 't');
    assert.equal((lines[1]?.['config'] as Record<string, unknown>)['s3SecretKey'], '***');
  });
});

describe('kafkaLogCreator', () => {
  const entry = (level: KafkaLogLevel, message: string, extra: Record<string, unknown> = {}) => ({
    namespace: 'Connection',
    level,
    label: KafkaLogLevel[level],
    log: { timestamp: '2024-01-01T00:00:00.000Z', logger: 'kafkajs', message, ...extra },
  });

  it('shifts kafkajs levels one step down and keeps their fields', () => {
    const { logger, lines } = collectingLogger('trace');
    const log = kafkaLogCreator(logger)(KafkaLogLevel.DEBUG);
    log(entry(KafkaLogLevel.ERROR, 'broken', { broker: '127.0.0.1:9092', retryCount: 3 }));
    log(entry(KafkaLogLevel.WARN, 'slow'));
    log(entry(KafkaLogLevel.INFO, 'joined group'));
    log(entry(KafkaLogLevel.DEBUG, 'request'));
    assert.deepEqual(
      lines.map((line) => [line['level'], line['msg']]),
      [
        ['error', 'broken'],
        ['warn', 'slow'],
        ['debug', 'joined group'],
        ['trace', 'request'],
      ],
    );
    assert.equal(lines[0]?.['component'], 'kafkajs');
    assert.equal(lines[0]?.['namespace'], 'Connection');
    assert.equal(lines[0]?.['broker'], '127.0.0.1:9092');
    assert.equal(lines[0]?.['retryCount'], 3);
    assert.equal(lines[0]?.['timestamp'], undefined, 'pino has its own time field');
  });

  it('hides kafkajs INFO at the info level', () => {
    const { logger, lines } = collectingLogger('info');
    kafkaLogCreator(logger)(KafkaLogLevel.INFO)(entry(KafkaLogLevel.INFO, 'joined group'));
    assert.equal(lines.length, 0);
  });
});

describe('kafkaLogLevelFor', () => {
  it('asks kafkajs for no more than the logger prints', () => {
    const expected: [LogLevelName, KafkaLogLevel][] = [
      ['trace', KafkaLogLevel.DEBUG],
      ['debug', KafkaLogLevel.INFO],
      ['info', KafkaLogLevel.WARN],
      ['warn', KafkaLogLevel.WARN],
      ['error', KafkaLogLevel.ERROR],
      ['fatal', KafkaLogLevel.NOTHING],
      ['silent', KafkaLogLevel.NOTHING],
    ];
    for (const [level, kafkaLevel] of expected) {
      assert.equal(kafkaLogLevelFor(collectingLogger(level).logger), kafkaLevel, level);
    }
  });
});
