/**
 * How a client authenticates at the token endpoint (`token_endpoint_auth_method`): no
 * authentication (a public client), its secret in a Basic header or in the request body, or a
 * JWT signed with its private key (RFC 7523, `private_key_jwt`).
 *
 * Loaded only with openid-client (see oauth-client.ts).
 */
import { createPrivateKey, type JsonWebKey, type KeyObject, type webcrypto } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { importJWK } from 'jose';
import * as client from 'openid-client';
import { PRIVATE_KEY_ALGS, type PrivateKeyAlg, type PrivateKeySource } from '../config/schema.js';
import { AuthenticationRequired, InvalidConfig } from '../errors.js';

/** A client's authentication at the token endpoint, as the provider factory resolved it. */
export type ClientAuthentication =
  | { method: 'none' }
  | {
      method: 'client_secret_basic' | 'client_secret_post';
      /** `null` when the secret's `${VAR}` is unset; `hint` then says what to set. */
      secret: string | null;
      hint: string;
    }
  | {
      method: 'private_key_jwt';
      /** `null` when the key's `${VAR}` is unset; `hint` then says what to set. */
      key: PrivateKeySource | null;
      hint: string;
      /** Absent: inferred from the key (RSA → RS256, P-256 → ES256, Ed25519 → EdDSA, …). */
      alg?: PrivateKeyAlg;
      /** The setting that holds the key, for messages: `providers.robot.private_key`. */
      setting: string;
    };

/** A private key file larger than this is not a key: refuse it before reading it all. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

/**
 * The openid-client authentication for `auth`, and the client metadata that goes with it.
 * @throws AuthenticationRequired when a secret method has no secret; InvalidConfig when the
 *   private key cannot be read or is not a private key (the message never quotes the key).
 */
export async function clientAuthFor(
  auth: ClientAuthentication,
): Promise<{ auth: client.ClientAuth; metadata: Partial<client.ClientMetadata> }> {
  const metadata: Partial<client.ClientMetadata> = { token_endpoint_auth_method: auth.method };
  switch (auth.method) {
    case 'none':
      return { auth: client.None(), metadata };
    case 'client_secret_basic':
    case 'client_secret_post': {
      if (!auth.secret) throw new AuthenticationRequired('no client secret is set', { hint: auth.hint });
      const make = auth.method === 'client_secret_basic' ? client.ClientSecretBasic : client.ClientSecretPost;
      return { auth: make(auth.secret), metadata };
    }
    case 'private_key_jwt': {
      if (!auth.key) throw new AuthenticationRequired('no private key is set', { hint: auth.hint });
      const { key, kid } = await signingKey(auth, auth.key);
      return { auth: client.PrivateKeyJwt(kid ? { key, kid } : key), metadata };
    }
  }
}

/** Reads the private key (a file or `${VAR}` text; PEM or JWK) into a non-extractable CryptoKey. */
async function signingKey(
  auth: Extract<ClientAuthentication, { method: 'private_key_jwt' }>,
  source: PrivateKeySource,
): Promise<{ key: webcrypto.CryptoKey; kid: string | undefined }> {
  const where = { key: auth.setting };
  const text = source.kind === 'file' ? readKeyFile(source.path, auth.setting) : source.pem;
  let jwkInput: Record<string, unknown> | undefined;
  let keyObject: KeyObject;
  try {
    if (text.trimStart().startsWith('{')) {
      jwkInput = JSON.parse(text) as Record<string, unknown>;
      keyObject = createPrivateKey({ key: jwkInput as JsonWebKey, format: 'jwk' });
    } else {
      keyObject = createPrivateKey(text);
    }
  } catch {
    // The parser's message may quote the key: say only what it is not.
    throw new InvalidConfig('is not a private key (PEM or a JWK with its private part)', where, {
      hint: 'give the client private key whose public key the provider has registered',
    });
  }
  const alg = auth.alg ?? jwkAlg(jwkInput) ?? inferAlg(keyObject);
  if (!alg) {
    throw new InvalidConfig(
      `holds a ${keyObject.asymmetricKeyType ?? 'unknown'} key whose algorithm keyfob cannot infer`,
      where,
      { hint: 'set private_key_alg (e.g. RS256, PS256, ES256, EdDSA)' },
    );
  }
  const jwk = keyObject.export({ format: 'jwk' });
  try {
    const key = await importJWK({ ...jwk, alg }, alg, { extractable: false });
    if (key instanceof Uint8Array) throw new Error('not an asymmetric key');
    const kid = typeof jwkInput?.kid === 'string' ? jwkInput.kid : undefined;
    return { key, kid };
  } catch (error) {
    throw new InvalidConfig(`cannot be used with ${alg}`, where, {
      hint: 'set private_key_alg to an algorithm of the key type (RSA: RS256/PS256, P-256: ES256, Ed25519: EdDSA)',
      cause: error,
    });
  }
}

/** A key file: a regular file, bounded in size. */
function readKeyFile(path: string, setting: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new InvalidConfig(`cannot read the key file ${path} (${code})`, { key: setting }, { cause: error });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new InvalidConfig(`${path} is not a regular file`, { key: setting });
    if (stat.size > MAX_KEY_FILE_BYTES) {
      throw new InvalidConfig(`${path} is larger than ${MAX_KEY_FILE_BYTES} bytes: not a key file`, {
        key: setting,
      });
    }
    const buffer = Buffer.alloc(stat.size);
    const read = readSync(fd, buffer, 0, stat.size, 0);
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** A JWK's own `alg`, when it names one keyfob accepts. */
function jwkAlg(jwk: Record<string, unknown> | undefined): PrivateKeyAlg | undefined {
  const alg = jwk?.alg;
  return typeof alg === 'string' && (PRIVATE_KEY_ALGS as readonly string[]).includes(alg)
    ? (alg as PrivateKeyAlg)
    : undefined;
}

/** The usual algorithm of a key type: what providers register by default. */
function inferAlg(key: KeyObject): PrivateKeyAlg | undefined {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256';
    case 'rsa-pss':
      return 'PS256';
    case 'ed25519':
      return 'EdDSA';
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1') return 'ES256';
      if (curve === 'secp384r1') return 'ES384';
      if (curve === 'secp521r1') return 'ES512';
      return undefined;
    }
    default:
      return undefined;
  }
}
