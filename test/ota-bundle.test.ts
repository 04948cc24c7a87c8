// The .qie bundle: pack/verify round trip with real keys and a real model; every
// kind of damage (flipped bytes in each part, truncation anywhere, extra bytes,
// wrong or untrusted key, oversize manifest length, garbage) gives its OtaError code;
// the streaming verifier gives the same answers fed in random piece sizes; the
// qie-fleet keygen / pack / verify commands.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { makeDemoModel } from '../firmware-tools/demo/model';
import { loadModel } from '../src/engine/model';
import { BundleVerifier, packBundle, readBundleHeader, verifyBundleFile } from '../src/ota/bundle';
import { OtaError } from '../src/ota/errors';
import { generateKeys, KeyRing, publicKeyFromPem } from '../src/ota/keys';
import { makeBundle } from '../src/ota/make-bundle';
import { canonicalManifest, Manifest } from '../src/ota/manifest';
import { compareSemver } from '../src/ota/semver';
import { runSelfTest } from '../src/ota/selftest';

const demo = makeDemoModel();
const signer = generateKeys();
const stranger = generateKeys();
const ring = (...pems: string[]) => {
  const r = new KeyRing();
  for (const p of pems) r.add(publicKeyFromPem(p, 'test'));
  return r;
};
const trusted = ring(signer.publicPem);

let packed: { bundle: Buffer; manifest: Manifest } | undefined;
async function bundle(): Promise<{ bundle: Buffer; manifest: Manifest }> {
  packed ??= await makeBundle({ model: demo.tflite, name: 'motion', version: '1.2.3', key: createPrivateKey(signer.privatePem), labels: [...demo.labels], fallback: demo.tflite, randomVectors: 3 });
  return packed;
}

/**
 * Verifies with the streaming verifier, in random piece sizes, each piece passed in
 * one reused scratch buffer (as a file reader does), so a verifier that kept a view
 * instead of a copy would see overwritten bytes.
 */
function streamVerify(b: Buffer, keys: KeyRing, seed: number): void {
  const v = new BundleVerifier(keys);
  const scratch = Buffer.alloc(700);
  let s = seed;
  for (let off = 0; off < b.length; ) {
    s = (s * 1103515245 + 12345) >>> 0;
    const n = Math.min(1 + (s % 700), b.length - off);
    b.copy(scratch, 0, off, off + n);
    v.push(scratch.subarray(0, n));
    scratch.fill(0xee);
    off += n;
  }
  v.end();
}

function codeOf(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof OtaError) return e.code;
    throw e;
  }
  return 'ok';
}

