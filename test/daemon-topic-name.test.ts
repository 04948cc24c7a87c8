// Topic names as brokers check them (issue 16, findings 1, 9a, 9d): the rules for
// reply topics, the reply namespace inside the prefix, and the same rules for
// every topic part of the configuration (refused with exit 78).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { decodeTopicBytes, mqttStringProblem, topicLevelProblem, topicNameProblem } from '../src/daemon/topic-name';
import { parseRequest } from '../src/daemon/request';
import { encodeBinaryRequest } from '../src/daemon/binary';
import { topicsFor } from '../src/daemon/topics';
import { parseConfig } from '../src/config/load';
import { configErrorOf } from './helpers/config-error';
import { CLI, writeConfig } from './helpers/daemon-proc';

test('topic names: every class a broker refuses is refused, with the reason', (t) => {
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['a\u0000b', /U\+0000/],
    ['a\u0001b', /U\+0001/],
    ['a\u001fb', /U\+001F/],
    ['a\u007fb', /U\+007F/],
    ['a\u0080b', /U\+0080/],
    ['a\u009fb', /U\+009F/],
    ['a\uFDD0b', /non-character/],
    ['a\uFDEFb', /non-character/],
    ['a\uFFFEb', /non-character/],
    ['a\uFFFFb', /non-character/],
    ['a\u{1FFFE}b', /non-character/],
    ['a\u{10FFFF}b', /non-character/],
    ['a\uD800b', /lone surrogate/],
    ['a\uDC00', /lone surrogate/],
    ['a/+/b', /wildcards/],
    ['a/#', /wildcards/],
    ['é'.repeat(32768), /65535 bytes/],
    [`${'x/'.repeat(32)}x`, /33 levels; at most 32/],
    [`${'x/'.repeat(249)}x`, /250 levels/],
  ];
  for (const [topic, why] of bad) t.regex(topicNameProblem(topic) ?? 'accepted', why, JSON.stringify(topic).slice(0, 40));
  const good = ['a', 'replies/me', '/leading/slash', 'a//b', 'ünïcödé/文字/😀', '\uFDCF\uFDF0\uFFFD', `${'x/'.repeat(31)}x`, 'a\u00a0b'];
  for (const topic of good) t.is(topicNameProblem(topic), undefined, topic);
  t.is(topicNameProblem(`${'x/'.repeat(40)}x`, 64), undefined, 'the depth bound is a parameter');
  t.regex(topicLevelProblem('a/b')!, /one topic level/);
  t.regex(mqttStringProblem('id\u0007')!, /U\+0007/);
});

test('binary reply topics must be well-formed UTF-8 (no overlong forms or encoded surrogates)', (t) => {
  t.is(decodeTopicBytes(Buffer.from('replies/ü')), 'replies/ü');
  t.is(decodeTopicBytes(Buffer.from('\uFEFFbom')), '\uFEFFbom', 'a BOM is kept, not stripped');
  for (const bytes of [[0xc3, 0x28], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xff]]) t.is(decodeTopicBytes(Buffer.from(bytes)), undefined, Buffer.from(bytes).toString('hex'));
  const req = encodeBinaryRequest(5, [Buffer.alloc(4)], { replyTo: 'rr' });
  req[14] = 0xc3;
  req[15] = 0x28;
  const r = parseRequest(req, 1 << 20);
  t.is(r.error?.code, 'bad_request');
  t.regex(r.error!.message, /not well-formed UTF-8/);
  t.is(r.envelope.replyTo, undefined, 'the error goes to the default reply topic');
  t.is(r.envelope.id, 5);
});

