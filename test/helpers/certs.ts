// Certificates made by the test with openssl: a private CA, a server certificate for
// 127.0.0.1/localhost, and a client certificate, all PEM. Nothing here is trusted by
// anything but the test that made it.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { tempDir } from './producer.ts';

const run = promisify(execFile);

export interface TestCertificates {
  dir: string;
  caFile: string;
  /** Server key (PKCS#8, unencrypted) followed by its certificate: a Kafka PEM keystore. */
  serverKeystoreFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir }).catch((error: { stderr?: string; message: string }) => {
    throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed: ${error.stderr ?? error.message}`);
  });
}

async function issue(dir: string, name: string, subject: string, extensions: string): Promise<void> {
  await openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`]);
  await openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-sha256',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
  ]);
}

export async function makeCertificates(t: TestContext): Promise<TestCertificates> {
  const dir = tempDir(t, 'certs');
  await openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'ca.key']);
  await openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    'ca.key',
    '-subj',
    '/CN=mirrorlog test CA',
    '-days',
    '2',
    '-sha256',
    '-out',
    'ca.pem',
  ]);
  await issue(
    dir,
    'server',
    '/CN=localhost',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  await issue(dir, 'client', '/CN=mirrorlog-client', 'extendedKeyUsage=clientAuth\n');
  const keystore = join(dir, 'server-keystore.pem');
  writeFileSync(
    keystore,
    Buffer.concat([readFileSync(join(dir, 'server.key')), readFileSync(join(dir, 'server.pem'))]),
  );
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    serverKeystoreFile: keystore,
    serverCertFile: join(dir, 'server.pem'),
    serverKeyFile: join(dir, 'server.key'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client.key'),
  };
}

/** The layout MinIO's --certs-dir wants: public.crt, private.key, and CAs/ca.crt. */
export function minioCertsDir(certs: TestCertificates): string {
  const dir = join(certs.dir, 'minio-certs');
  mkdirSync(join(dir, 'CAs'), { recursive: true });
  copyFileSync(certs.serverCertFile, join(dir, 'public.crt'));
  copyFileSync(certs.serverKeyFile, join(dir, 'private.key'));
  copyFileSync(certs.caFile, join(dir, 'CAs', 'ca.crt'));
  return dir;
}