test('pack -> verify round trip; the manifest carries specs, hashes, labels, self-test vectors', async (t) => {
  const { bundle: b, manifest: m } = await bundle();
  const manifestBytes = canonicalManifest(m);
  t.is(b.length, 76 + manifestBytes.length + demo.tflite.length * 2, 'header + model + fallback, nothing else');
  t.is(b.toString('latin1', 0, 4), 'QIEB');
  t.is(b.readUInt16LE(4), 1);
  t.is(b.readUInt32LE(8), manifestBytes.length);
  const h = readBundleHeader(b.subarray(0, 76 + manifestBytes.length), trusted);
  t.is(h.manifest.version, '1.2.3');
  t.is(h.totalBytes, b.length);
  t.is(h.manifest.keyId, signer.keyId);
  t.deepEqual(h.manifest.labels, [...demo.labels]);
  t.is(h.manifest.selfTest.length, 3);
  for (let seed = 1; seed <= 20; seed++) t.notThrows(() => streamVerify(b, trusted, seed));
  const dir = mkdtempSync(path.join(tmpdir(), 'qie-bundle-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'b.qie'), b);
  const v = verifyBundleFile(path.join(dir, 'b.qie'), trusted, { keepModel: true });
  t.true(v.model!.equals(Buffer.from(demo.tflite)));
  t.true(v.fallback!.equals(Buffer.from(demo.tflite)));
  // the self-test vectors hold what the model really computes, on another kernel family too
  const model = await loadModel(v.model!, { kernels: 'auto' });
  t.teardown(() => model.dispose());
  await t.notThrowsAsync(runSelfTest([model], m));
});

test('a self-test vector whose expected bytes are wrong fails the self-test', async (t) => {
  const { manifest: m } = await bundle();
  const out = Buffer.from(m.selfTest[1].outputs[0], 'base64');
  out[0] ^= 1;
  const bad: Manifest = { ...m, selfTest: m.selfTest.map((v, i) => (i === 1 ? { ...v, outputs: [out.toString('base64')] } : v)) };
  const model = await loadModel(demo.tflite);
  t.teardown(() => model.dispose());
  const e = await t.throwsAsync(runSelfTest([model], bad), { instanceOf: OtaError });
  t.is(e!.code, 'self_test_failed');
  t.regex(e!.message, /selfTest 1 output 0 differs .* at byte 0/);
});

test('a flipped byte anywhere is refused with the code of the part it hit', async (t) => {
  const { bundle: b } = await bundle();
  const M = b.readUInt32LE(8);
  const modelStart = 76 + M;
  const fallbackStart = modelStart + demo.tflite.length;
  const codes = new Map<string, Set<string>>();
  // every byte of the fixed header, then a spread over the rest
  const offsets = [...Array(12).keys()];
  for (let o = 12; o < b.length; o += 7) offsets.push(o);
  for (const off of offsets) {
    const bad = Buffer.from(b);
    bad[off] ^= 0x20;
    const part = off < 12 ? 'fixed' : off < 12 + M ? 'manifest' : off < modelStart ? 'signature' : off < fallbackStart ? 'model' : 'fallback';
    const code = codeOf(() => streamVerify(bad, trusted, off));
    if (!codes.has(part)) codes.set(part, new Set());
    codes.get(part)!.add(code);
  }
  t.deepEqual([...codes.get('signature')!], ['bad_signature']);
  t.deepEqual([...codes.get('model')!], ['hash_mismatch']);
  t.deepEqual([...codes.get('fallback')!], ['hash_mismatch']);
  // a manifest byte: the signature no longer verifies, or the JSON / key id no longer reads
  for (const c of codes.get('manifest')!) t.true(['bad_signature', 'bad_bundle', 'untrusted_key'].includes(c), c);
  t.true(codes.get('manifest')!.has('bad_signature'));
  // magic, version, reserved: bad_bundle; the length field: a wrong length (truncated, oversize or unreadable)
  for (const c of codes.get('fixed')!) t.true(['bad_bundle', 'oversize', 'truncated', 'bad_signature'].includes(c), c);
  t.false(codes.get('fixed')!.has('ok'));
});

test('truncated at any offset: truncated; a byte too many: oversize', async (t) => {
  const { bundle: b } = await bundle();
  const cuts = [0, 1, 3, 4, 11, 12, 13, 100, 76 + b.readUInt32LE(8) - 1, 76 + b.readUInt32LE(8), 76 + b.readUInt32LE(8) + 1, b.length - demo.tflite.length, b.length - 1];
  for (let c = 200; c < b.length; c += 97) cuts.push(c);
  for (const c of cuts) t.is(codeOf(() => streamVerify(b.subarray(0, c), trusted, c)), 'truncated', `cut at ${c}`);
  t.is(codeOf(() => streamVerify(Buffer.concat([b, Buffer.from([0])]), trusted, 5)), 'oversize');
  // the order's header must be exactly the header
  const M = b.readUInt32LE(8);
  t.is(codeOf(() => readBundleHeader(b.subarray(0, 76 + M - 1), trusted)), 'truncated');
  t.is(codeOf(() => readBundleHeader(b.subarray(0, 76 + M + 1), trusted)), 'oversize');
});

test('untrusted key, wrong key under a trusted id, oversize manifest length, garbage', async (t) => {
  const { bundle: b, manifest: m } = await bundle();
  t.is(codeOf(() => streamVerify(b, ring(stranger.publicPem), 1)), 'untrusted_key');
  t.is(codeOf(() => streamVerify(b, ring(stranger.publicPem, signer.publicPem), 1)), 'ok', 'any trusted key will do');
  // signed by a stranger while claiming the trusted key's id
  const forged = packBundle({ ...m, keyId: signer.keyId }, demo.tflite, createPrivateKey(stranger.privatePem), demo.tflite);
  t.is(codeOf(() => streamVerify(forged, trusted, 2)), 'bad_signature');
  const huge = Buffer.from(b);
  huge.writeUInt32LE(1024 * 1024 + 1, 8);
  t.is(codeOf(() => streamVerify(huge, trusted, 3)), 'oversize');
  huge.writeUInt32LE(0xffffffff, 8);
  t.is(codeOf(() => readBundleHeader(huge.subarray(0, 200), trusted)), 'oversize');
  t.is(codeOf(() => streamVerify(Buffer.from('not a bundle at all, just text'), trusted, 4)), 'bad_bundle');
  t.is(codeOf(() => streamVerify(Buffer.alloc(0), trusted, 4)), 'truncated');
  let s = 99;
  for (let i = 0; i < 200; i++) {
    const g = Buffer.alloc(1 + (i * 37) % 3000);
    for (let k = 0; k < g.length; k++) g[k] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
    if (i % 2) g.write('QIEB\x01\x00\x00\x00', 0, 'latin1');
    const c = codeOf(() => streamVerify(g, trusted, i));
    t.not(c, 'ok');
    t.not(c, 'internal');
  }
});

test('a signed manifest that breaks the schema is bad_bundle, not a crash', async (t) => {
  const { manifest: m } = await bundle();
  const key = createPrivateKey(signer.privatePem);
  const sign = (obj: unknown): Buffer => {
    const mb = Buffer.from(JSON.stringify(obj));
    const fixed = Buffer.alloc(12);
    fixed.write('QIEB', 0, 'latin1');
    fixed.writeUInt16LE(1, 4);
    fixed.writeUInt32LE(mb.length, 8);
    const { sign: s } = require('node:crypto') as typeof import('node:crypto');
    return Buffer.concat([fixed, mb, s(null, mb, key)]);
  };
  for (const bad of [
    { ...m, version: '1.2' },
    { ...m, model: { ...m.model, size: -1 } },
    { ...m, model: { ...m.model, size: 2 ** 40 } },
    { ...m, model: { ...m.model, sha256: 'xyz' } },
    { ...m, selfTest: [] },
    { ...m, selfTest: [{ inputs: ['!!!!'], outputs: ['AAAA'] }] },
    { ...m, extra: 1 },
    { ...m, name: 'a/b' },
  ]) {
    t.is(codeOf(() => readBundleHeader(sign(bad), trusted)), 'bad_bundle', JSON.stringify(bad).slice(0, 80));
  }
});

test('semantic version order', (t) => {
  t.true(compareSemver('1.10.0', '1.9.9') > 0);
  t.true(compareSemver('2.0.0-rc.1', '2.0.0') < 0);
  t.true(compareSemver('2.0.0-rc.2', '2.0.0-rc.10') < 0);
  t.true(compareSemver('2.0.0-alpha', '2.0.0-1') > 0);
  t.is(compareSemver('1.2.3', '1.2.3'), 0);
});

test('qie-fleet keygen, pack, verify', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qie-fleet-ota-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fleet = (...args: string[]) => spawnSync(process.execPath, [path.resolve('dist/firmware-tools/qie-fleet.js'), ...args], { encoding: 'utf8', timeout: 60_000 });
  writeFileSync(path.join(dir, 'm.tflite'), demo.tflite);
  writeFileSync(path.join(dir, 'labels.txt'), demo.labels.join('\n') + '\n');
  const k = fleet('keygen', '--out', path.join(dir, 'keys'));
  t.is(k.status, 0, k.stderr);
  t.regex(k.stdout, /key id [0-9a-f]{16}/);
  t.is(fleet('keygen', '--out', path.join(dir, 'keys')).status, 1, 'never overwrites a key');
  t.is(fleet('keygen', '--out', path.join(dir, 'other'), '--name', 'x').status, 0);
  const inputs = path.join(dir, 'inputs');
  require('node:fs').mkdirSync(inputs);
  writeFileSync(path.join(inputs, '0.bin'), Buffer.alloc(96, 3));
  writeFileSync(path.join(inputs, '1.bin'), Buffer.alloc(96, 250));
  const out = path.join(dir, 'b.qie');
  const p = fleet('pack', '--model', path.join(dir, 'm.tflite'), '--name', 'motion', '--version', '2.0.0', '--key', path.join(dir, 'keys', 'qie-ota.key'), '--labels', path.join(dir, 'labels.txt'), '--self-test-inputs', inputs, '--out', out);
  t.is(p.status, 0, p.stderr);
  const m = readBundleHeader(readFileSync(out).subarray(0, 76 + readFileSync(out).readUInt32LE(8)), KeyRing.fromFiles([path.join(dir, 'keys', 'qie-ota.pub')])).manifest;
  t.is(m.selfTest.length, 2);
  t.deepEqual(Buffer.from(m.selfTest[1].inputs[0], 'base64'), Buffer.alloc(96, 250));
  const ok = fleet('verify', out, '--key', path.join(dir, 'other', 'x.pub'), '--key', path.join(dir, 'keys', 'qie-ota.pub'));
  t.is(ok.status, 0, ok.stderr);
  t.regex(ok.stdout, /version +2\.0\.0/);
  t.regex(ok.stdout, /labels +3/);
  const untrusted = fleet('verify', out, '--key', path.join(dir, 'other', 'x.pub'));
  t.is(untrusted.status, 1);
  t.regex(untrusted.stderr, /untrusted_key/);
  const b = readFileSync(out);
  b[b.length - 10] ^= 1;
  writeFileSync(out, b);
  const tampered = fleet('verify', out, '--key', path.join(dir, 'keys', 'qie-ota.pub'));
  t.is(tampered.status, 1);
  t.regex(tampered.stderr, /hash_mismatch/);
  const badVersion = fleet('pack', '--model', path.join(dir, 'm.tflite'), '--name', 'motion', '--version', 'v2', '--key', path.join(dir, 'keys', 'qie-ota.key'), '--out', out);
  t.is(badVersion.status, 1);
  t.regex(badVersion.stderr, /semantic version/);
  t.is(fleet('pack', '--model', path.join(dir, 'm.tflite')).status, 2);
});
