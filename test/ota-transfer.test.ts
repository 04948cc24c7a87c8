// The OTA transfer on its own: a ChunkDownloader (device side) against a ChunkServer
// (console side) through a real mosquitto with the OTA ACL. Exact bytes; a corrupt
// chunk re-pulled (and one that stays corrupt failing the transfer); a dropped pull
// recovered by the timeout; resume after an abort pulling only what is missing (and
// re-pulling a chunk damaged on disk meanwhile); a broker restart mid-transfer;
// garbage on the chunk topic; the idle timeout; and the protocol's bounds.
import test, { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { MqttClient } from 'mqtt';
import pino from 'pino';
import { isOtaError, OtaErrorCode } from '../src/ota/errors';
import { ChunkDownloader, DownloaderDeps, progressPathOf } from '../src/ota/transfer/downloader';
import { decodeChunk, encodeChunk, MAX_CHUNK_SIZE, otaTopics, parseOrder, parsePull, ProtocolError } from '../src/ota/transfer/protocol';
import { ChunkServer, ChunkServerOptions, describeBundle, offerOf } from '../src/ota/transfer/server';
import { Mosquitto, mosquittoAvailable } from './helpers/mosquitto';
import { connectClient } from './helpers/mqtt-client';
import { startOtaBroker } from './helpers/ota-broker';
import { fakeBundle, writeFakeBundle } from './helpers/ota-fake-bundle';

const log = pino({ level: 'silent' });

interface Rig {
  broker: Mosquitto;
  dir: string;
  bundle: Buffer;
  bundleFile: string;
  device: MqttClient;
  console: MqttClient;
}

async function rig(t: ExecutionContext, bodyBytes = 300_000): Promise<Rig> {
  const broker = await startOtaBroker();
  const dir = mkdtempSync(path.join(tmpdir(), 'qie-ota-transfer-'));
  const bundleFile = path.join(dir, 'source-bundle.qie');
  const bundle = writeFakeBundle(bundleFile, bodyBytes);
  const device = await connectClient(broker.url, { username: 'daemon', password: 'daemon-secret' });
  const consoleClient = await connectClient(broker.url, { username: 'console', password: 'console-secret' });
  t.teardown(async () => {
    await device.endAsync(true).catch(() => undefined);
    await consoleClient.endAsync(true).catch(() => undefined);
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  return { broker, dir, bundle, bundleFile, device, console: consoleClient };
}

let ids = 0;
const newTransferId = () => `t-${process.pid}-${++ids}-transfer`;

/** A downloader wired to the device client as the OTA extension would wire it. */
async function downloader(r: Rig, offerId: string, chunkSize: number, file: string, deps: Partial<DownloaderDeps> = {}, knownPrefix?: Buffer): Promise<ChunkDownloader> {
  const desc = await describeBundle(r.bundleFile, chunkSize);
  const d = new ChunkDownloader(
    { publish: (topic, payload, opts) => r.device.publishAsync(topic, payload, opts).then(() => true, () => false), topicPrefix: 'qie', deviceId: 'gw1', log, chunkTimeoutMs: 2000, ...deps },
    { ...offerOf(desc, offerId), knownPrefix },
    file,
  );
  await r.device.subscribeAsync(d.subscriptions(), { qos: 1 });
  const onMsg = (topic: string, payload: Buffer) => d.onMessage(topic, payload);
  const onConnect = () => d.onConnect();
  r.device.on('message', onMsg);
  r.device.on('connect', onConnect);
  const detach = () => {
    r.device.off('message', onMsg);
    r.device.off('connect', onConnect);
  };
  d.start().then(detach, detach);
  return d;
}

async function server(r: Rig, transferId: string, chunkSize: number, extra: Partial<ChunkServerOptions> = {}): Promise<ChunkServer> {
  const s = new ChunkServer({ client: r.console, topicPrefix: 'qie', transferId, bundle: await describeBundle(r.bundleFile, chunkSize), devices: ['gw1'], ...extra });
  await s.start();
  return s;
}

async function expectOtaError(t: ExecutionContext, p: Promise<unknown>, code: OtaErrorCode): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  t.true(isOtaError(e), `expected OtaError ${code}, got ${String(e)}`);
  if (isOtaError(e)) t.is(e.code, code);
}

const CHUNK = 16384;

// protocol bounds: no broker needed
test('orders, pulls and chunks are parsed with every bound checked', (t) => {
  const bundle = fakeBundle(1000);
  const m = bundle.readUInt32LE(8);
  const header = bundle.subarray(0, 76 + m);
  const order = (over: object = {}, bundleOver: object = {}) =>
    JSON.stringify({ type: 'update', transferId: 'abcdef12-3456', header: header.toString('base64'), bundle: { size: bundle.length, sha256: 'a'.repeat(64), chunkSize: 1024, chunkSha256: Array(Math.ceil(bundle.length / 1024)).fill('b'.repeat(64)), ...bundleOver }, ...over });
  t.is(parseOrder(order()).type, 'update');
  const bad: [string, string][] = [
    ['not json', 'order: not JSON'],
    [order({ transferId: 'a/b#c-1234' }), 'transferId'],
    [order({}, { chunkSize: MAX_CHUNK_SIZE + 1 }), 'chunkSize'],
    [order({}, { chunkSha256: ['b'.repeat(64)] }), 'chunk hashes'],
    [order({}, { sha256: 'XYZ' }), 'sha256'],
    [order({ header: '!!!!' }), 'base64'],
    [order({ header: Buffer.from('QIEB').toString('base64') }), 'header'],
    [order({ header: Buffer.concat([header.subarray(0, 8), Buffer.from([0xff, 0xff, 0xff, 0x7f]), header.subarray(12)]).toString('base64') }), 'manifest length'],
    [order({ extra: 1 }), '(root)'],
    [JSON.stringify({ type: 'rollback', order: 'AAAA', signature: 'AAAA' }), 'signature'],
  ];
  for (const [payload, words] of bad) {
    const e = t.throws(() => parseOrder(payload), { instanceOf: ProtocolError });
    t.true(e!.message.includes(words), `${e!.message} should mention ${words}`);
  }
  t.deepEqual(parsePull('{"deviceId":"gw1","chunks":[0,5]}'), { deviceId: 'gw1', chunks: [0, 5] });
  for (const p of ['{"deviceId":"gw/1","chunks":[0]}', '{"deviceId":"gw1","chunks":[]}', '{"deviceId":"gw1","chunks":[-1]}', '{"deviceId":"gw1","chunks":[1.5]}', `{"deviceId":"gw1","chunks":[${Array(65).fill(0)}]}`, 'x'.repeat(5000)])
    t.throws(() => parsePull(p), { instanceOf: ProtocolError });
  const c = encodeChunk(7, Buffer.alloc(32, 1), Buffer.from('data'));
  const back = decodeChunk(c);
  t.is(back.index, 7);
  t.is(back.data.toString(), 'data');
  t.throws(() => decodeChunk(Buffer.alloc(36)), { instanceOf: ProtocolError });
  t.throws(() => decodeChunk(Buffer.alloc(36 + MAX_CHUNK_SIZE + 1)), { instanceOf: ProtocolError });
});

if (!mosquittoAvailable()) {
  test('ota transfer tests (skipped)', (t) => {
    t.log('NOTICE: /usr/sbin/mosquitto is absent: OTA transfer tests skipped');
    t.pass();
  });
} else {
  test('a bundle arrives byte for byte, each chunk once', async (t) => {
    const r = await rig(t);
    const id = newTransferId();
    const s = await server(r, id, CHUNK);
    const file = path.join(r.dir, 'in', 'partial.qie');
    const d = await downloader(r, id, CHUNK, file);
    const progress: number[] = [];
    d.on('progress', (p: { bytes: number }) => progress.push(p.bytes));
    await d.start();
    t.true(readFileSync(file).equals(r.bundle));
    const chunks = Math.ceil(r.bundle.length / CHUNK);
    t.is(d.stats.received, chunks);
    t.is(d.stats.corrupt, 0);
    t.is(d.bytes, r.bundle.length);
    t.is(s.traffic('gw1').distinct, chunks);
    t.is(progress[progress.length - 1], r.bundle.length);
    t.true(existsSync(progressPathOf(file)));
    await s.stop();
  });

  test('chunks wholly inside the header the order carried are written from it, not pulled', async (t) => {
    const r = await rig(t);
    const id = newTransferId();
    const s = await server(r, id, CHUNK);
    const file = path.join(r.dir, 'a.qie');
    // 2.5 chunks known: 2 come from it (the third only partly), one known byte is wrong
    const known = Buffer.from(r.bundle.subarray(0, CHUNK * 2 + CHUNK / 2));
    const d = await downloader(r, id, CHUNK, file, {}, known);
    await d.start();
    t.true(readFileSync(file).equals(r.bundle));
    t.is(d.stats.fromPrefix, 2);
    t.is(s.traffic('gw1').distinct, Math.ceil(r.bundle.length / CHUNK) - 2);
    await s.stop();

    const id2 = newTransferId();
    const s2 = await server(r, id2, CHUNK);
    const wrong = Buffer.from(known);
    wrong[CHUNK + 5] ^= 1;
    const d2 = await downloader(r, id2, CHUNK, path.join(r.dir, 'b.qie'), {}, wrong);
    await d2.start();
    t.true(readFileSync(path.join(r.dir, 'b.qie')).equals(r.bundle));
    t.is(d2.stats.fromPrefix, 1, 'a known chunk that does not match its hash is pulled');
    await s2.stop();
  });

  test('a corrupt chunk is re-pulled; a chunk that stays corrupt fails the transfer chunk_corrupt', async (t) => {
    const r = await rig(t);
    const id = newTransferId();
    const s = await server(r, id, CHUNK, { hooks: { corrupt: (_d, index, copy) => index === 3 && copy === 1 } });
    const file = path.join(r.dir, 'a.qie');
    const d = await downloader(r, id, CHUNK, file);
    await d.start();
    t.true(readFileSync(file).equals(r.bundle));
    t.is(d.stats.corrupt, 1);
    t.is(s.traffic('gw1').chunksSent, Math.ceil(r.bundle.length / CHUNK) + 1);
    await s.stop();

    const id2 = newTransferId();
    const s2 = await server(r, id2, CHUNK, { hooks: { corrupt: (_d, index) => index === 5 } });
    const d2 = await downloader(r, id2, CHUNK, path.join(r.dir, 'b.qie'), { maxBadCopies: 3 });
    await expectOtaError(t, d2.start(), 'chunk_corrupt');
    t.is(d2.stats.corrupt, 3);
    await s2.stop();
  });

  test('a dropped pull is recovered by the chunk timeout', async (t) => {
    const r = await rig(t);
    const id = newTransferId();
    let dropped = 0;
    const s = await server(r, id, CHUNK, { hooks: { dropPull: (_d, chunks) => chunks.includes(4) && dropped++ === 0 } });
    const file = path.join(r.dir, 'a.qie');
    const d = await downloader(r, id, CHUNK, file, { chunkTimeoutMs: 400 });
    await d.start();
    t.is(dropped, 2, 'the pull holding chunk 4 came twice: dropped, then answered');
    t.true(d.stats.repulls >= 1);
    t.true(readFileSync(file).equals(r.bundle));
    await s.stop();
  });

  test('resume after an abort pulls only the missing chunks and re-pulls one damaged on disk', async (t) => {
    const r = await rig(t, 600_000);
    const id = newTransferId();
    let second = false;
    const pulledBySecond = new Set<number>();
    const s = await server(r, id, CHUNK, {
      hooks: {
        dropPull: (_d, chunks) => {
          if (second) chunks.forEach((i) => pulledBySecond.add(i));
          return false;
        },
      },
    });
    const file = path.join(r.dir, 'a.qie');
    const d1 = await downloader(r, id, CHUNK, file, { window: 2 });
    const total = Math.ceil(r.bundle.length / CHUNK);
    d1.on('progress', () => {
      if (d1.stats.received === 12) d1.abort();
    });
    await expectOtaError(t, d1.start(), 'aborted');
    await d1.flushed();
    const had = d1.stats.received;
    t.true(had >= 12 && had < total);
    const bitmap = Buffer.from((JSON.parse(readFileSync(progressPathOf(file), 'utf8')) as { have: string }).have, 'base64');
    // damage one of the chunks the progress file claims (chunk 0: the first written)
    const bytes = readFileSync(file);
    bytes[100] ^= 0xff;
    writeFileSync(file, bytes);

    second = true;
    const d2 = await downloader(r, id, CHUNK, file);
    await d2.start();
    t.true(readFileSync(file).equals(r.bundle));
    t.is(d2.stats.resumedChunks, had - 1);
    t.is(d2.stats.received, total - had + 1);
    // what the first run wrote (chunk 0 aside) was never asked for again
    const claimed = new Set<number>();
    for (let i = 1; i < total; i++) if (bitmap[i >> 3] & (1 << (i & 7))) claimed.add(i);
    t.is(claimed.size, had - 1);
    t.true(pulledBySecond.has(0));
    t.deepEqual([...pulledBySecond].filter((i) => claimed.has(i)), []);
    t.is(pulledBySecond.size, total - had + 1);
    await s.stop();
  });

  test('a broker restart mid-transfer: both sides reconnect and the transfer completes', async (t) => {
    const r = await rig(t, 600_000);
    const id = newTransferId();
    const s = await server(r, id, CHUNK);
    const file = path.join(r.dir, 'a.qie');
    const d = await downloader(r, id, CHUNK, file, { window: 2, chunkTimeoutMs: 1000 });
    let restarted: Promise<void> | undefined;
    d.on('progress', () => {
      if (d.stats.received === 8 && !restarted) restarted = r.broker.stop().then(() => new Promise((res) => setTimeout(res, 500))).then(() => r.broker.restart());
    });
    await d.start();
    t.truthy(restarted);
    await restarted;
    t.true(readFileSync(file).equals(r.bundle));
    t.true(d.stats.received >= Math.ceil(r.bundle.length / CHUNK));
    await s.stop();
  });

  test('garbage on the chunk topic is counted and ignored, the transfer completes', async (t) => {
    const r = await rig(t);
    const id = newTransferId();
    const topic = otaTopics.chunk('qie', 'gw1', id);
    const file = path.join(r.dir, 'a.qie');
    const d = await downloader(r, id, CHUNK, file);
    // before any server answers: unreadable, out of range, wrong length, JSON
    await r.console.publishAsync(topic, Buffer.from([1, 2, 3]), { qos: 1 });
    await r.console.publishAsync(topic, encodeChunk(9999, Buffer.alloc(32), Buffer.alloc(10)), { qos: 1 });
    await r.console.publishAsync(topic, encodeChunk(0, Buffer.alloc(32), Buffer.alloc(10)), { qos: 1 });
    await r.console.publishAsync(topic, '{"hello":"world"}', { qos: 1 });
    await until(() => d.stats.garbage >= 4);
    const s = await server(r, id, CHUNK);
    d.onConnect(); // the pulls made before the server listened are asked again
    await d.start();
    t.is(d.stats.garbage, 4);
    t.true(readFileSync(file).equals(r.bundle));
    await s.stop();
  });

  test('bad copies of chunks nobody asked for are counted and ignored: they use up no retries, the transfer completes', async (t) => {
    const r = await rig(t);
    const id = newTransferId();
    const desc = await describeBundle(r.bundleFile, CHUNK);
    const count = desc.chunkSha256.length;
    const topic = otaTopics.chunk('qie', 'gw1', id);
    let injected: Promise<unknown> | undefined;
    // chunks go slowly, two requested at a time; while chunk 2 is sent, a neighbour floods copies of the last chunks
    const s = await server(r, id, CHUNK, {
      hooks: {
        beforeSend: async (_d, index) => {
          await new Promise((res) => setTimeout(res, 20));
          if (index !== 2 || injected) return;
          const bad = [];
          for (let k = 0; k < 30; k++) {
            const i = count - 1 - (k % 3);
            bad.push(r.console.publishAsync(topic, encodeChunk(i, Buffer.from(desc.chunkSha256[i], 'hex'), randomBytes(Math.min(CHUNK, r.bundle.length - i * CHUNK))), { qos: 1 }));
          }
          injected = Promise.all(bad);
          await injected;
        },
      },
    });
    const file = path.join(r.dir, 'a.qie');
    const d = await downloader(r, id, CHUNK, file, { window: 2, maxBadCopies: 3 });
    await d.start();
    t.truthy(injected);
    t.true(readFileSync(file).equals(r.bundle));
    t.is(d.stats.unsolicited, 30);
    t.is(d.stats.corrupt, 0);
    await s.stop();
  });

  test('a chunk write that fails (disk full) leaves no progress temp file behind', async (t) => {
    const mount = mkdtempSync(path.join(tmpdir(), 'qie-ota-full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mount], { stdio: 'ignore' });
    } catch {
      rmSync(mount, { recursive: true, force: true });
      t.log('NOTICE: mount -t tmpfs is not allowed here: the disk-full write is not tested');
      t.pass();
      return;
    }
    t.teardown(() => {
      execFileSync('umount', ['-l', mount], { stdio: 'ignore' });
      rmSync(mount, { recursive: true, force: true });
    });
    const r = await rig(t);
    const id = newTransferId();
    const filler = path.join(mount, 'filler');
    const s = await server(r, id, CHUNK, {
      hooks: {
        beforeSend: async (_d, index) => {
          if (index !== 3 || existsSync(filler)) return;
          const st = statfsSync(mount);
          writeFileSync(filler, Buffer.alloc(Number(st.bavail) * Number(st.bsize)));
        },
      },
    });
    const file = path.join(mount, 'incoming', 'a.qie');
    const d = await downloader(r, id, CHUNK, file, { window: 2 });
    const e = await d.start().then(
      () => undefined,
      (err: unknown) => err,
    );
    await d.flushed();
    t.true(isOtaError(e) && (e.code === 'no_space' || e.code === 'io'), String(e));
    t.true(d.stats.received >= 2, 'chunks were written before the disk filled');
    t.deepEqual(readdirSync(path.dirname(file)).filter((f) => f.endsWith('.tmp')), []);
    await s.stop();
  });

  test('no chunk for maxIdleMs fails the transfer transfer_timeout after re-pulling', async (t) => {
    const r = await rig(t);
    const file = path.join(r.dir, 'a.qie');
    const d = await downloader(r, newTransferId(), CHUNK, file, { chunkTimeoutMs: 200, maxIdleMs: 1200 });
    await expectOtaError(t, d.start(), 'transfer_timeout');
    t.is(d.bytes, 0);
    t.true(d.stats.repulls > 0);
  });
}

async function until(cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
