// `npm start`: the gateway daemon with nothing to install or download. It makes the
// demo motion classifier from the project's own code, starts an in-process MQTT
// broker on 127.0.0.1, serves the model, answers one request of its own to show the
// round trip, and prints how to send more. Runs until Ctrl-C / SIGTERM.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { parseConfig } from '../src/config/load';
import { runDaemon } from '../src/daemon/serve';
import { seededRandom } from '../src/util/random';
import { makeDemoModel } from './demo/model';
import { CLASSES, makeWindow } from './demo/synthetic';

const DEVICE = 'demo';
const MODEL = 'motion';

async function freePortOr(preferred: number): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => {
      const t = net.createServer();
      t.listen(0, '127.0.0.1', () => {
        const p = (t.address() as { port: number }).port;
        t.close(() => resolve(p));
      });
    });
    s.listen(preferred, '127.0.0.1', () => s.close(() => resolve(preferred)));
  });
}

async function selfCheck(url: string, request: string): Promise<void> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, clientId: `qie-demo-check-${process.pid}` });
  try {
    const reply = new Promise<Buffer>((resolve) => client.on('message', (_t, p) => resolve(p)));
    await client.subscribeAsync(`qie/${DEVICE}/reply/${MODEL}`, { qos: 1 });
    await client.publishAsync(`qie/${DEVICE}/infer/${MODEL}`, request, { qos: 1 });
    const doc = JSON.parse((await reply).toString()) as { top?: { label: string; score: number }[]; latencyMs: number };
    console.log(`\nself-check: sent one "walk" window, the daemon answered ${doc.top?.map((t) => `${t.label} ${t.score.toFixed(2)}`).join(', ')} in ${doc.latencyMs} ms\n`);
  } finally {
    await client.endAsync();
  }
}

async function main(): Promise<number> {
  const demo = makeDemoModel();
  const dir = tmpdir();
  const modelFile = path.join(dir, 'qie-demo-motion.tflite');
  writeFileSync(modelFile, demo.tflite);
  const window = makeWindow(1, seededRandom(5));
  const request = JSON.stringify({ id: 'demo-1', inputs: [{ dtype: 'float32', shape: [1, window.length], data: Array.from(window, (v) => Math.round(v * 1e4) / 1e4) }] });
  const requestFile = path.join(dir, 'qie-demo-request.json');
  writeFileSync(requestFile, request);
  const port = await freePortOr(1883);
  const config = parseConfig(
    { deviceId: DEVICE, embeddedBroker: { host: '127.0.0.1', port }, models: [{ name: MODEL, path: modelFile, version: 'demo', labels: [...CLASSES] }], logLevel: process.env.QIE_LOG_LEVEL ?? 'info' },
    dir,
    'demo config',
  );
  const url = `mqtt://127.0.0.1:${port}`;
  setTimeout(() => {
    selfCheck(url, request)
      .then(() => {
        console.log(`qie daemon: serving model '${MODEL}' (${CLASSES.join(' / ')} from ${window.length} accelerometer values) on ${url}

send a request (MQTT 3.1.1: the embedded broker is aedes) and read the reply:
  mosquitto_sub -h 127.0.0.1 -p ${port} -t 'qie/${DEVICE}/reply/#' -C 1 &
  mosquitto_pub -h 127.0.0.1 -p ${port} -t qie/${DEVICE}/infer/${MODEL} -f ${requestFile}

or from node, in this folder:
  node -e "const c=require('mqtt').connect('${url}');c.on('connect',()=>{c.subscribe('qie/${DEVICE}/reply/${MODEL}');c.publish('qie/${DEVICE}/infer/${MODEL}',require('fs').readFileSync('${requestFile}'))});c.on('message',(t,p)=>{console.log(JSON.parse(p).top);c.end()})"

status (retained): mosquitto_sub -h 127.0.0.1 -p ${port} -t qie/${DEVICE}/status -C 1
Ctrl-C stops the daemon.`);
      })
      .catch((e: Error) => console.error(`self-check failed: ${e.message}`));
  }, 300).unref();
  return runDaemon(config);
}

main().then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 3000).unref();
  },
  (e: Error) => {
    console.error(`qie serve demo: ${e.message}`);
    process.exitCode = 1;
  },
);
