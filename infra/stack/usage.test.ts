// `mirrorlog stack --help` describes every option of every subcommand with its default, in human units.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SUBCOMMANDS } from './command.ts';
import { stackUsage } from './usage.ts';

/** The help row of `--flag`: its line and the line of facts under it. */
function rowOf(help: string, flag: string): { text: string; facts: string } {
  const lines = help.split('\n');
  const at = lines.findIndex((line) => line.startsWith(`  --${flag} `) || line.startsWith(`  --${flag},`));
  assert.ok(at >= 0, `--${flag} has no row in stack --help`);
  return { text: lines[at]!, facts: lines[at + 1] ?? '' };
}

test('every stack option has a row with what it does and its default', () => {
  const help = stackUsage();
  const flags = new Set(Object.values(SUBCOMMANDS).flatMap((options) => Object.keys(options)));
  assert.ok(flags.size >= 8);
  for (const flag of flags) {
    const row = rowOf(help, flag);
    assert.ok(row.text.trim().length > `--${flag}`.length + 10, `--${flag} has no description`);
    if (flag !== 'help') assert.match(row.facts, /^\s+default: /, `--${flag} shows no default`);
  }
});

test('the defaults shown are the stack defaults: ports, server kind, timeout in units, directories', () => {
  const help = stackUsage();
  assert.match(rowOf(help, 'kafka-port').facts, /default: 9092 \(controller 9093\) · MIRRORLOG_STACK_KAFKA_PORT/);
  assert.match(
    rowOf(help, 's3-port').facts,
    /default: 8333 \(SeaweedFS 8334-8337, gRPC \+10000\) · MIRRORLOG_STACK_S3_PORT/,
  );
  assert.match(rowOf(help, 's3-server').facts, /default: seaweedfs · MIRRORLOG_STACK_S3_SERVER/);
  assert.match(rowOf(help, 'timeout').facts, /default: 2m$/);
  assert.match(
    rowOf(help, 'cluster').facts,
    /nodes on 19092-19094, controllers 19102-19104 · MIRRORLOG_CLUSTER_BASE_PORT/,
  );
  assert.match(help, /~\/\.local\/state\/mirrorlog\/stack · MIRRORLOG_STACK_DIR/);
  assert.match(help, /~\/\.local\/state\/mirrorlog\/cluster · MIRRORLOG_CLUSTER_DIR/);
  assert.match(help, /~\/\.cache\/mirrorlog · MIRRORLOG_CACHE_DIR/);
  assert.match(help, /~\/\.local\/state\/mirrorlog\/stacks\/NAME/);
});
