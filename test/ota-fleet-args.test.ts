// The console's small parsers, without a broker: counts and percentages of
// --canary / --max-failures, the status topics it reads, and push's usage errors.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { UsageError } from '../firmware-tools/fleet/args';
import { countOrPercent, readStatusMessage } from '../firmware-tools/fleet/ota-console';
import { run as push } from '../firmware-tools/fleet/push';

test('--canary / --max-failures: a count or a percentage of the targets, rounded up', (t) => {
  t.is(countOrPercent(undefined, 10, 'canary'), undefined);
  t.is(countOrPercent('3', 10, 'canary'), 3);
  t.is(countOrPercent('10%', 10, 'canary'), 1);
  t.is(countOrPercent('15%', 10, 'canary'), 2);
  t.is(countOrPercent('0%', 10, 'canary'), 0);
  t.is(countOrPercent('100%', 7, 'canary'), 7);
  for (const bad of ['-1', '1.5', '120%', 'abc', '', '5 %x']) t.throws(() => countOrPercent(bad, 10, 'canary'), { instanceOf: UsageError }, bad);
});

test('status messages: only <p>/<d>/status and <p>/<d>/ota/status with a JSON object carrying a state', (t) => {
  const doc = Buffer.from('{"state":"online","pid":7}');
  t.deepEqual(readStatusMessage('qie', 'qie/gw1/status', doc), { deviceId: 'gw1', kind: 'status', doc: { state: 'online', pid: 7 } });
  t.is(readStatusMessage('qie', 'qie/gw1/ota/status', Buffer.from('{"state":"succeeded"}'))?.kind, 'ota');
  t.is(readStatusMessage('qie', 'other/gw1/status', doc), undefined);
  t.is(readStatusMessage('qie', 'qie/gw1/reply/m', doc), undefined);
  t.is(readStatusMessage('qie', 'qie/gw1/status', Buffer.from('not json')), undefined);
  t.is(readStatusMessage('qie', 'qie/gw1/status', Buffer.from('{"state":3}')), undefined);
  t.is(readStatusMessage('qie', 'qie/gw1/status', Buffer.from('[]')), undefined);
  t.is(readStatusMessage('qie', 'qie/gw1/status', Buffer.alloc(0)), undefined);
});

test('push refuses bad arguments before connecting', async (t) => {
  const cases: [string[], RegExp][] = [
    [['b.qie', '--device', 'gw1'], /--broker is required/],
    [['b.qie', '--broker', 'http://x', '--device', 'gw1'], /--broker must be/],
    [['b.qie', '--broker', 'mqtt://x'], /exactly one of --device, --group, --all/],
    [['b.qie', '--broker', 'mqtt://x', '--device', 'a', '--all'], /exactly one of/],
    [['b.qie', '--broker', 'mqtt://x', '--device', 'a/b'], /not a device id/],
    [['b.qie', '--broker', 'mqtt://x', '--device', 'a', '--timeout', '0'], /--timeout/],
    [['b.qie', '--broker', 'mqtt://x', '--device', 'a', '--parallel', '1.5'], /--parallel/],
    [['b.qie', '--broker', 'mqtt://x', '--device', 'a', '--transfer-id', 'x'], /--transfer-id/],
    [['--broker', 'mqtt://x', '--device', 'a'], /one bundle file/],
    [['/nonexistent/b.qie', '--broker', 'mqtt://x', '--device', 'a'], /cannot read/],
    [['b.qie', '--broker', 'mqtt://x', '--device', 'a', '--bogus'], /unknown option --bogus/],
  ];
  for (const [argv, msg] of cases) await t.throwsAsync(push(argv), { instanceOf: UsageError, message: msg }, argv.join(' '));
  // a file that is not a bundle is refused by its header, before any broker is asked
  const dir = mkdtempSync(path.join(tmpdir(), 'qie-push-args-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'x.qie'), Buffer.from('PK\x03\x04 not a bundle at all'));
  await t.throwsAsync(push([path.join(dir, 'x.qie'), '--broker', 'mqtt://127.0.0.1:1', '--device', 'a']), { instanceOf: UsageError, message: /not a qie bundle/ });
});
