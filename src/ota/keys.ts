// Ed25519 keys: PEM files (PKCS8 private, SPKI public) and the key id, the first
// 16 hex digits of the sha256 of the raw 32-byte public key.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { OtaError } from './errors';

export function keyId(pub: KeyObject): string {
  const der = pub.export({ format: 'der', type: 'spki' });
  // an Ed25519 SPKI is a fixed 12-byte prefix and the 32-byte key
  return createHash('sha256').update(der.subarray(der.length - 32)).digest('hex').slice(0, 16);
}

export function generateKeys(): { privatePem: string; publicPem: string; keyId: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    keyId: keyId(publicKey),
  };
}

function readPem(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new OtaError('untrusted_key', `cannot read key ${file}: ${(e as Error).message}`);
  }
}

export function loadPrivateKey(file: string): KeyObject {
  let k: KeyObject;
  try {
    k = createPrivateKey(readPem(file));
  } catch (e) {
    if (e instanceof OtaError) throw e;
    throw new OtaError('untrusted_key', `${file} is not a PEM private key: ${(e as Error).message}`);
  }
  if (k.asymmetricKeyType !== 'ed25519') throw new OtaError('untrusted_key', `${file} is a ${k.asymmetricKeyType} key, not Ed25519`);
  return k;
}

export function publicKeyFromPem(pem: string, source: string): KeyObject {
  let k: KeyObject;
  try {
    k = createPublicKey(pem);
  } catch (e) {
    throw new OtaError('untrusted_key', `${source} is not a PEM public key: ${(e as Error).message}`);
  }
  if (k.asymmetricKeyType !== 'ed25519') throw new OtaError('untrusted_key', `${source} is a ${k.asymmetricKeyType} key, not Ed25519`);
  return k;
}

/** The trusted public keys, by key id. */
export class KeyRing {
  private readonly keys = new Map<string, KeyObject>();

  static fromFiles(files: readonly string[]): KeyRing {
    const ring = new KeyRing();
    for (const f of files) ring.add(publicKeyFromPem(readPem(f), f));
    return ring;
  }

  add(pub: KeyObject): string {
    const id = keyId(pub);
    this.keys.set(id, pub);
    return id;
  }

  get size(): number {
    return this.keys.size;
  }

  /** Throws untrusted_key / bad_signature; returns normally when `signature` is keyId's over `data`. */
  verify(id: string, data: Uint8Array, signature: Uint8Array): void {
    const pub = this.keys.get(id);
    if (!pub) throw new OtaError('untrusted_key', `key ${id} is not among the ${this.keys.size} trusted key(s)`);
    if (signature.length !== 64 || !verify(null, data, pub, signature)) throw new OtaError('bad_signature', `the signature does not verify with key ${id}`);
  }
}

export function signBytes(priv: KeyObject, data: Uint8Array): Buffer {
  return sign(null, data, priv);
}