test('reply topics: control topics inside the prefix are refused; reply namespaces and topics elsewhere are not', (t) => {
  const tp = topicsFor(parseConfig({ deviceId: 'gw', fleet: { group: 'g1' } }, '/'));
  for (const topic of ['qie/gw/ota/order', 'qie/gw/ota/status', 'qie/gw/ota/chunk/abcdefgh', 'qie/gw/status', 'qie/gw/infer/m', 'qie/gw/sources/s/result', 'qie/ota/abcdefgh12/pull', 'qie/fleet/g1/infer/m', 'qie/other/ota/order', 'qie/gw', 'qie', '$SYS/x', '$share/g/replies/x'])
    t.truthy(tp.replyProblem(topic), topic);
  for (const topic of ['qie/gw/reply/m', 'qie/gw/reply/m/x', 'qie/other/reply/m', 'qie/fleet/g1/reply/m', 'replies/me', 'qiex/gw/status', 'other/qie/gw/status'])
    t.is(tp.replyProblem(topic), undefined, topic);
  t.is(tp.replyProblem(tp.defaultReply('m', false)), undefined);
  t.is(tp.replyProblem(tp.defaultReply('m', true)), undefined);
  const deep = topicsFor(parseConfig({ deviceId: 'gw', maxTopicLevels: 64 }, '/'));
  t.is(deep.replyProblem(`${'x/'.repeat(40)}x`), undefined, 'maxTopicLevels sets the depth bound');
  const r = parseRequest(Buffer.from(JSON.stringify({ id: 'x', replyTo: 'qie/gw/ota/order', inputs: [] })), 1 << 20, (x) => tp.replyProblem(x));
  t.is(r.error?.code, 'bad_request');
  t.is(r.envelope.replyTo, undefined);
});

test('configuration: every topic part and MQTT string follows the same rules', (t) => {
  const bad: [object, RegExp][] = [
    [{ deviceId: 'gw\u0001' }, /deviceId: holds the control character U\+0001/],
    [{ deviceId: 'gw\u0085' }, /deviceId: holds the control character U\+0085/],
    [{ deviceId: 'gw\uFFFF' }, /deviceId: holds a Unicode non-character/],
    [{ deviceId: 'gw\uD800' }, /deviceId: .*lone surrogate/],
    [{ deviceId: 'ota' }, /deviceId: 'ota' names a namespace/],
    [{ deviceId: 'fleet' }, /deviceId: 'fleet' names a namespace/],
    [{ topicPrefix: 'q\u0000' }, /topicPrefix: /],
    [{ topicPrefix: '$SYS' }, /topicPrefix: must not start with "\$"/],
    [{ fleet: { group: 'line\t3' } }, /fleet\.group: holds the control character U\+0009/],
    [{ models: [{ name: 'm\u009b', path: 'm' }] }, /models\[0\]\.name: holds the control character/],
    [{ broker: { clientId: 'qie-\u0002' } }, /broker\.clientId: holds the control character/],
    [{ broker: { username: 'u\uFDD0' } }, /broker\.username: holds a Unicode non-character/],
    [{ maxTopicLevels: 201 }, /maxTopicLevels/],
  ];
  for (const [raw, why] of bad) t.regex(configErrorOf(raw), why, JSON.stringify(raw));
  const source = (extra: object) => ({
    models: [{ name: 'm', path: 'm' }],
    sources: [{ name: 's', path: '/dev/ttyX', framing: { kind: 'lines' }, window: { size: 4 }, model: 'm', ...extra }],
  });
  t.regex(configErrorOf(source({ name: 's\u0001' })), /sources\[0\]\.name: holds the control character/);
  t.regex(configErrorOf(source({ outputTopic: 'out/\u0085' })), /sources\[0\]\.outputTopic: must be a topic name a broker accepts \(holds the control character U\+0085\)/);
  t.regex(configErrorOf(source({ eventTopic: `${'e/'.repeat(40)}e` })), /sources\[0\]\.eventTopic: must be a topic name a broker accepts \(has 41 levels; at most 32 are allowed\)/);
  t.regex(configErrorOf(source({ outputTopic: '$SYS/x' })), /sources\[0\]\.outputTopic: must not start with "\$"/);
  t.is(configErrorOf(source({ outputTopic: 'plant/line3/vibration', eventTopic: 'plant/ünï/alerts' })), '');
  t.notRegex(configErrorOf(source({ outputTopic: 'x/#' })), /outputTopic.*\n.*outputTopic/, 'one error per bad key');
  t.is(configErrorOf({ deviceId: 'gw-line3-01', topicPrefix: 'qie', fleet: { group: 'line3' }, broker: { clientId: 'qie/gw 1' } }), '');
});

test('qie serve refuses a deviceId with a control character: exit 78 naming the key (it used to retry the refused CONNECT forever)', (t) => {
  const cfg = writeConfig({ deviceId: 'gw\u0007', broker: { url: 'mqtt://127.0.0.1:1' } });
  t.teardown(cfg.cleanup);
  const r = spawnSync(process.execPath, [CLI, 'serve', '--config', cfg.file], { encoding: 'utf8', timeout: 30_000 });
  t.is(r.status, 78);
  t.regex(r.stderr, /deviceId: holds the control character U\+0007/);
});
