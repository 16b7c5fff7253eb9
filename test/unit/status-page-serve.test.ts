// `mirrorlog status --serve --bind ADDR` warns unless ADDR is loopback: which addresses are.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLoopback } from '../../services/cli/status-page/serve.ts';

test('loopback addresses need no warning; any other address does', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.equal(isLoopback(host), true, host);
  for (const host of ['0.0.0.0', '::', '192.168.1.5', '10.0.0.1', 'backup-1.example', '128.0.0.1'])
    assert.equal(isLoopback(host), false, host);
});
