// The .qie bundle (README "Over-the-air updates"):
//   0  "QIEB" | 4 u16 format (1) | 6 u16 reserved (0) | 8 u32 manifest length M (<= 1 MiB)
//   12 manifest (UTF-8 JSON, the signed bytes) | 12+M Ed25519 signature (64)
//   76+M model bytes (manifest.model.size) | fallback model bytes (manifest.fallback.size)
// Verification streams: the header is checked as soon as it is complete (key, signature,
// manifest), the model hashes as bytes arrive, and the length must be exact.
import { createHash, Hash, KeyObject } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { OtaError } from './errors';
import { KeyRing, signBytes } from './keys';
import { canonicalManifest, Manifest, parseManifest } from './manifest';

export const BUNDLE_MAGIC = 'QIEB';
export const BUNDLE_FORMAT = 1;
export const FIXED_HEADER_BYTES = 12;
export const SIGNATURE_BYTES = 64;
export const MAX_MANIFEST_BYTES = 1024 * 1024;

export interface BundleHeader {
  manifest: Manifest;
  /** The exact signed bytes. */
  manifestBytes: Buffer;
  signature: Buffer;
  /** 76 + M: where the model starts. */
  headerBytes: number;
  /** The whole bundle's size the manifest implies. */
  totalBytes: number;
}

export function bundleSize(m: Manifest, manifestBytes: number): number {
  return FIXED_HEADER_BYTES + manifestBytes + SIGNATURE_BYTES + m.model.size + (m.fallback?.size ?? 0);
}

/** Reads the 12 fixed bytes; returns the manifest length. */
function fixedHeader(b: Uint8Array): number {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.toString('latin1', 0, 4) !== BUNDLE_MAGIC) throw new OtaError('bad_bundle', 'not a qie bundle (magic is not QIEB)');
  const version = buf.readUInt16LE(4);
  if (version !== BUNDLE_FORMAT) throw new OtaError('bad_bundle', `bundle format ${version} is not supported (this device reads ${BUNDLE_FORMAT})`);
  if (buf.readUInt16LE(6) !== 0) throw new OtaError('bad_bundle', 'reserved header bytes are not zero');
  const m = buf.readUInt32LE(8);
  if (m < 2 || m > MAX_MANIFEST_BYTES) throw new OtaError('oversize', `manifest length ${m} is outside 2..${MAX_MANIFEST_BYTES}`);
  return m;
}

/** Checks the signature with the manifest's key, then the manifest itself. */
function checkHeader(manifestBytes: Buffer, signature: Buffer, keys: KeyRing): BundleHeader {
  // the key id is needed before the manifest can be trusted: read just that field
  let id: unknown;
  try {
    id = (JSON.parse(manifestBytes.toString('utf8')) as { keyId?: unknown })?.keyId;
  } catch (e) {
    throw new OtaError('bad_bundle', `the manifest is not JSON: ${(e as Error).message}`);
  }
  if (typeof id !== 'string' || !/^[0-9a-f]{16}$/.test(id)) throw new OtaError('bad_bundle', 'the manifest names no valid keyId');
  keys.verify(id, manifestBytes, signature);
  const manifest = parseManifest(manifestBytes);
  return { manifest, manifestBytes, signature, headerBytes: FIXED_HEADER_BYTES + manifestBytes.length + SIGNATURE_BYTES, totalBytes: bundleSize(manifest, manifestBytes.length) };
}

/**
 * Parses and verifies a bundle header given whole (bytes 0..76+M-1, as an update
 * order carries it). Exactly the header: nothing missing, nothing after it.
 */
