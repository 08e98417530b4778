/**
 * A throw-away certificate authority for tests, made at run time with the `openssl` command
 * (node:crypto cannot create X.509 certificates): a CA and a server certificate for
 * `127.0.0.1` and `localhost` signed by it, as PEM files in a temporary directory. Nothing is
 * checked in, so no test depends on a certificate that expires.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  /** The directory holding every file below. */
  dir: string;
  /** The CA certificate (PEM): what a client is told to trust. */
  caFile: string;
  /** The server's private key and certificate (PEM), for `startDevIdp({ tls })`. */
  keyFile: string;
  certFile: string;
  key: Buffer;
  cert: Buffer;
  /** Removes the directory. */
  remove(): void;
}

/** Runs openssl quietly; its own error text is kept if it fails. */
function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Makes a CA and a server certificate signed by it, valid for two days. EC P-256 keys: quick
 * to generate on a loaded CI machine.
 */
export function makeTestCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'keyfob-tls-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=keyfob test CA (throw-away)',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
  writeFileSync(
    join(dir, 'server.ext'),
    [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      '',
    ].join('\n'),
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      'server.ext',
      '-out',
      'server.pem',
    ],
    dir,
  );
  const keyFile = join(dir, 'server.key');
  const certFile = join(dir, 'server.pem');
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    keyFile,
    certFile,
    key: readFileSync(keyFile),
    cert: readFileSync(certFile),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
