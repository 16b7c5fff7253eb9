// `--help` explains every option: a line saying what it does, its default in the units a user
// types (1h, not 3600000) and its environment variable. Checked over every command's schema,
// so an option added without a help line fails here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import * as schemas from '../../schemas/config.ts';
import { parseDuration } from '../../schemas/config.ts';
import { describeForHelp, describeOptions, formatDuration, formatUsage } from '../../services/shared/config-options.ts';

const BIN = fileURLToPath(new URL('../../bin/mirrorlog.js', import.meta.url));

const COMMAND_SCHEMAS: Record<string, z.ZodObject> = {
  producer: schemas.producerConfigSchema,
  applier: schemas.applierConfigSchema,
  up: schemas.upConfigSchema,
  status: schemas.statusConfigSchema,
  verify: schemas.verifyConfigSchema,
  restore: schemas.restoreConfigSchema,
  gc: schemas.gcConfigSchema,
};

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('option help', () => {
  for (const [command, schema] of Object.entries(COMMAND_SCHEMAS)) {
    it(`describes every option of ${command} with a line, its default and its variable`, () => {
      for (const spec of describeOptions(schema)) {
        const { text, facts } = describeForHelp(spec);
        assert.ok(text.length > 0, `--${spec.flag} of ${command} has no help line (add it to schemas/config-help.ts)`);
        assert.ok(!text.includes('\n'), `--${spec.flag}: one line`);
        assert.ok(facts.includes(spec.env), `--${spec.flag} names ${spec.env}`);
        assert.match(facts, /^(default: |required)/, `--${spec.flag} says its default: ${facts}`);
        if (spec.isDuration && spec.hasDefault) {
          const shown = /^default: (\S+)/.exec(facts)?.[1] ?? '';
          assert.match(shown, /^\d+(ms|s|m|h|d)$/, `--${spec.flag} default in units: ${facts}`);
          assert.equal(
            parseDuration(shown),
            spec.defaultValue,
            `--${spec.flag}: the shown default reads back as the real one`,
          );
        }
      }
    });
  }

  it('shows the durations of the real defaults in human units', () => {
    const help = formatUsage('usage', describeOptions(schemas.producerConfigSchema));
    assert.match(help, /--reconcile-interval <duration>.*\n\s+default: 1h · MIRRORLOG_RECONCILE_INTERVAL/);
    assert.match(help, /--history-window <duration>.*\n\s+default: 7d ·/);
    assert.match(help, /--inline-max-bytes <value>.*\n\s+default: 16384 \(16 KiB\) ·/);
    assert.ok(!/\b(3600000|604800000)\b/.test(help), 'no duration shown in milliseconds');
  });

  it('formats durations in the largest unit that divides them, as parseDuration reads them', () => {
    for (const [ms, text] of [
      [5, '5ms'],
      [1000, '1s'],
      [90_000, '90s'],
      [3_600_000, '1h'],
      [604_800_000, '7d'],
      [1500, '1500ms'],
      [0, '0s'],
    ] as const) {
      assert.equal(formatDuration(ms), text);
      assert.equal(parseDuration(text), ms);
    }
  });

  it('lets a command say what a default means there (up: two consecutive ports)', () => {
    const result = cli('up', '--help');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /two consecutive ports/);
    assert.match(
      result.stdout,
      /--metrics-port <value>\s+first of two consecutive ports: N for the producer, N\+1 for the applier/,
    );
  });
});

describe('mirrorlog', () => {
  it('prints its version', () => {
    const result = cli('--version');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^mirrorlog \d+\.\d+\.\d+\n$/);
  });

  it('names --config and the README in its top-level help', () => {
    const result = cli('--help');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /--config FILE/);
    assert.match(result.stdout, /README\.md/);
    assert.match(result.stdout, /--version/);
  });
});