export function readBundleHeader(bytes: Uint8Array, keys: KeyRing): BundleHeader {
  if (bytes.length < FIXED_HEADER_BYTES) throw new OtaError('truncated', `a bundle header has at least ${FIXED_HEADER_BYTES} bytes, got ${bytes.length}`);
  const m = fixedHeader(bytes);
  const want = FIXED_HEADER_BYTES + m + SIGNATURE_BYTES;
  if (bytes.length < want) throw new OtaError('truncated', `the header needs ${want} bytes, got ${bytes.length}`);
  if (bytes.length > want) throw new OtaError('oversize', `the header has ${bytes.length} bytes, its manifest length implies ${want}`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return checkHeader(Buffer.from(buf.subarray(FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + m)), Buffer.from(buf.subarray(FIXED_HEADER_BYTES + m, want)), keys);
}

export interface VerifierOptions {
  /** Gets the model's bytes as they pass (after the header verified). */
  onModel?(chunk: Buffer): void;
  onFallback?(chunk: Buffer): void;
}

/**
 * Streaming verifier: push() pieces of any size; each throws an OtaError at the
 * first byte that proves the bundle bad. end() checks that nothing is missing.
 */
export class BundleVerifier {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private manifestLength = -1;
  private hdr: BundleHeader | undefined;
  private seen = 0;
  private modelHash: Hash | undefined;
  private fallbackHash: Hash | undefined;
  private failed: OtaError | undefined;

  constructor(
    private readonly keys: KeyRing,
    private readonly opts: VerifierOptions = {},
  ) {}

  get header(): BundleHeader | undefined {
    return this.hdr;
  }

  /** Bytes taken so far. */
  get bytes(): number {
    return this.seen;
  }

  push(chunk: Uint8Array): void {
    if (this.failed) throw this.failed;
    try {
      this.take(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (e) {
      this.failed = e instanceof OtaError ? e : new OtaError('internal', (e as Error).message);
      throw this.failed;
    }
  }

  private take(chunk: Buffer): void {
    let rest = chunk;
    if (!this.hdr) {
      // a copy: callers may reuse their buffer for the next piece
      this.pending.push(Buffer.from(rest));
      this.pendingBytes += rest.length;
      this.seen += rest.length;
      if (this.manifestLength < 0) {
        if (this.pendingBytes < FIXED_HEADER_BYTES) return;
        this.manifestLength = fixedHeader(Buffer.concat(this.pending).subarray(0, FIXED_HEADER_BYTES));
      }
      const headerBytes = FIXED_HEADER_BYTES + this.manifestLength + SIGNATURE_BYTES;
      if (this.pendingBytes < headerBytes) return;
      const all = Buffer.concat(this.pending);
      this.pending = [];
      this.pendingBytes = 0;
      this.hdr = checkHeader(Buffer.from(all.subarray(FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + this.manifestLength)), Buffer.from(all.subarray(FIXED_HEADER_BYTES + this.manifestLength, headerBytes)), this.keys);
      this.modelHash = createHash('sha256');
      if (this.hdr.manifest.fallback) this.fallbackHash = createHash('sha256');
      rest = all.subarray(headerBytes);
      this.seen -= rest.length;
    }
    const h = this.hdr;
    const modelEnd = h.headerBytes + h.manifest.model.size;
    while (rest.length) {
      if (this.seen >= h.totalBytes) throw new OtaError('oversize', `bytes after the end of the bundle (it is ${h.totalBytes} bytes)`);
      const limit = this.seen < modelEnd ? modelEnd : h.totalBytes;
      const n = Math.min(rest.length, limit - this.seen);
      const part = rest.subarray(0, n);
      if (this.seen < modelEnd) {
        this.modelHash!.update(part);
        this.opts.onModel?.(part);
      } else {
        this.fallbackHash!.update(part);
        this.opts.onFallback?.(part);
      }
      this.seen += n;
      rest = rest.subarray(n);
      if (this.seen === modelEnd) {
        const got = this.modelHash!.digest('hex');
        if (got !== h.manifest.model.sha256) throw new OtaError('hash_mismatch', `the model's sha256 is ${got}, the manifest signs ${h.manifest.model.sha256}`);
      }
      if (this.seen === h.totalBytes && h.manifest.fallback) {
        const got = this.fallbackHash!.digest('hex');
        if (got !== h.manifest.fallback.sha256) throw new OtaError('hash_mismatch', `the fallback model's sha256 is ${got}, the manifest signs ${h.manifest.fallback.sha256}`);
      }
    }
  }

  /** The bundle is complete and every hash matched. */
  end(): BundleHeader {
    if (this.failed) throw this.failed;
    const h = this.hdr;
    if (!h) throw new OtaError('truncated', `the bundle ends inside its header (${this.seen} bytes)`);
    if (this.seen < h.totalBytes) throw new OtaError('truncated', `the bundle has ${this.seen} of its ${h.totalBytes} bytes`);
    return h;
  }
}

export interface VerifiedBundle {
  header: BundleHeader;
  model?: Buffer;
  fallback?: Buffer;
}

const READ_PIECE = 256 * 1024;

/**
 * Verifies a bundle file by reading it in pieces. `keepModel` also returns the
 * model (and fallback) bytes; `expectHeader` requires the file to start with
 * exactly those header bytes (an order's header).
 */
export function verifyBundleFile(file: string, keys: KeyRing, opts: { keepModel?: boolean; expectHeader?: Uint8Array } = {}): VerifiedBundle {
  const model: Buffer[] = [];
  const fallback: Buffer[] = [];
  const v = new BundleVerifier(keys, opts.keepModel ? { onModel: (c) => model.push(Buffer.from(c)), onFallback: (c) => fallback.push(Buffer.from(c)) } : {});
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new OtaError('io', `cannot open bundle ${file}: ${(e as Error).message}`);
  }
  try {
    const buf = Buffer.allocUnsafe(READ_PIECE);
    let pos = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, READ_PIECE, pos);
      if (n === 0) break;
      if (opts.expectHeader && pos < opts.expectHeader.length) {
        const k = Math.min(n, opts.expectHeader.length - pos);
        if (!buf.subarray(0, k).equals(Buffer.from(opts.expectHeader.subarray(pos, pos + k))))
          throw new OtaError('hash_mismatch', 'the bundle does not start with the header the order announced');
      }
      v.push(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  const header = v.end();
  if (opts.expectHeader && header.headerBytes !== opts.expectHeader.length) throw new OtaError('hash_mismatch', 'the bundle header differs in length from the one the order announced');
  return { header, model: opts.keepModel ? Buffer.concat(model) : undefined, fallback: opts.keepModel && header.manifest.fallback ? Buffer.concat(fallback) : undefined };
}

/** Builds a bundle: signs the canonical manifest bytes with `key`. */
export function packBundle(manifest: Manifest, model: Uint8Array, key: KeyObject, fallback?: Uint8Array): Buffer {
  const manifestBytes = canonicalManifest(manifest);
  if (manifestBytes.length > MAX_MANIFEST_BYTES) throw new OtaError('oversize', `the manifest is ${manifestBytes.length} bytes; at most ${MAX_MANIFEST_BYTES}`);
  if (model.length !== manifest.model.size) throw new OtaError('internal', 'manifest.model.size differs from the model bytes');
  if ((fallback?.length ?? 0) !== (manifest.fallback?.size ?? 0)) throw new OtaError('internal', 'manifest.fallback.size differs from the fallback bytes');
  const fixed = Buffer.alloc(FIXED_HEADER_BYTES);
  fixed.write(BUNDLE_MAGIC, 0, 'latin1');
  fixed.writeUInt16LE(BUNDLE_FORMAT, 4);
  fixed.writeUInt16LE(0, 6);
  fixed.writeUInt32LE(manifestBytes.length, 8);
  return Buffer.concat([fixed, manifestBytes, signBytes(key, manifestBytes), model, ...(fallback ? [fallback] : [])]);
}

export function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
