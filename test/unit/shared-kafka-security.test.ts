// TLS and SASL options for every Kafka client, from the common config: what is read,
// what is refused in one line naming the option, and that no secret reaches a message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commonShape } from '../../schemas/config.ts';
import { redactConfig } from '../../services/shared/config.ts';
import { CliError } from '../../services/shared/errors.ts';
import {
  describeKafkaSecurity,
  kafkaClientSecurity,
  type KafkaSecurityConfig,
} from '../../services/shared/kafka-security.ts';
import { s3OptionsFromConfig } from '../../services/shared/s3-content-store.ts';
import { z } from 'zod';

const files: Record<string, string> = {
  '/ca.pem': 'CA PEM',
  '/c.pem': 'CERT',
  '/k.pem': 'KEY',
  '/pw': 'file-secret\n',
  '/empty': '',
};
const read = (path: string): Buffer => {
  const text = files[path];
  if (text === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
  return Buffer.from(text);
};
const base: KafkaSecurityConfig = { kafkaTls: false };

test('plaintext by default: no ssl, no sasl', () => {
  assert.deepEqual(kafkaClientSecurity(base, read), {});
});

test('TLS with a private CA and a client certificate: the files are read once, into kafkajs ssl options', () => {
  const security = kafkaClientSecurity(
    { ...base, kafkaCaFile: '/ca.pem', kafkaCertFile: '/c.pem', kafkaKeyFile: '/k.pem' },
    read,
  );
  assert.equal(security.ssl?.rejectUnauthorized, true);
  assert.deepEqual(security.ssl?.ca, [Buffer.from('CA PEM')]);
  assert.deepEqual([security.ssl?.cert, security.ssl?.key], [Buffer.from('CERT'), Buffer.from('KEY')]);
  assert.equal(security.sasl, undefined);
  assert.deepEqual(kafkaClientSecurity({ ...base, kafkaTls: true }, read).ssl, { rejectUnauthorized: true });
});

test('SASL implies TLS; the password comes from a file (newline dropped) or the value', () => {
  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    const fromFile = kafkaClientSecurity(
      { ...base, kafkaSaslMechanism: mechanism, kafkaSaslUsername: 'sam', kafkaSaslPasswordFile: '/pw' },
      read,
    );
    assert.deepEqual(fromFile.sasl, { mechanism, username: 'sam', password: 'file-secret' });
    assert.ok(fromFile.ssl !== undefined, 'never a password in clear');
  }
  const fromValue = kafkaClientSecurity(
    { ...base, kafkaSaslMechanism: 'plain', kafkaSaslUsername: 'pat', kafkaSaslPassword: 'env-secret' },
    read,
  );
  assert.equal((fromValue.sasl as { password: string }).password, 'env-secret');
});

test('incomplete or contradictory settings are one-line errors naming the option, never quoting a secret', () => {
  const cases: Array<[Partial<KafkaSecurityConfig>, RegExp]> = [
    [{ kafkaCertFile: '/c.pem' }, /--kafka-cert-file .* --kafka-key-file/],
    [{ kafkaCaFile: '/missing.pem' }, /--kafka-ca-file \(MIRRORLOG_KAFKA_CA_FILE\): cannot read \/missing.pem: ENOENT/],
    [{ kafkaSaslMechanism: 'scram-sha-256', kafkaSaslPassword: 'hunter2' }, /needs a user: set --kafka-sasl-username/],
    [
      { kafkaSaslMechanism: 'scram-sha-256', kafkaSaslUsername: 'u' },
      /needs a password: set --kafka-sasl-password-file/,
    ],
    [
      {
        kafkaSaslMechanism: 'plain',
        kafkaSaslUsername: 'u',
        kafkaSaslPassword: 'hunter2',
        kafkaSaslPasswordFile: '/pw',
      },
      /one, not both/,
    ],
    [{ kafkaSaslMechanism: 'plain', kafkaSaslUsername: 'u', kafkaSaslPasswordFile: '/empty' }, /is empty/],
    [{ kafkaSaslUsername: 'u', kafkaSaslPassword: 'hunter2' }, /no mechanism: set --kafka-sasl-mechanism/],
  ];
  for (const [config, message] of cases) {
    assert.throws(
      () => kafkaClientSecurity({ ...base, ...config }, read),
      (error: unknown) =>
        error instanceof CliError &&
        message.test(error.message) &&
        !error.message.includes('hunter2') &&
        !error.message.includes('\n'),
      JSON.stringify(config),
    );
  }
});

test('secrets stay out of logs: the password is redacted, the description names the user only', () => {
  const security = kafkaClientSecurity(
    {
      ...base,
      kafkaCaFile: '/ca.pem',
      kafkaSaslMechanism: 'scram-sha-512',
      kafkaSaslUsername: 'sam',
      kafkaSaslPassword: 'hunter2',
    },
    read,
  );
  const line = describeKafkaSecurity(security);
  assert.equal(line, "TLS (private CA), SASL scram-sha-512 as 'sam'");
  const config = z
    .object(commonShape)
    .parse({ kafkaSaslMechanism: 'scram-sha-512', kafkaSaslUsername: 'sam', kafkaSaslPassword: 'hunter2' });
  assert.doesNotMatch(JSON.stringify(redactConfig(config)), /hunter2/);
  assert.throws(() => z.object(commonShape).parse({ kafkaSaslMechanism: 'gssapi' }), /plain|scram/);
});

test('S3 over https with a private CA: the CA file is read into the store options; a missing one is named', () => {
  const config = z.object(commonShape).parse({ s3Endpoint: 'https://127.0.0.1:9000', s3CaFile: '/ca.pem' });
  assert.equal(String(s3OptionsFromConfig(config, read).ca), 'CA PEM');
  assert.throws(
    () => s3OptionsFromConfig({ ...config, s3CaFile: '/nope' }, read),
    /--s3-ca-file \(MIRRORLOG_S3_CA_FILE\): cannot read \/nope/,
  );
  assert.equal(s3OptionsFromConfig(z.object(commonShape).parse({}), read).ca, undefined);
  // Path-style by default (MinIO, SeaweedFS, Ceph); virtual-hosted when asked (AWS S3).
  assert.equal(s3OptionsFromConfig(config, read).pathStyle, true);
  assert.equal(s3OptionsFromConfig(z.object(commonShape).parse({ s3PathStyle: 'false' }), read).pathStyle, false);
});
