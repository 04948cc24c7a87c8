// End-to-end op tests: each builds a tiny TFLite model with the test builder, loads
// it through the public API (TFLite options -> importer attrs -> plan -> C
// prepare/eval, ref kernels) and compares with outputs derived by hand (the
// derivation is in a comment) or by an independent TypeScript version of
// TFLite's semantics (test/helpers/ops-helpers.ts).
import test from 'ava';
import { isQieError, QieError } from '../src';
import {
  Act,
  actF,
  actRangeQ,
  addSubQ,
  ALL_INT8,
  broadcast2,
  clamp,
  convSums,
  ft,
  hardSwish,
  ints,
  it32,
  it64,
  load,
  maxAbsDiff,
  mulQ,
  nearestSource,
  oneOp,
  oneOpModel,
  OneOpSpec,
  q16,
  q8,
  Q16,
  Q8,
  qt,
  quantizeF,
  range,
  requant,
  requantPerChannel,
  runModel,
  sigmoid,
  size,
} from './helpers/ops-helpers';
import { i32, i8 } from './helpers/tflite-builder';

const I8 = (xs: number[]) => Int8Array.from(xs);
const I16 = (xs: number[]) => Int16Array.from(xs);
const F32 = (xs: number[]) => Float32Array.from(xs);
const fr = (xs: number[]) => xs.map(Math.fround);

/** Expects loading (or the first run) of a model to fail with a QieError of this code whose message matches. */
async function refused(t: import('ava').ExecutionContext, spec: OneOpSpec, code: string, message: RegExp, feeds?: ArrayBufferView[]) {
  const err = await t.throwsAsync(async () => {
    const m = await load(oneOpModel(spec));
    try {
      if (feeds) await m.run(feeds);
    } finally {
      m.dispose();
    }
  });
  t.true(isQieError(err), `expected a QieError, got ${String(err)}`);
  t.is((err as QieError).code, code as QieError['code'], (err as Error).message);
  t.regex((err as Error).message, message);
}

// =====================================================================================
// ADD / SUB / MUL
// =====================================================================================

test('ADD int8: hand-derived rounding (1.5 + 2.0 = 3.5 -> 4, ties away from zero)', async (t) => {
  // a, b: scale 0.5 zp 0; out: scale 1 zp 0. twice_max = 2*0.5 = 1, so each input factor is
  // 0.5 -> (Q31 2^30, shift 0) and the output factor 1/2^20 -> (2^30, shift -19).
  //  a=3, b=4: 3<<20 -> srdhm(3145728, 2^30) = 1572864; 4<<20 -> 2097152; sum 3670016
  //            -> srdhm = 1835008 -> rdbp(.., 19) = 3.5 -> 4
  //  a=-3, b=-4: the mirror image -> -3.5 -> -4 (RoundingDivideByPOT rounds ties away from zero)
  //  a=1, b=0: 0.5 real -> 0.5 -> 1
  const Q = (shape: number[]) => q8(shape, 0.5, 0);
  const [out] = await oneOp({ op: 'ADD', ins: [Q([3]), Q([3])], outs: [q8([3], 1, 0)] }, [I8([3, -3, 1]), I8([4, -4, 0])]);
  t.deepEqual(out, [4, -4, 1]);
});

test('ADD int8 with broadcasting [2,1,3] + [4,1] -> [2,4,3], different scales and zero points', async (t) => {
  const A = { scale: 0.05, zp: 3 };
  const B = { scale: 0.1, zp: -7 };
  const O = { scale: 0.12, zp: -2 };
  const a = ints(6, -128, 127, 11);
  const b = ints(4, -128, 127, 12);
  const want = broadcast2([2, 1, 3], a, [4, 1], b, (x, y) => addSubQ(x, y, A, B, O, false, Q8));
  t.deepEqual(want.shape, [2, 4, 3]);
  const spec: OneOpSpec = {
    op: 'ADD',
    ins: [q8([2, 1, 3], A.scale, A.zp), q8([4, 1], B.scale, B.zp)],
    outs: [q8([2, 4, 3], O.scale, O.zp)],
  };
  const [out] = await oneOp(spec, [I8(a), I8(b)]);
  t.deepEqual(out, want.data);
  // sanity of the reference on one element: real a[0] + b[0] quantized (within 1: double rounding)
  const real = A.scale * (a[0] - A.zp) + B.scale * (b[0] - B.zp);
  t.true(Math.abs(out[0] - clamp(Math.round(real / O.scale) + O.zp, -128, 127)) <= 1);
});

test('ADD int8 with a constant operand and fused RELU6', async (t) => {
  const A = { scale: 0.1, zp: 0 };
  const B = { scale: 0.1, zp: 0 };
  const O = { scale: 0.05, zp: -100 };
  const a = [-50, -10, 0, 10, 30, 60, 100, 127];
  const b = [5];
  const [lo, hi] = actRangeQ('RELU6', O.scale, O.zp); // zp + round(0/0.05) = -100, zp + round(6/0.05) = 20
  t.deepEqual([lo, hi], [-100, 20]);
  const want = a.map((x) => addSubQ(x, b[0], A, B, O, false, [lo, hi]));
  const [out] = await oneOp(
    { op: 'ADD', ins: [q8([8], A.scale, A.zp), q8([1], B.scale, B.zp, b)], outs: [q8([8], O.scale, O.zp)], options: { activation: 'RELU6' } },
    [I8(a)],
  );
  t.deepEqual(out, want);
  // by hand: a=-50 -> -5 + 0.5 = -4.5 real -> clamped to 0 real -> -100; a=127 -> 13.2 real -> clamped to 6 -> 20
  t.is(out[0], -100);
  t.is(out[7], 20);
});

test('ADD int16 (symmetric, left shift 15)', async (t) => {
  const A = { scale: 1 / 1024, zp: 0 };
  const B = { scale: 1 / 2048, zp: 0 };
  const O = { scale: 1 / 512, zp: 0 };
  const a = [0, 1000, -1000, 32767, -32768, 1, -1, 3];
  const b = [0, 2000, 500, 32767, -32768, 1, -1, -3];
  const want = a.map((x, k) => addSubQ(x, b[k], A, B, O, false, Q16, 15));
  const [out] = await oneOp({ op: 'ADD', ins: [q16([8], A.scale, 0), q16([8], B.scale, 0)], outs: [q16([8], O.scale, 0)] }, [I16(a), I16(b)]);
  t.deepEqual(out, want);
  // by hand: 1000/1024 + 2000/2048 = 1.953125 -> *512 = 1000
  t.is(out[1], 1000);
});

test('SUB int8: ties round after scaling, broadcasting a [1] operand on the left', async (t) => {
  const A = { scale: 0.25, zp: 10 };
  const B = { scale: 0.5, zp: -3 };
  const O = { scale: 0.5, zp: 1 };
  const a = [14];
  const b = ints(12, -128, 127, 5);
  const want = broadcast2([1], a, [3, 4], b, (x, y) => addSubQ(x, y, A, B, O, true, Q8));
  const [out] = await oneOp({ op: 'SUB', ins: [q8([1], A.scale, A.zp), q8([3, 4], B.scale, B.zp)], outs: [q8([3, 4], O.scale, O.zp)] }, [I8(a), I8(b)]);
  t.deepEqual(out, want.data);
  // by hand: a = 14 is real 1.0; b = -3 is real 0 -> 1.0 -> 2 + 1 = 3
  const [one] = await oneOp({ op: 'SUB', ins: [q8([1], A.scale, A.zp), q8([1], B.scale, B.zp)], outs: [q8([1], O.scale, O.zp)] }, [I8([14]), I8([-3])]);
  t.deepEqual(one, [3]);
});

test('SUB int8 with fused RELU', async (t) => {
  const Q = { scale: 0.1, zp: -5 };
  const a = ints(16, -128, 127, 3);
  const b = ints(16, -128, 127, 4);
  const range8 = actRangeQ('RELU', Q.scale, Q.zp); // [-5, 127]
  t.deepEqual(range8, [-5, 127]);
  const want = a.map((x, k) => addSubQ(x, b[k], Q, Q, Q, true, range8));
  const T = () => q8([16], Q.scale, Q.zp);
  const [out] = await oneOp({ op: 'SUB', ins: [T(), T()], outs: [T()], options: { activation: 'RELU' } }, [I8(a), I8(b)]);
  t.deepEqual(out, want);
  t.true(out.every((v) => v >= -5));
});

test('MUL int8: hand-derived, then channel broadcasting with fused RELU6', async (t) => {
  // scale 0.5 * 0.5 / 0.25 = 1 -> (2^30, shift 1): out = (x - zp_a)(y - zp_b) exactly
  const [exact] = await oneOp(
    { op: 'MUL', ins: [q8([4], 0.5, 0), q8([4], 0.5, 0)], outs: [q8([4], 0.25, 0)] },
    [I8([3, -4, 11, 12]), I8([5, 6, 11, 11])],
  );
  t.deepEqual(exact, [15, -24, 121, 127]); // 12*11 = 132 saturates to 127

  const A = { scale: 0.07, zp: -3 };
  const B = { scale: 0.02, zp: 4 };
  const O = { scale: 0.05, zp: -128 };
  const a = ints(12, -128, 127, 21);
  const b = [-100, 7, 127];
  const r = actRangeQ('RELU6', O.scale, O.zp); // [-128, -8]
  t.deepEqual(r, [-128, -8]);
  const want = broadcast2([1, 2, 2, 3], a, [3], b, (x, y) => mulQ(x, y, A, B, O, r));
  const [out] = await oneOp(
    { op: 'MUL', ins: [q8([1, 2, 2, 3], A.scale, A.zp), q8([3], B.scale, B.zp, b)], outs: [q8([1, 2, 2, 3], O.scale, O.zp)], options: { activation: 'RELU6' } },
    [I8(a)],
  );
  t.deepEqual(out, want.data);
  t.true(out.some((v) => v === -8), 'some products reach the RELU6 bound');
});

test('MUL int16 (zero points 0)', async (t) => {
  const A = { scale: 1 / 256, zp: 0 };
  const O = { scale: 1 / 128, zp: 0 };
  const a = [256, -512, 1000, 32767, -32768, 3];
  const b = [256, 256, -300, 32767, 32767, 1];
  const want = a.map((x, k) => mulQ(x, b[k], A, A, O, Q16));
  const [out] = await oneOp({ op: 'MUL', ins: [q16([6], A.scale, 0), q16([6], A.scale, 0)], outs: [q16([6], O.scale, 0)] }, [I16(a), I16(b)]);
  t.deepEqual(out, want);
  t.deepEqual(out.slice(0, 2), [128, -256]); // 1 * 1 = 1 -> 128; -2 * 1 -> -256
});

for (const [op, f] of [
  ['ADD', (x: number, y: number) => x + y],
  ['SUB', (x: number, y: number) => x - y],
  ['MUL', (x: number, y: number) => x * y],
] as const) {
  for (const act of ['NONE', 'RELU', 'RELU6', 'RELU_N1_TO_1'] as Act[]) {
    test(`${op} float32 with broadcasting and activation ${act}`, async (t) => {
      const a = [-3.5, -1, -0.25, 0, 0.5, 2, 4.5, 8];
      const b = [0.5, -2];
      const want = broadcast2([4, 2], a, [2], b, (x, y) => actF(act, f(x, y)));
      const [out] = await oneOp({ op, ins: [ft([4, 2]), ft([2])], outs: [ft([4, 2])], options: { activation: act } }, [F32(a), F32(b)]);
      // + 0 turns -0 into 0: 0 * -2 = -0 stays -0 under TFLite's std::max(-0, 0) too
      t.deepEqual(out.map((v) => v + 0), fr(want.data).map((v) => v + 0));
    });
  }
}

test('ADD and MUL int32 (wrapping, no quantization)', async (t) => {
  const a = [1, -5, 2147483647, 100000];
  const b = [2, 7, 1, 100000];
  const [sum] = await oneOp({ op: 'ADD', ins: [it32([4]), it32([4])], outs: [it32([4])] }, [Int32Array.from(a), Int32Array.from(b)]);
  t.deepEqual(sum, [3, 2, -2147483648, 200000]);
  const [prod] = await oneOp({ op: 'MUL', ins: [it32([4]), it32([4])], outs: [it32([4])] }, [Int32Array.from(a), Int32Array.from(b)]);
  t.deepEqual(prod, [2, -35, 2147483647, 1410065408]); // 1e10 mod 2^32 = 1410065408
});

// =====================================================================================
// Activations
// =====================================================================================

function unary(op: string, inT: import('./helpers/tflite-builder').TflTensorSpec, outT: import('./helpers/tflite-builder').TflTensorSpec, options?: Record<string, number | string | boolean>): OneOpSpec {
  return { op, ins: [inT], outs: [outT], options };
}

test('RELU / RELU6 / RELU_N1_TO_1 int8, same quantization: hand-derived clamps', async (t) => {
  // in = out quantization: the factor is 1 -> (2^30, shift 1), exact; so out = clamp(x, act range)
  // RELU scale 0.5 zp -10: [max(-128, -10 + 0), 127]
  const [relu] = await oneOp(unary('RELU', q8([256], 0.5, -10), q8([256], 0.5, -10)), [I8(ALL_INT8)]);
  t.deepEqual(relu, ALL_INT8.map((x) => Math.max(x, -10)));
  // RELU6 scale 0.05 zp 0: [0, round(6 / 0.05) = 120]
  const [relu6] = await oneOp(unary('RELU6', q8([256], 0.05, 0), q8([256], 0.05, 0)), [I8(ALL_INT8)]);
  t.deepEqual(relu6, ALL_INT8.map((x) => clamp(x, 0, 120)));
  // RELU_N1_TO_1 scale 1/64 zp 3: [3 - 64, 3 + 64]
  const [n1] = await oneOp(unary('RELU_N1_TO_1', q8([256], 1 / 64, 3), q8([256], 1 / 64, 3)), [I8(ALL_INT8)]);
  t.deepEqual(n1, ALL_INT8.map((x) => clamp(x, -61, 67)));
});

test('RELU / RELU6 / RELU_N1_TO_1 int8 requantizing to another scale', async (t) => {
  const I = { scale: 0.5, zp: -10 };
  for (const [op, act] of [
    ['RELU', 'RELU'],
    ['RELU6', 'RELU6'],
    ['RELU_N1_TO_1', 'RELU_N1_TO_1'],
  ] as const) {
    const O = { scale: 0.03, zp: -20 };
    const [lo, hi] = actRangeQ(act, O.scale, O.zp);
    const want = ALL_INT8.map((x) => clamp(O.zp + requant(x - I.zp, I.scale / O.scale), lo, hi));
    const [out] = await oneOp(unary(op, q8([256], I.scale, I.zp), q8([256], O.scale, O.zp)), [I8(ALL_INT8)]);
    t.deepEqual(out, want, op);
  }
});

test('RELU int16 and RELU6 int16', async (t) => {
  const x = [-32768, -1, 0, 1, 5999, 6000, 6001, 32767];
  const [relu] = await oneOp(unary('RELU', q16([8], 0.001, 0), q16([8], 0.001, 0)), [I16(x)]);
  t.deepEqual(relu, x.map((v) => Math.max(0, v)));
  const [relu6] = await oneOp(unary('RELU6', q16([8], 0.001, 0), q16([8], 0.001, 0)), [I16(x)]);
  t.deepEqual(relu6, x.map((v) => clamp(v, 0, 6000))); // round(6 / 0.001) = 6000
});

test('LEAKY_RELU int8: hand-derived alpha 0.25, then requantizing', async (t) => {
  // scale 1/8 both, zp 0: identity factor 1; alpha factor 0.25 -> (2^30, -1): srdhm halves (ties up),
  // then rdbp by 1 (ties away): -8 -> -2; -6 -> -3 -> -1.5 -> -2; -4 -> -1; -2 -> -1 -> -0.5 -> -1; 5 -> 5
  const [hand] = await oneOp(unary('LEAKY_RELU', q8([5], 1 / 8, 0), q8([5], 1 / 8, 0), { alpha: 0.25 }), [I8([-8, -6, -4, -2, 5])]);
  t.deepEqual(hand, [-8, -6, -4, -2, 5].map((v) => (v >= 0 ? v : v === -8 ? -2 : v === -6 ? -2 : -1)));

  const I = { scale: 0.1, zp: 7 };
  const O = { scale: 0.07, zp: -30 };
  const alpha = 0.2;
  const want = ALL_INT8.map((x) => {
    const v = x - I.zp;
    // TFLite forms both factors in float
    const f = v >= 0 ? Math.fround(Math.fround(I.scale) / Math.fround(O.scale)) : Math.fround(Math.fround(Math.fround(I.scale) * Math.fround(alpha)) / Math.fround(O.scale));
    return clamp(O.zp + requant(v, f), -128, 127);
  });
  const [out] = await oneOp(unary('LEAKY_RELU', q8([256], I.scale, I.zp), q8([256], O.scale, O.zp), { alpha }), [I8(ALL_INT8)]);
  t.deepEqual(out, want);
});

test('LEAKY_RELU int16', async (t) => {
  const x = [-32768, -1000, -3, 0, 3, 1000, 32767];
  const [out] = await oneOp(unary('LEAKY_RELU', q16([7], 1 / 1024, 0), q16([7], 1 / 1024, 0), { alpha: 0.5 }), [I16(x)]);
  // alpha factor 0.5 -> srdhm by 2^30 (ties up) then no shift: -3 -> -1.5 -> -1
  t.deepEqual(out, [-16384, -500, -1, 0, 3, 1000, 32767]);
});

test('HARD_SWISH int8: within 1 of the real function, exact at derived points', async (t) => {
  const I = { scale: 0.05, zp: -10 };
  const O = { scale: 0.04, zp: -20 };
  const [out] = await oneOp(unary('HARD_SWISH', q8([256], I.scale, I.zp), q8([256], O.scale, O.zp)), [I8(ALL_INT8)]);
  const want = ALL_INT8.map((x) => quantizeF(hardSwish(I.scale * (x - I.zp)), O.scale, O.zp));
  t.true(maxAbsDiff(out, want) <= 1, `worst ${maxAbsDiff(out, want)}`);
  // x at the input zero point: the int16 "hires" value is 0, so everything is 0 -> output zp
  t.is(out[ALL_INT8.indexOf(I.zp)], O.zp);
  // real x <= -3 (x <= -70): the relu-ish factor saturates to -1 -> (-32768 + 32768) >> 1 = 0 -> output zp
  for (let x = -128; x <= -70; x++) t.is(out[x + 128], O.zp, `x=${x}`);

  // scale 0.1 in and out, zp 0, x = 60 (real 6): hires = 60 * 128 = 7680; output multiplier
  // (0.1/128)/0.1 = 1/128 -> Q15 16384, exponent -6 -> on_out_scale = srdhm16(7680, 16384) = 3840;
  // reluish (0.1/128)/(3/32768) = 8.533 -> exponent 4: 7680 << 3 saturates to 32767, srdhm16 with
  // Q15 17476 = 17475, << 1 saturates to 32767 -> (32767 + 32768) >> 1 = 32767;
  // sdhm16(32767, 3840) = 3839 -> rdbp(3839, 6) = 59.98 -> 60. Real: hard_swish(6) = 6 -> 60.
  const [six] = await oneOp(unary('HARD_SWISH', q8([3], 0.1, 0), q8([3], 0.1, 0)), [I8([60, 0, -30])]);
  t.deepEqual(six, [60, 0, 0]);
});

test('LOGISTIC int8: within 1 of the real function, exact at derived points', async (t) => {
  // input scale 1/16 zp 0; output must be scale 1/256 zp -128.
  // x = 0: logistic(0) = 0.5 in Q0.31 = 2^30 -> rdbp(2^30, 23) = 128 -> 128 - 128 = 0.
  // input multiplier: (1/16) * 2^27 = 2^23 -> frexp 0.5 * 2^24: left shift 24, so the range
  // radius is floor(15 * 2^27 / 2^24) = 120: x >= 120 -> 127, x <= -120 -> -128.
  // Real: logistic(7.5) * 256 = 255.86 -> 256 - 128 saturates to 127; logistic(-7.5) * 256 = 0.14 -> 0 - 128.
  const [out] = await oneOp(unary('LOGISTIC', q8([256], 1 / 16, 0), q8([256], 1 / 256, -128)), [I8(ALL_INT8)]);
  const want = ALL_INT8.map((x) => quantizeF(sigmoid(x / 16), 1 / 256, -128));
  t.true(maxAbsDiff(out, want) <= 1, `worst ${maxAbsDiff(out, want)}`);
  t.is(out[128], 0); // x = 0
  for (let x = 120; x <= 127; x++) t.is(out[x + 128], 127);
  for (let x = -128; x <= -120; x++) t.is(out[x + 128], -128);

  // another input quantization
  const [out2] = await oneOp(unary('LOGISTIC', q8([256], 0.07, 5), q8([256], 1 / 256, -128)), [I8(ALL_INT8)]);
  const want2 = ALL_INT8.map((x) => quantizeF(sigmoid(0.07 * (x - 5)), 1 / 256, -128));
  t.true(maxAbsDiff(out2, want2) <= 1, `worst ${maxAbsDiff(out2, want2)}`);
  t.is(out2[5 + 128], 0); // x at the zero point
});

test('TANH int8: within 1 of the real function, exact at derived points', async (t) => {
  // output scale 1/128 zp 0. x = 0 -> tanh 0 -> 0; |x| >= 120 (|real| >= 7.5) saturates:
  // tanh(7.5) * 128 = 127.99 -> 128 -> 127, and -128 at the other end.
  const [out] = await oneOp(unary('TANH', q8([256], 1 / 16, 0), q8([256], 1 / 128, 0)), [I8(ALL_INT8)]);
  const want = ALL_INT8.map((x) => quantizeF(Math.tanh(x / 16), 1 / 128, 0));
  t.true(maxAbsDiff(out, want) <= 1, `worst ${maxAbsDiff(out, want)}`);
  t.is(out[128], 0);
  for (let x = 120; x <= 127; x++) t.is(out[x + 128], 127);
  for (let x = -128; x <= -120; x++) t.is(out[x + 128], -128);

  const [out2] = await oneOp(unary('TANH', q8([256], 0.03, -20), q8([256], 1 / 128, 0)), [I8(ALL_INT8)]);
  const want2 = ALL_INT8.map((x) => quantizeF(Math.tanh(0.03 * (x + 20)), 1 / 128, 0));
  t.true(maxAbsDiff(out2, want2) <= 1, `worst ${maxAbsDiff(out2, want2)}`);
  t.is(out2[-20 + 128], 0);
});

test('HARD_SWISH / LOGISTIC / TANH int8 over many quantizations (every fixed-point branch): within 1', async (t) => {
  // HARD_SWISH's reluish exponent is > 0 for input scale 0.5 and 0.05, 0 for 0.01, < 0 for 0.002
  for (const [sIn, zIn, sOut, zOut] of [
    [0.5, 0, 0.5, 0],
    [0.05, 20, 0.02, -100],
    [0.01, -3, 0.005, -50],
    [0.002, 0, 0.001, 0],
    [0.1, -128, 0.2, -128],
  ]) {
    const [out] = await oneOp(unary('HARD_SWISH', q8([256], sIn, zIn), q8([256], sOut, zOut)), [I8(ALL_INT8)]);
    const want = ALL_INT8.map((x) => quantizeF(hardSwish(sIn * (x - zIn)), sOut, zOut));
    t.true(maxAbsDiff(out, want) <= 1, `HARD_SWISH in ${sIn}/${zIn} out ${sOut}/${zOut}: worst ${maxAbsDiff(out, want)}`);
  }
  for (const [sIn, zIn] of [
    [0.5, 0],
    [0.2, -50],
    [0.01, 10],
    [0.001, 0],
    [1 / 128, -128],
  ]) {
    const [lo] = await oneOp(unary('LOGISTIC', q8([256], sIn, zIn), q8([256], 1 / 256, -128)), [I8(ALL_INT8)]);
    const wantL = ALL_INT8.map((x) => quantizeF(sigmoid(sIn * (x - zIn)), 1 / 256, -128));
    t.true(maxAbsDiff(lo, wantL) <= 1, `LOGISTIC in ${sIn}/${zIn}: worst ${maxAbsDiff(lo, wantL)}`);
    const [th] = await oneOp(unary('TANH', q8([256], sIn, zIn), q8([256], 1 / 128, 0)), [I8(ALL_INT8)]);
    const wantT = ALL_INT8.map((x) => quantizeF(Math.tanh(sIn * (x - zIn)), 1 / 128, 0));
    t.true(maxAbsDiff(th, wantT) <= 1, `TANH in ${sIn}/${zIn}: worst ${maxAbsDiff(th, wantT)}`);
  }
});

test('SOFTMAX int8 with beta 0.5: within 1', async (t) => {
  const x = ints(30, -128, 127, 19);
  const S = 0.2;
  const [out] = await oneOp(unary('SOFTMAX', q8([3, 10], S, 4), q8([3, 10], 1 / 256, -128), { beta: 0.5 }), [I8(x)]);
  const want: number[] = [];
  for (let r = 0; r < 3; r++) {
    const row = x.slice(r * 10, r * 10 + 10).map((v) => 0.5 * S * (v - 4));
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const sum = e.reduce((a, b) => a + b, 0);
    want.push(...e.map((v) => quantizeF(v / sum, 1 / 256, -128)));
  }
  t.true(maxAbsDiff(out, want) <= 1, `worst ${maxAbsDiff(out, want)}`);
});

test('float32 activations: RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU, HARD_SWISH, LOGISTIC, TANH', async (t) => {
  const x = [-20, -7, -3, -2.5, -1, -0.5, 0, 0.25, 0.5, 1, 2.75, 3, 5.5, 6, 7, 20];
  const n = x.length;
  const cases: [string, (v: number) => number, Record<string, number>?][] = [
    ['RELU', (v) => Math.max(0, v)],
    ['RELU6', (v) => clamp(v, 0, 6)],
    ['RELU_N1_TO_1', (v) => clamp(v, -1, 1)],
    ['LEAKY_RELU', (v) => (v > 0 ? v : v * Math.fround(0.1)), { alpha: 0.1 }],
    ['HARD_SWISH', hardSwish],
    ['LOGISTIC', sigmoid],
    ['TANH', Math.tanh],
  ];
  for (const [op, f, options] of cases) {
    const [out] = await oneOp(unary(op, ft([n]), ft([n]), options), [F32(x)]);
    const want = x.map(f);
    t.true(maxAbsDiff(out, want) <= 1e-6, `${op}: worst ${maxAbsDiff(out, want)}`);
  }
});

test('SOFTMAX int8: within 1 of the real function, exact at derived points', async (t) => {
  const x = ints(40, -128, 127, 9);
  const S = 0.1;
  const [out] = await oneOp(unary('SOFTMAX', q8([4, 10], S, 0), q8([4, 10], 1 / 256, -128)), [I8(x)]);
  const want: number[] = [];
  for (let r = 0; r < 4; r++) {
    const row = x.slice(r * 10, r * 10 + 10).map((v) => v * S);
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    want.push(...e.map((v) => quantizeF(v / s, 1 / 256, -128)));
  }
  t.true(maxAbsDiff(out, want) <= 1, `worst ${maxAbsDiff(out, want)}`);
  // a dominant logit: exp(-25.5) * 256 rounds to 0 -> -128; the max gets 1.0 -> 256 - 128 -> 127
  const [dom] = await oneOp(unary('SOFTMAX', q8([4], S, 0), q8([4], 1 / 256, -128)), [I8([-128, 127, -128, -128])]);
  t.deepEqual(dom, [-128, 127, -128, -128]);
});

test('SOFTMAX float32 with beta 0.5', async (t) => {
  const x = [1, 2, 3, -1, 0, 0.5];
  const [out] = await oneOp(unary('SOFTMAX', ft([2, 3]), ft([2, 3]), { beta: 0.5 }), [F32(x)]);
  const want: number[] = [];
  for (const row of [x.slice(0, 3), x.slice(3)]) {
    const e = row.map((v) => Math.exp(0.5 * v));
    const s = e.reduce((a, b) => a + b, 0);
    want.push(...e.map((v) => v / s));
  }
  t.true(maxAbsDiff(out, want) <= 1e-6);
});

// =====================================================================================
// Shape and data movement
// =====================================================================================

test('CONCATENATION int8 on axis 1 of three inputs', async (t) => {
  const T = (shape: number[]) => q8(shape, 0.5, 3);
  const a = [1, 2, 3, 4]; // [2, 2]
  const b = [5, 6]; // [2, 1]
  const c = [7, 8, 9, 10, 11, 12]; // [2, 3]
  const [out] = await oneOp({ op: 'CONCATENATION', ins: [T([2, 2]), T([2, 1]), T([2, 3])], outs: [T([2, 6])], options: { axis: 1 } }, [I8(a), I8(b), I8(c)]);
  t.deepEqual(out, [1, 2, 5, 7, 8, 9, 3, 4, 6, 10, 11, 12]);
});

test('CONCATENATION float32 on axis -1 with fused RELU, and on axis 0', async (t) => {
  const a = [-1, 2, 3, -4]; // [2, 2]
  const b = [5, -6]; // [2, 1]
  const [out] = await oneOp({ op: 'CONCATENATION', ins: [ft([2, 2]), ft([2, 1])], outs: [ft([2, 3])], options: { axis: -1, activation: 'RELU' } }, [F32(a), F32(b)]);
  t.deepEqual(out, [0, 2, 5, 3, 0, 0]);
  const [rows] = await oneOp({ op: 'CONCATENATION', ins: [ft([2, 2]), ft([1, 2])], outs: [ft([3, 2])], options: { axis: 0 } }, [F32(a), F32([9, 10])]);
  t.deepEqual(rows, [-1, 2, 3, -4, 9, 10]);
  // axis -2 of rank 3 is axis 1
  const [mid] = await oneOp({ op: 'CONCATENATION', ins: [ft([1, 1, 2]), ft([1, 2, 2])], outs: [ft([1, 3, 2])], options: { axis: -2 } }, [F32([1, 2]), F32([3, 4, 5, 6])]);
  t.deepEqual(mid, [1, 2, 3, 4, 5, 6]);
});

test('PACK on axis 0, 1 and -1', async (t) => {
  const a = [1, 2, 3, 4, 5, 6]; // [2, 3]
  const b = [7, 8, 9, 10, 11, 12];
  const T = (shape: number[]) => q8(shape, 0.1, 0);
  const [ax0] = await oneOp({ op: 'PACK', ins: [T([2, 3]), T([2, 3])], outs: [T([2, 2, 3])], options: { axis: 0, valuesCount: 2 } }, [I8(a), I8(b)]);
  t.deepEqual(ax0, [...a, ...b]);
  const [ax1] = await oneOp({ op: 'PACK', ins: [T([2, 3]), T([2, 3])], outs: [T([2, 2, 3])], options: { axis: 1, valuesCount: 2 } }, [I8(a), I8(b)]);
  t.deepEqual(ax1, [1, 2, 3, 7, 8, 9, 4, 5, 6, 10, 11, 12]);
  const [last] = await oneOp({ op: 'PACK', ins: [ft([2, 3]), ft([2, 3])], outs: [ft([2, 3, 2])], options: { axis: -1, valuesCount: 2 } }, [F32(a), F32(b)]);
  t.deepEqual(last, [1, 7, 2, 8, 3, 9, 4, 10, 5, 11, 6, 12]);
});

test('SHAPE to int32 and int64', async (t) => {
  const [s32] = await oneOp({ op: 'SHAPE', ins: [ft([2, 3, 5])], outs: [it32([3])], options: { outType: 'int32' } }, [new Float32Array(30)]);
  t.deepEqual(s32, [2, 3, 5]);
  const [s64] = await oneOp({ op: 'SHAPE', ins: [q8([1, 7, 1, 4], 1, 0)], outs: [it64([4])], options: { outType: 'int64' } }, [new Int8Array(28)]);
  t.deepEqual(s64, [1, 7, 1, 4]);
});

/** STRIDED_SLICE of the constant-free input x with const begin/end/strides. */
function slice(inShape: number[], begin: number[], end: number[], strides: number[], outShape: number[], options: Record<string, number> = {}): OneOpSpec {
  const n = begin.length;
  return { op: 'STRIDED_SLICE', ins: [q8(inShape, 1, 0), it32([n], begin), it32([n], end), it32([n], strides)], outs: [q8(outShape, 1, 0)], options };
}

test('STRIDED_SLICE: strides, end clamping', async (t) => {
  // x [3, 4] = 0..11. rows 0:3:2 -> 0, 2; cols 1:100 -> end clamps to 4 -> 1, 2, 3
  const [out] = await oneOp(slice([3, 4], [0, 1], [3, 100], [2, 1], [2, 3]), [I8(range(12))]);
  t.deepEqual(out, [1, 2, 3, 9, 10, 11]);
});

test('STRIDED_SLICE: begin/end masks with a negative stride', async (t) => {
  // begin_mask 1: axis 0 starts at 0 (begin 2 ignored); end_mask 3: axis 0 runs to 3, axis 1
  // (stride -1, begin 3) runs past index 0 -> each row reversed
  const [out] = await oneOp(slice([3, 4], [2, 3], [0, 0], [1, -1], [3, 4], { beginMask: 1, endMask: 3 }), [I8(range(12))]);
  t.deepEqual(out, [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8]);
});

test('STRIDED_SLICE: negative indices and stride -2', async (t) => {
  // x = [10..15]; begin -1 -> 5; end -7 -> -1 (clamped to [-1, 5]); stride -2 -> 5, 3, 1
  const [out] = await oneOp(slice([6], [-1], [-7], [-2], [3]), [I8(range(6, 10))]);
  t.deepEqual(out, [15, 13, 11]);
  // begin 100 clamps to 5 for a negative stride; end -5 -> 1 -> 5, 4, 3, 2
  const [out2] = await oneOp(slice([6], [100], [-5], [-1], [4]), [I8(range(6, 10))]);
  t.deepEqual(out2, [15, 14, 13, 12]);
});

test('STRIDED_SLICE: shrink_axis_mask (negative begin, and down to a scalar)', async (t) => {
  // shrink axis 0 at begin -1 -> row 2 (end is ignored); cols 1:3 -> [9, 10], output shape [2]
  const [row] = await oneOp(slice([3, 4], [-1, 1], [0, 3], [1, 1], [2], { shrinkAxisMask: 1 }), [I8(range(12))]);
  t.deepEqual(row, [9, 10]);
  // shrink axis 1 of begin 2: column 2 of rows 0..2
  const [col] = await oneOp(slice([3, 4], [0, 2], [3, 3], [1, 1], [3], { shrinkAxisMask: 2 }), [I8(range(12))]);
  t.deepEqual(col, [2, 6, 10]);
  // both axes: the element [1, 2] = 6 as a rank-0 tensor
  const [one] = await oneOp(slice([3, 4], [1, 2], [2, 3], [1, 1], [], { shrinkAxisMask: 3 }), [I8(range(12))]);
  t.deepEqual(one, [6]);
});

test('STRIDED_SLICE: offset (end relative to begin), ellipsis_mask, new_axis_mask', async (t) => {
  // offset: end = begin + end -> begin 1, end 3 -> 1:4 -> [11, 12, 13]
  const [off] = await oneOp(slice([6], [1], [3], [1], [3], { offset: 1 }), [I8(range(6, 10))]);
  t.deepEqual(off, [11, 12, 13]);
  // x [2, 3, 4] = 0..23; ellipsis at entry 0 covers dims 0 and 1, entry 1 slices dim 2 as 1:3
  // (x[..., 1:3]) -> shape [2, 3, 2]
  const x = range(24);
  const [ell] = await oneOp(slice([2, 3, 4], [0, 1], [0, 3], [1, 1], [2, 3, 2], { ellipsisMask: 1 }), [I8(x)]);
  t.deepEqual(ell, range(6).flatMap((r) => [x[r * 4 + 1], x[r * 4 + 2]]));
  // new axis at entry 0 (x[newaxis, 0:2] of a [3] vector) -> shape [1, 2]
  const [na] = await oneOp(slice([3], [0, 0], [0, 2], [1, 1], [1, 2], { newAxisMask: 1 }), [I8([7, 8, 9])]);
  t.deepEqual(na, [7, 8]);
});

test('RESIZE_NEAREST_NEIGHBOR: default, align_corners, half_pixel_centers', async (t) => {
  // input [1, 2, 3, 1] = rows [1 2 3], [4 5 6]; output [1, 3, 5, 1].
  // default: scale in/out; src = floor(x * scale): cols 3/5 -> floor(0, .6, 1.2, 1.8, 2.4) = 0 0 1 1 2,
  //          rows 2/3 -> floor(0, .67, 1.33) = 0 0 1
  // align_corners: scale (in-1)/(out-1), src = round(x * scale): cols 2/4 -> round(0, .5, 1, 1.5, 2) = 0 1 1 2 2,
  //          rows 1/2 -> round(0, .5, 1) = 0 1 1
  // half_pixel_centers: src = floor((x + .5) * scale): cols .3 .9 1.5 2.1 2.7 -> 0 0 1 2 2,
  //          rows .33 1.0 1.67 -> 0 1 1
  const x = [1, 2, 3, 4, 5, 6];
  const pick = (rows: number[], cols: number[]) => rows.flatMap((r) => cols.map((c) => x[r * 3 + c]));
  const cases: [string, Record<string, boolean>, number[], number[]][] = [
    ['default', {}, [0, 0, 1], [0, 0, 1, 1, 2]],
    ['align_corners', { alignCorners: true }, [0, 1, 1], [0, 1, 1, 2, 2]],
    ['half_pixel_centers', { halfPixelCenters: true }, [0, 1, 1], [0, 0, 1, 2, 2]],
  ];
  for (const [name, options, rows, cols] of cases) {
    // the reference formula agrees with the hand derivation
    t.deepEqual(rows, range(3).map((y) => nearestSource(y, 2, 3, !!options.alignCorners, !!options.halfPixelCenters)), name);
    t.deepEqual(cols, range(5).map((c) => nearestSource(c, 3, 5, !!options.alignCorners, !!options.halfPixelCenters)), name);
    const [out] = await oneOp({ op: 'RESIZE_NEAREST_NEIGHBOR', ins: [q8([1, 2, 3, 1], 0.5, 1), it32([2], [3, 5])], outs: [q8([1, 3, 5, 1], 0.5, 1)], options }, [I8(x)]);
    t.deepEqual(out, pick(rows, cols), name);
  }
  // float, 2 channels, downscaling 4x4 -> 2x2: src = floor(y * 2) -> 0, 2
  const img = range(32).map((v) => v * 0.5);
  const [down] = await oneOp({ op: 'RESIZE_NEAREST_NEIGHBOR', ins: [ft([1, 4, 4, 2]), it32([2], [2, 2])], outs: [ft([1, 2, 2, 2])] }, [F32(img)]);
  const at = (y: number, xx: number, c: number) => img[(y * 4 + xx) * 2 + c];
  t.deepEqual(down, [at(0, 0, 0), at(0, 0, 1), at(0, 2, 0), at(0, 2, 1), at(2, 0, 0), at(2, 0, 1), at(2, 2, 0), at(2, 2, 1)]);
});

test('SQUEEZE and EXPAND_DIMS copy the data into the new shape', async (t) => {
  const m = await load(oneOpModel({ op: 'SQUEEZE', ins: [q8([1, 3, 1, 2], 0.5, 0)], outs: [q8([3, 2], 0.5, 0)] }));
  t.teardown(() => m.dispose());
  t.deepEqual(m.outputs[0].shape, [3, 2]);
  t.deepEqual(Array.from(await m.run([I8([1, 2, 3, 4, 5, 6])]).then((o) => o[0] as Int8Array)), [1, 2, 3, 4, 5, 6]);
  const [e] = await oneOp({ op: 'EXPAND_DIMS', ins: [ft([2, 2]), it32([1], [1])], outs: [ft([2, 1, 2])] }, [F32([1.5, -2, 3, 4])]);
  t.deepEqual(e, [1.5, -2, 3, 4]);
});

test('PAD int8 pads with the zero point; PADV2 with its constant; int64 paddings; float', async (t) => {
  // x [1, 2, 2, 1] padded by 1 on H (before) and 1 on W (after) -> [1, 3, 3, 1]
  const pads = [0, 0, 1, 0, 0, 1, 0, 0];
  const Z = 7;
  const [pad] = await oneOp({ op: 'PAD', ins: [q8([1, 2, 2, 1], 0.5, Z), it32([4, 2], pads)], outs: [q8([1, 3, 3, 1], 0.5, Z)] }, [I8([1, 2, 3, 4])]);
  t.deepEqual(pad, [Z, Z, Z, 1, 2, Z, 3, 4, Z]);
  const [v2] = await oneOp(
    { op: 'PADV2', ins: [q8([1, 2, 2, 1], 0.5, Z), it64([4, 2], pads), q8([], 0.5, Z, [-100])], outs: [q8([1, 3, 3, 1], 0.5, Z)] },
    [I8([1, 2, 3, 4])],
  );
  t.deepEqual(v2, [-100, -100, -100, 1, 2, -100, 3, 4, -100]);
  const [vf] = await oneOp({ op: 'PADV2', ins: [ft([2]), it32([1, 2], [2, 1]), ft([], [9.5])], outs: [ft([5])] }, [F32([1, 2])]);
  t.deepEqual(vf, [9.5, 9.5, 1, 2, 9.5]);
});

test('AVERAGE_POOL_2D / MAX_POOL_2D: SAME stride 2 (window clipped at the edge), fused activation', async (t) => {
  // input 3x3 (1 channel), 2x2 window, SAME stride 2: out 2x2, total pad (2-1)*2 + 2 - 3 = 1 -> 0 before,
  // 1 after; windows: rows {0,1},{2}; cols {0,1},{2} -> counts 4, 2, 2, 1 (padding not counted).
  // int8 (in = out quantization): average of raw values, rounded half away from zero.
  const x = [10, -20, 31, 4, 5, -7, -100, 51, 9];
  const wins = [
    [0, 1, 3, 4],
    [2, 5],
    [6, 7],
    [8],
  ];
  const avg = (w: number[]) => {
    const s = w.reduce((a, k) => a + x[k], 0);
    return s > 0 ? Math.trunc((s + Math.trunc(w.length / 2)) / w.length) : Math.trunc((s - Math.trunc(w.length / 2)) / w.length);
  };
  // by hand: (10 - 20 + 4 + 5) / 4 = -0.25 -> 0; (31 - 7) / 2 = 12; (-100 + 51) / 2 = -24.5 -> -25; 9
  t.deepEqual(wins.map((w) => avg(w) + 0), [0, 12, -25, 9]); // + 0: Math.trunc(-0.25) is -0
  const opts = { padding: 'SAME', strideH: 2, strideW: 2, filterH: 2, filterW: 2 };
  const T = (shape: number[]) => q8(shape, 0.1, -5);
  const [a8] = await oneOp({ op: 'AVERAGE_POOL_2D', ins: [T([1, 3, 3, 1])], outs: [T([1, 2, 2, 1])], options: opts }, [I8(x)]);
  t.deepEqual(a8, [0, 12, -25, 9]);
  // RELU on the int8 output: lower bound zp + 0 = -5
  const [a8r] = await oneOp({ op: 'AVERAGE_POOL_2D', ins: [T([1, 3, 3, 1])], outs: [T([1, 2, 2, 1])], options: { ...opts, activation: 'RELU' } }, [I8(x)]);
  t.deepEqual(a8r, [0, 12, -5, 9]);
  const [m8] = await oneOp({ op: 'MAX_POOL_2D', ins: [T([1, 3, 3, 1])], outs: [T([1, 2, 2, 1])], options: opts }, [I8(x)]);
  t.deepEqual(m8, [10, 31, 51, 9]);
  // float with RELU_N1_TO_1 on the max; RELU6 on the average
  const xf = x.map((v) => v / 16);
  const [mf] = await oneOp({ op: 'MAX_POOL_2D', ins: [ft([1, 3, 3, 1])], outs: [ft([1, 2, 2, 1])], options: { ...opts, activation: 'RELU_N1_TO_1' } }, [F32(xf)]);
  t.deepEqual(mf, [10 / 16, 1, 1, 9 / 16]);
  const [af] = await oneOp({ op: 'AVERAGE_POOL_2D', ins: [ft([1, 3, 3, 1])], outs: [ft([1, 2, 2, 1])], options: { ...opts, activation: 'RELU6' } }, [F32(xf)]);
  t.deepEqual(af, fr([0, 24 / 32, 0, 9 / 16]));
});

test('MEAN float32 over H, W with and without keep_dims', async (t) => {
  const x = range(12).map((v) => v * 0.5); // [1, 2, 2, 3]
  const want = [0, 1, 2].map((c) => [0, 1, 2, 3].reduce((a, p) => a + x[p * 3 + c], 0) / 4);
  const [keep] = await oneOp({ op: 'MEAN', ins: [ft([1, 2, 2, 3]), it32([2], [1, 2])], outs: [ft([1, 1, 1, 3])], options: { keepDims: true } }, [F32(x)]);
  t.deepEqual(keep, want);
  const [flat] = await oneOp({ op: 'MEAN', ins: [ft([1, 2, 2, 3]), it32([2], [1, 2])], outs: [ft([1, 3])], options: { keepDims: false } }, [F32(x)]);
  t.deepEqual(flat, want);
});

test('TRANSPOSE int8 NHWC -> NCHW', async (t) => {
  const x = range(24, -12); // [1, 2, 3, 4]
  const [out] = await oneOp({ op: 'TRANSPOSE', ins: [q8([1, 2, 3, 4], 1, 0), it32([4], [0, 3, 1, 2])], outs: [q8([1, 4, 2, 3], 1, 0)] }, [I8(x)]);
  const want: number[] = [];
  for (let c = 0; c < 4; c++) for (let h = 0; h < 2; h++) for (let w = 0; w < 3; w++) want.push(x[(h * 3 + w) * 4 + c]);
  t.deepEqual(out, want);
});

// =====================================================================================
// QUANTIZE / DEQUANTIZE
// =====================================================================================

test('QUANTIZE float32 -> int8: round half away from zero, saturate', async (t) => {
  // scale 0.5 zp -1: x / 0.5 = 0, .5, -.5, 1.5, 2.5, 200, -200 -> 0, 1, -1, 2, 3, sat -> + zp
  const [out] = await oneOp({ op: 'QUANTIZE', ins: [ft([7])], outs: [q8([7], 0.5, -1)] }, [F32([0, 0.25, -0.25, 0.75, 1.25, 100, -100])]);
  t.deepEqual(out, [-1, 0, -2, 1, 2, 127, -128]);
});

test('QUANTIZE int8 -> int8 requantizes (ties up, as SaturatingRoundingDoublingHighMul)', async (t) => {
  // in scale 0.25, out scale 0.5: factor 0.5 -> (2^30, shift 0) -> srdhm(x, 2^30) = (x*2^30 + nudge) / 2^31
  // with nudge 2^30 (x >= 0) or 1 - 2^30 (x < 0), truncated: 1 -> 1, -1 -> 0, 3 -> 2, -3 -> -1, 127 -> 64
  const x = [1, -1, 3, -3, 2, -128, 127];
  const [out] = await oneOp({ op: 'QUANTIZE', ins: [q8([7], 0.25, 0)], outs: [q8([7], 0.5, 0)] }, [I8(x)]);
  t.deepEqual(out, [1, 0, 2, -1, 1, -64, 64]);
  // zero points and a factor 2: (x - 3) * 2 - 5, saturated
  const [out2] = await oneOp({ op: 'QUANTIZE', ins: [q8([256], 0.5, 3)], outs: [q8([256], 0.25, -5)] }, [I8(ALL_INT8)]);
  t.deepEqual(out2, ALL_INT8.map((v) => clamp((v - 3) * 2 - 5, -128, 127)));
});

test('QUANTIZE int16 paths: float -> int16, int8 -> int16, int16 -> int8, int16 -> int16', async (t) => {
  // float -> int16 scale 1/1024: .5 -> 512, -1.25 -> -1280, 40 -> 40960 sat, 1/2048 -> .5 -> 1
  const [f16] = await oneOp({ op: 'QUANTIZE', ins: [ft([5])], outs: [q16([5], 1 / 1024, 0)] }, [F32([0.5, -1.25, 40, -40, 1 / 2048])]);
  t.deepEqual(f16, [512, -1280, 32767, -32768, 1]);
  // int8 (0.5, zp -3) -> int16 (1/256): factor 128, exact
  const [up] = await oneOp({ op: 'QUANTIZE', ins: [q8([256], 0.5, -3)], outs: [q16([256], 1 / 256, 0)] }, [I8(ALL_INT8)]);
  t.deepEqual(up, ALL_INT8.map((v) => (v + 3) * 128));
  // int16 (1/256) -> int8 (0.5, zp 1): factor 1/128
  const x16 = [0, 64, -64, 192, -192, 100, 32767, -32768, 12345];
  const [down] = await oneOp({ op: 'QUANTIZE', ins: [q16([9], 1 / 256, 0)], outs: [q8([9], 0.5, 1)] }, [I16(x16)]);
  t.deepEqual(down, x16.map((v) => clamp(requant(v, 1 / 128) + 1, -128, 127)));
  // factor 1/128 -> (2^30, shift -6): srdhm halves exactly, the tie is in RoundingDivideByPOT, which
  // rounds away from zero: 64 -> .5 -> 1; -64 -> -.5 -> -1; 192 -> 1.5 -> 2; -192 -> -2; then + zp 1
  t.deepEqual(down.slice(0, 5), [1, 2, 0, 3, -1]);
  // int16 (1/1024) -> int16 (1/256): factor 1/4
  const [same] = await oneOp({ op: 'QUANTIZE', ins: [q16([9], 1 / 1024, 0)], outs: [q16([9], 1 / 256, 0)] }, [I16(x16)]);
  t.deepEqual(same, x16.map((v) => requant(v, 0.25)));
});

test('DEQUANTIZE int8 and int16 -> float32', async (t) => {
  const [d8] = await oneOp({ op: 'DEQUANTIZE', ins: [q8([256], 0.25, 3)], outs: [ft([256])] }, [I8(ALL_INT8)]);
  t.deepEqual(d8, ALL_INT8.map((v) => (v - 3) * 0.25));
  const [d16] = await oneOp({ op: 'DEQUANTIZE', ins: [q16([4], 1 / 512, 0)], outs: [ft([4])] }, [I16([512, -1024, 1, 32767])]);
  t.deepEqual(d16, [1, -2, 1 / 512, 32767 / 512]);
});

test('QUANTIZE then DEQUANTIZE (two ops): the round trip of floats', async (t) => {
  const spec = {
    tensors: [ft([6]), q8([6], 0.1, 10), ft([6])],
    operators: [
      { op: 'QUANTIZE', inputs: [0], outputs: [1] },
      { op: 'DEQUANTIZE', inputs: [1], outputs: [2] },
    ],
    inputs: [0],
    outputs: [2],
  };
  const x = [0, 0.04, 0.05, -1.26, 5, 20];
  const [out] = await runModel(spec, [F32(x)]);
  const want = x.map((v) => Math.fround(0.1) * (quantizeF(v, 0.1, 10) - 10));
  t.deepEqual(Array.from(out as Float32Array), fr(want));
});

// =====================================================================================
// CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED
// =====================================================================================

/** Per-channel int8 weights tensor (quantized on `axis`). */
function qw(shape: number[], scales: number[], data: number[], axis: number) {
  return { type: 'int8' as const, shape, quant: { scale: scales, zeroPoint: scales.map(() => 0), axis }, data: i8(data) };
}
function bias32(scales: number[], data: number[]) {
  return { type: 'int32' as const, shape: [data.length], quant: { scale: scales, zeroPoint: scales.map(() => 0) }, data: i32(data) };
}

test('CONV_2D float32 with dilation 2, VALID', async (t) => {
  // input 6x6, 3x3 filter dilated by 2 covers 5x5 -> VALID output (6 - 5) / 1 + 1 = 2
  const inShape = [1, 6, 6, 2];
  const fShape = [3, 3, 3, 2];
  const x = ints(size(inShape), -8, 8, 1).map((v) => v / 2);
  const w = ints(size(fShape), -4, 4, 2).map((v) => v / 4);
  const b = [0.5, -1, 2];
  const g = { strideH: 1, strideW: 1, dilationH: 2, dilationW: 2, padTop: 0, padLeft: 0, outH: 2, outW: 2 };
  const want = convSums(inShape, x, fShape, w, g).map((s, k) => s + b[k % 3]);
  const [out] = await oneOp(
    { op: 'CONV_2D', ins: [ft(inShape), ft(fShape, w), ft([3], b)], outs: [ft([1, 2, 2, 3])], options: { padding: 'VALID', dilationH: 2, dilationW: 2 } },
    [F32(x)],
  );
  t.deepEqual(out, want); // small multiples of 1/8: exact in float32
});

test('CONV_2D int8 per-channel, SAME stride 2 (asymmetric padding) with RELU', async (t) => {
  // input 4x4, 3x3, SAME stride 2: out ceil(4/2) = 2; total pad = (2-1)*2 + 3 - 4 = 1 -> top/left 0, bottom/right 1
  const inShape = [1, 4, 4, 3];
  const fShape = [2, 3, 3, 3];
  const I = { scale: 0.05, zp: -6 };
  const O = { scale: 0.2, zp: -20 };
  const sW = [0.01, 0.02];
  const x = ints(size(inShape), -128, 127, 31);
  const w = ints(size(fShape), -127, 127, 32);
  const b = [300, -1200];
  const g = { strideH: 2, strideW: 2, dilationH: 1, dilationW: 1, padTop: 0, padLeft: 0, outH: 2, outW: 2 };
  const want = requantPerChannel(convSums(inShape, x, fShape, w, g, undefined, (v) => v - I.zp), b, I.scale, sW, O, 'RELU');
  const [out] = await oneOp(
    {
      op: 'CONV_2D',
      ins: [q8(inShape, I.scale, I.zp), qw(fShape, sW, w, 0), bias32(sW.map((s) => s * I.scale), b)],
      outs: [q8([1, 2, 2, 2], O.scale, O.zp)],
      options: { padding: 'SAME', strideH: 2, strideW: 2, activation: 'RELU' },
    },
    [I8(x)],
  );
  t.deepEqual(out, want);
});

test('CONV_2D int8 VALID stride 2, and SAME with dilation 2', async (t) => {
  const I = { scale: 0.1, zp: 2 };
  const O = { scale: 0.3, zp: 5 };
  const sW = [0.015];
  const fShape = [1, 3, 3, 1];
  const w = ints(9, -127, 127, 41);
  // VALID stride 2 on 5x5: floor((5 - 3) / 2) + 1 = 2
  const x = ints(25, -128, 127, 42);
  const valid = { strideH: 2, strideW: 2, dilationH: 1, dilationW: 1, padTop: 0, padLeft: 0, outH: 2, outW: 2 };
  const [out] = await oneOp(
    { op: 'CONV_2D', ins: [q8([1, 5, 5, 1], I.scale, I.zp), qw(fShape, sW, w, 0)], outs: [q8([1, 2, 2, 1], O.scale, O.zp)], options: { padding: 'VALID', strideH: 2, strideW: 2 } },
    [I8(x)],
  );
  t.deepEqual(out, requantPerChannel(convSums([1, 5, 5, 1], x, fShape, w, valid, undefined, (v) => v - I.zp), [0], I.scale, sW, O));
  // SAME, dilation 2, stride 1 on 5x5: effective window 5, total pad 4 -> 2 before, 2 after; output 5x5
  const dil = { strideH: 1, strideW: 1, dilationH: 2, dilationW: 2, padTop: 2, padLeft: 2, outH: 5, outW: 5 };
  const [out2] = await oneOp(
    { op: 'CONV_2D', ins: [q8([1, 5, 5, 1], I.scale, I.zp), qw(fShape, sW, w, 0)], outs: [q8([1, 5, 5, 1], O.scale, O.zp)], options: { padding: 'SAME', dilationH: 2, dilationW: 2 } },
    [I8(x)],
  );
  t.deepEqual(out2, requantPerChannel(convSums([1, 5, 5, 1], x, fShape, w, dil, undefined, (v) => v - I.zp), [0], I.scale, sW, O));
});

test('CONV_2D float32 batch 2, SAME stride 2 on an odd input', async (t) => {
  // 5x5, 3x3, SAME stride 2: out 3, total pad (3-1)*2 + 3 - 5 = 2 -> 1 before, 1 after
  const inShape = [2, 5, 5, 2];
  const fShape = [2, 3, 3, 2];
  const x = ints(size(inShape), -8, 8, 91).map((v) => v / 2);
  const w = ints(size(fShape), -4, 4, 92).map((v) => v / 4);
  const g = { strideH: 2, strideW: 2, dilationH: 1, dilationW: 1, padTop: 1, padLeft: 1, outH: 3, outW: 3 };
  const want = convSums(inShape, x, fShape, w, g).map((v) => clamp(v, -1, 1));
  const [out] = await oneOp(
    { op: 'CONV_2D', ins: [ft(inShape), ft(fShape, w)], outs: [ft([2, 3, 3, 2])], options: { padding: 'SAME', strideH: 2, strideW: 2, activation: 'RELU_N1_TO_1' } },
    [F32(x)],
  );
  t.deepEqual(out, want);
});

test('DEPTHWISE_CONV_2D int8 with depth multiplier 2, SAME', async (t) => {
  // 2 input channels x multiplier 2 = 4 output channels; output channel c*2 + m reads input channel c
  const inShape = [1, 4, 4, 2];
  const fShape = [1, 3, 3, 4];
  const I = { scale: 0.04, zp: 1 };
  const O = { scale: 0.1, zp: -3 };
  const sW = [0.01, 0.012, 0.02, 0.005];
  const x = ints(size(inShape), -128, 127, 51);
  const w = ints(size(fShape), -127, 127, 52);
  const b = [100, -50, 0, 2000];
  const g = { strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padTop: 1, padLeft: 1, outH: 4, outW: 4 };
  const want = requantPerChannel(convSums(inShape, x, fShape, w, g, 2, (v) => v - I.zp), b, I.scale, sW, O);
  const [out] = await oneOp(
    {
      op: 'DEPTHWISE_CONV_2D',
      ins: [q8(inShape, I.scale, I.zp), qw(fShape, sW, w, 3), bias32(sW.map((s) => s * I.scale), b)],
      outs: [q8([1, 4, 4, 4], O.scale, O.zp)],
      options: { padding: 'SAME', depthMultiplier: 2 },
    },
    [I8(x)],
  );
  t.deepEqual(out, want);
});

test('DEPTHWISE_CONV_2D float32 with depth multiplier 2, VALID stride 2, RELU6', async (t) => {
  const inShape = [1, 5, 5, 2];
  const fShape = [1, 3, 3, 4];
  const x = ints(size(inShape), -8, 8, 61).map((v) => v / 2);
  const w = ints(size(fShape), -4, 4, 62).map((v) => v / 4);
  const b = [0, 1, -1, 0.5];
  const g = { strideH: 2, strideW: 2, dilationH: 1, dilationW: 1, padTop: 0, padLeft: 0, outH: 2, outW: 2 };
  const want = convSums(inShape, x, fShape, w, g, 2).map((s, k) => clamp(s + b[k % 4], 0, 6));
  const [out] = await oneOp(
    {
      op: 'DEPTHWISE_CONV_2D',
      ins: [ft(inShape), ft(fShape, w), ft([4], b)],
      outs: [ft([1, 2, 2, 4])],
      options: { padding: 'VALID', strideH: 2, strideW: 2, depthMultiplier: 2, activation: 'RELU6' },
    },
    [F32(x)],
  );
  t.deepEqual(out, want);
});

test('FULLY_CONNECTED float32 with keep_num_dims: [2,3,4] -> [2,3,5]', async (t) => {
  const x = ints(24, -6, 6, 71).map((v) => v / 2);
  const w = ints(20, -4, 4, 72).map((v) => v / 4);
  const b = [1, -1, 0.5, 0, 2];
  const m = await load(oneOpModel({ op: 'FULLY_CONNECTED', ins: [ft([2, 3, 4]), ft([5, 4], w), ft([5], b)], outs: [ft([2, 3, 5])], options: { keepNumDims: true } }));
  t.teardown(() => m.dispose());
  t.deepEqual(m.outputs[0].shape, [2, 3, 5]);
  const [out] = await m.run([F32(x)]);
  const want: number[] = [];
  for (let r = 0; r < 6; r++) for (let u = 0; u < 5; u++) want.push(b[u] + range(4).reduce((acc, d) => acc + x[r * 4 + d] * w[u * 4 + d], 0));
  t.deepEqual(Array.from(out as Float32Array), want);
});

test('FULLY_CONNECTED int8 flattening [2,3,4] -> [6,5] with RELU', async (t) => {
  const I = { scale: 0.06, zp: -4 };
  const O = { scale: 0.15, zp: -60 };
  const sW = 0.011;
  const x = ints(24, -128, 127, 81);
  const w = ints(20, -127, 127, 82);
  const b = [500, -500, 0, 40, -3000];
  const [lo, hi] = actRangeQ('RELU', O.scale, O.zp);
  const want: number[] = [];
  for (let r = 0; r < 6; r++)
    for (let u = 0; u < 5; u++) {
      const acc = b[u] + range(4).reduce((a, d) => a + (x[r * 4 + d] - I.zp) * w[u * 4 + d], 0);
      want.push(clamp(requant(acc, (Math.fround(I.scale) * Math.fround(sW)) / Math.fround(O.scale)) + O.zp, lo, hi));
    }
  const [out] = await oneOp(
    {
      op: 'FULLY_CONNECTED',
      ins: [q8([2, 3, 4], I.scale, I.zp), q8([5, 4], sW, 0, w), { type: 'int32', shape: [5], quant: { scale: [I.scale * sW], zeroPoint: [0] }, data: i32(b) }],
      outs: [q8([6, 5], O.scale, O.zp)],
      options: { activation: 'RELU' },
    },
    [I8(x)],
  );
  t.deepEqual(out, want);
});

test('FULLY_CONNECTED int8 with keep_num_dims', async (t) => {
  const I = { scale: 0.1, zp: 0 };
  const O = { scale: 0.5, zp: 2 };
  const x = ints(12, -128, 127, 111); // [1, 3, 4]
  const w = ints(8, -127, 127, 112); // [2, 4]
  const want: number[] = [];
  for (let r = 0; r < 3; r++)
    for (let u = 0; u < 2; u++)
      want.push(clamp(requant(range(4).reduce((a, d) => a + x[r * 4 + d] * w[u * 4 + d], 0), (Math.fround(0.1) * Math.fround(0.02)) / Math.fround(0.5)) + O.zp, -128, 127));
  const [out] = await oneOp(
    { op: 'FULLY_CONNECTED', ins: [q8([1, 3, 4], I.scale, I.zp), q8([2, 4], 0.02, 0, w), null], outs: [q8([1, 3, 2], O.scale, O.zp)], options: { keepNumDims: true } },
    [I8(x)],
  );
  t.deepEqual(out, want);
});

// =====================================================================================
// SVDF, UNIDIRECTIONAL_SEQUENCE_LSTM (state)
// =====================================================================================

test('SVDF float32: state carried across runs, reset by resetState()', async (t) => {
  // batch 1, input 2, 2 filters, rank 1 (2 units), memory 3. Each run: every filter's memory
  // shifts left by one, the newest slot gets wf[f] . x; out[u] = bias[u] + wt[u] . memory[u]; RELU.
  const wf = [1, 0.5, -1, 2];
  const wt = [0.5, 0.25, 1, 1, -1, 0.5];
  const bias = [0.25, -0.5];
  const spec = oneOpModel({
    op: 'SVDF',
    ins: [ft([1, 2]), ft([2, 2], wf), ft([2, 3], wt), ft([2], bias), { ...ft([1, 6]), variable: true }],
    outs: [ft([1, 2])],
    options: { rank: 1, activation: 'RELU' },
  });
  const xs = [
    [1, 2],
    [3, -1],
    [0.5, 0.5],
    [-2, 1],
  ];
  // reference
  const mem = [
    [0, 0, 0],
    [0, 0, 0],
  ];
  const want = xs.map((x) => {
    return [0, 1].map((f) => {
      mem[f].shift();
      mem[f].push(wf[f * 2] * x[0] + wf[f * 2 + 1] * x[1]);
      return Math.max(0, bias[f] + mem[f].reduce((a, v, m) => a + v * wt[f * 3 + m], 0));
    });
  });
  // by hand, run 1: features [1*1 + .5*2, -1 + 4] = [2, 3]; memories [0 0 2], [0 0 3];
  // out = [.25 + 1*2, -.5 + .5*3] = [2.25, 1]
  t.deepEqual(want[0], [2.25, 1]);
  const m = await load(spec);
  t.teardown(() => m.dispose());
  for (let k = 0; k < xs.length; k++) {
    const [out] = await m.run([F32(xs[k])]);
    t.deepEqual(Array.from(out as Float32Array), want[k], `run ${k}`);
  }
  t.true(want.some((o) => o.includes(0)), 'RELU clamps something');
  await m.resetState();
  const [again] = await m.run([F32(xs[0])]);
  t.deepEqual(Array.from(again as Float32Array), want[0]);
});

/** A float LSTM step, TFLite's gate order (input, forget, cell, output), no peephole/projection. */
function lstmStep(x: number[], h: number[], c: number[], W: number[][][], R: number[][][], B: number[][]): { h: number[]; c: number[] } {
  const n = h.length;
  const pre = (g: number) => range(n).map((u) => B[g][u] + W[g][u].reduce((a, w, d) => a + w * x[d], 0) + R[g][u].reduce((a, r, d) => a + r * h[d], 0));
  const i = pre(0).map(sigmoid);
  const f = pre(1).map(sigmoid);
  const g = pre(2).map(Math.tanh);
  const o = pre(3).map(sigmoid);
  const c2 = range(n).map((u) => f[u] * c[u] + i[u] * g[u]);
  return { c: c2, h: range(n).map((u) => o[u] * Math.tanh(c2[u])) };
}

test('UNIDIRECTIONAL_SEQUENCE_LSTM float32: one step by hand, then two steps and a second run', async (t) => {
  // gates (rows = units, cols = inputs); x = [1, 2] at step 0, h = c = 0:
  //   input gate pre = Wi x = [1, 0]        -> i = [sigmoid(1), .5]
  //   cell gate pre = Wc x + bc = [2, 1 - 1] -> g = [tanh(2), 0]
  //   forget/output gates: zero weights and bias -> .5 (forget does not matter, c = 0)
  //   c = i * g = [sigmoid(1) tanh(2), 0];  h = .5 * tanh(c) = [.5 tanh(sigmoid(1) tanh(2)), 0]
  const W = [
    [
      [1, 0],
      [0, 0],
    ],
    [
      [0, 0],
      [0, 0],
    ],
    [
      [0, 1],
      [1, 0],
    ],
    [
      [0, 0],
      [0, 0],
    ],
  ];
  const R = [
    [
      [0.5, -0.5],
      [0.25, 1],
    ],
    [
      [1, 0],
      [0, 1],
    ],
    [
      [-1, 0.5],
      [0.5, 0.5],
    ],
    [
      [0.25, 0.25],
      [-1, 2],
    ],
  ];
  const B = [
    [0, 0],
    [0, 0],
    [0, -1],
    [0, 0],
  ];
  const mat = (m: number[][]) => ft([2, 2], m.flat());
  const ins = [
    ft([1, 2, 2]),
    ...W.map(mat),
    ...R.map(mat),
    null,
    null,
    null,
    ...B.map((b) => ft([2], b)),
    null,
    null,
    { ...ft([1, 2]), variable: true },
    { ...ft([1, 2]), variable: true },
    null,
    null,
    null,
    null,
  ];
  const m = await load(oneOpModel({ op: 'UNIDIRECTIONAL_SEQUENCE_LSTM', ins, outs: [ft([1, 2, 2])], options: { activation: 'TANH', timeMajor: false } }));
  t.teardown(() => m.dispose());

  const x1 = [1, 2, -1, 0.5]; // two time steps
  const x2 = [0.25, -2, 3, 1];
  let h = [0, 0];
  let c = [0, 0];
  const expect: number[][] = [];
  for (const x of [x1, x2]) {
    const seq: number[] = [];
    for (let s = 0; s < 2; s++) {
      ({ h, c } = lstmStep(x.slice(2 * s, 2 * s + 2), h, c, W, R, B));
      seq.push(...h);
    }
    expect.push(seq);
  }
  const byHand = 0.5 * Math.tanh(sigmoid(1) * Math.tanh(2));
  t.true(Math.abs(expect[0][0] - byHand) < 1e-12 && expect[0][1] === 0, 'reference agrees with the hand step');

  const o1 = (await m.run([F32(x1)]))[0] as Float32Array;
  t.true(Math.abs(o1[0] - byHand) < 1e-6, `step 0 unit 0: ${o1[0]} vs ${byHand}`);
  t.true(Math.abs(o1[1]) < 1e-7);
  t.true(maxAbsDiff(o1, expect[0]) < 1e-5, `run 1 ${Array.from(o1)} vs ${expect[0]}`);
  const [o2] = await m.run([F32(x2)]);
  t.true(maxAbsDiff(o2 as Float32Array, expect[1]) < 1e-5, 'run 2 continues from the state of run 1');
  await m.resetState();
  const [o3] = await m.run([F32(x1)]);
  t.true(maxAbsDiff(o3 as Float32Array, expect[0]) < 1e-5, 'resetState zeroes h and c');
});

test('SVDF int8 (int16 state): TFLite Micro integer arithmetic, state carried and reset', async (t) => {
  // TFLite Micro EvalIntegerSvdfReference: shift state; newest slot = clamp16(M1(wf . (x - zp_x))) (+ state zp 0);
  // per filter acc = wt . state; out = clamp8(M2(bias + sum over rank) + zp_out).
  // M1 = s_x * s_wf / s_state, M2 = s_state * s_wt / s_out (formed in float); bias scale = s_state * s_wt.
  const X = { scale: 0.05, zp: -3 };
  const sWf = 0.01;
  const sWt = 0.002;
  const sState = 1 / 4096;
  const O = { scale: 0.03, zp: 5 };
  const nIn = 3;
  const nF = 4;
  const nMem = 3;
  const rank = 2;
  const nU = nF / rank;
  const wf = ints(nF * nIn, -127, 127, 101);
  const wt = ints(nF * nMem, -2000, 2000, 102);
  const bias = [1000, -2500];
  const F = Math.fround;
  const m1 = F(F(F(X.scale) * F(sWf)) / F(sState));
  const m2 = F(F(F(sState) * F(sWt)) / F(O.scale));
  const spec = oneOpModel({
    op: 'SVDF',
    ins: [
      q8([1, nIn], X.scale, X.zp),
      q8([nF, nIn], sWf, 0, wf),
      q16([nF, nMem], sWt, 0, wt),
      { type: 'int32', shape: [nU], quant: { scale: [F(sState * sWt)], zeroPoint: [0] }, data: i32(bias) },
      { ...q16([1, nF * nMem], sState, 0), variable: true },
    ],
    outs: [q8([1, nU], O.scale, O.zp)],
    options: { rank },
  });
  const state = new Array(nF * nMem).fill(0);
  const step = (x: number[]) => {
    state.copyWithin(0, 1);
    for (let f = 0; f < nF; f++) {
      const dot = range(nIn).reduce((a, c) => a + wf[f * nIn + c] * (x[c] - X.zp), 0);
      state[f * nMem + nMem - 1] = clamp(requant(dot, m1), -32768, 32767);
    }
    const filt = range(nF).map((f) => range(nMem).reduce((a, k) => a + wt[f * nMem + k] * state[f * nMem + k], 0));
    return range(nU).map((u) => clamp(requant(bias[u] + filt[u * rank] + filt[u * rank + 1], m2) + O.zp, -128, 127));
  };
  const xs = [ints(3, -128, 127, 103), ints(3, -128, 127, 104), ints(3, -128, 127, 105), [127, -128, 0]];
  const want = xs.map(step);
  const m = await load(spec);
  t.teardown(() => m.dispose());
  for (let k = 0; k < xs.length; k++) t.deepEqual(Array.from((await m.run([I8(xs[k])]))[0] as Int8Array), want[k], `run ${k}`);
  t.true(new Set(want.map((w) => w.join())).size > 1, 'outputs change with the state');
  await m.resetState();
  t.deepEqual(Array.from((await m.run([I8(xs[0])]))[0] as Int8Array), want[0]);
});

test('SVDF float32 rank 2: two filters per unit are summed', async (t) => {
  // 4 filters, rank 2 -> 2 units; unit u sums filters 2u and 2u + 1. memory 2, no bias, no activation.
  const wf = [1, 0, 0, 1, 1, 1, 0.5, -1]; // [4, 2]
  const wt = [1, 0.5, 2, 1, -1, 1, 0.25, 0.5]; // [4, 2]
  const spec = oneOpModel({
    op: 'SVDF',
    ins: [ft([1, 2]), ft([4, 2], wf), ft([4, 2], wt), null, { ...ft([1, 8]), variable: true }],
    outs: [ft([1, 2])],
    options: { rank: 2 },
  });
  const xs = [
    [2, 4],
    [-1, 3],
  ];
  const mem = [0, 1, 2, 3].map(() => [0, 0]);
  const want = xs.map((x) => {
    const filt = [0, 1, 2, 3].map((f) => {
      mem[f].shift();
      mem[f].push(wf[f * 2] * x[0] + wf[f * 2 + 1] * x[1]);
      return mem[f][0] * wt[f * 2] + mem[f][1] * wt[f * 2 + 1];
    });
    return [filt[0] + filt[1], filt[2] + filt[3]];
  });
  // by hand, run 1: features [2, 4, 6, -3] in the newest slot -> filters [1, 4, 6, -1.5] -> [5, 4.5]
  t.deepEqual(want[0], [5, 4.5]);
  const m = await load(spec);
  t.teardown(() => m.dispose());
  for (let k = 0; k < xs.length; k++) t.deepEqual(Array.from((await m.run([F32(xs[k])]))[0] as Float32Array), want[k], `run ${k}`);
});

test('UNIDIRECTIONAL_SEQUENCE_LSTM float32 time major, batch 2: rows are independent sequences', async (t) => {
  const rnd = (n: number, seed: number) => ints(n, -4, 4, seed).map((v) => v / 4);
  const W = [0, 1, 2, 3].map((g) => [rnd(3, 10 + g), rnd(3, 20 + g)]); // [state 2, input 3]
  const R = [0, 1, 2, 3].map((g) => [rnd(2, 30 + g), rnd(2, 40 + g)]);
  const B = [0, 1, 2, 3].map((g) => rnd(2, 50 + g));
  const ins = [
    ft([3, 2, 3]), // [time, batch, input]
    ...W.map((m) => ft([2, 3], m.flat())),
    ...R.map((m) => ft([2, 2], m.flat())),
    null,
    null,
    null,
    ...B.map((b) => ft([2], b)),
    null,
    null,
    { ...ft([2, 2]), variable: true },
    { ...ft([2, 2]), variable: true },
  ]; // 20 inputs: the importer pads to 24
  const x = rnd(18, 99);
  const [out] = await oneOp({ op: 'UNIDIRECTIONAL_SEQUENCE_LSTM', ins, outs: [ft([3, 2, 2])], options: { activation: 'TANH', timeMajor: true } }, [F32(x)]);
  const want = new Array(12).fill(0);
  for (let b = 0; b < 2; b++) {
    let h = [0, 0];
    let c = [0, 0];
    for (let s = 0; s < 3; s++) {
      ({ h, c } = lstmStep(x.slice((s * 2 + b) * 3, (s * 2 + b) * 3 + 3), h, c, W, R, B));
      want[(s * 2 + b) * 2] = h[0];
      want[(s * 2 + b) * 2 + 1] = h[1];
    }
  }
  t.true(maxAbsDiff(out, want) < 1e-5, `got ${out} want ${want}`);
});

// =====================================================================================
// Whole-model behaviour: legacy uint8, multiple inputs/outputs
// =====================================================================================

test('legacy uint8 model (zero point 128) runs as int8: Uint8Array in and out, same result', async (t) => {
  // ADD of an input and a constant, uint8 tensors; then the same model in int8 (zero points - 128,
  // data - 128). uint8 result - 128 must equal the int8 result.
  const A = { scale: 0.5, zp: 128 };
  const B = { scale: 0.25, zp: 130 };
  const O = { scale: 0.5, zp: 120 };
  const bU8 = [0, 130, 255, 77];
  const uspec = oneOpModel({
    op: 'ADD',
    ins: [qt('uint8', [4], A.scale, A.zp), qt('uint8', [4], B.scale, B.zp, bU8)],
    outs: [qt('uint8', [4], O.scale, O.zp)],
  });
  const sspec = oneOpModel({
    op: 'ADD',
    ins: [q8([4], A.scale, A.zp - 128), q8([4], B.scale, B.zp - 128, bU8.map((v) => v - 128))],
    outs: [q8([4], O.scale, O.zp - 128)],
  });
  const m = await load(uspec);
  t.teardown(() => m.dispose());
  t.is(m.inputs[0].dtype, 'uint8');
  t.is(m.inputs[0].zeroPoint, 128);
  t.is(m.outputs[0].dtype, 'uint8');
  t.is(m.outputs[0].zeroPoint, 120);
  const a = [0, 128, 255, 200];
  const [u] = await m.run([Uint8Array.from(a)]);
  t.true(u instanceof Uint8Array);
  const [s] = await runModel(sspec, [I8(a.map((v) => v - 128))]);
  t.deepEqual(Array.from(u as Uint8Array).map((v) => v - 128), Array.from(s as Int8Array));
  // and both equal TFLite's uint8 arithmetic (which is the int8 one shifted by 128)
  const want = a.map((x, k) => addSubQ(x, bU8[k], A, B, O, false, [0, 255]));
  t.deepEqual(Array.from(u as Uint8Array), want);
  // by hand: a = 128 (real 0) + b = 130 (real 0) -> 0 -> zp 120
  t.is(u[1], 120);
});

test('legacy uint8 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED with non-zero weight zero points', async (t) => {
  // TFLite's uint8 kernels: acc = sum (w - zp_w)(x - zp_x) + bias over taps inside the image;
  // out = zp_out + M(acc), M = s_x s_w / s_out; clamp to the activation range in 0..255.
  const X = { scale: 0.05, zp: 128 };
  const sW = 0.02;
  const zW = 120;
  const O = { scale: 0.1, zp: 100 };
  const U = (shape: number[], sc: number, zp: number, data?: number[]) => qt('uint8', shape, sc, zp, data);
  const b32 = (n: number, data: number[]) => ({ type: 'int32' as const, shape: [n], quant: { scale: [X.scale * sW], zeroPoint: [0] }, data: i32(data) });
  const M = (Math.fround(X.scale) * Math.fround(sW)) / Math.fround(O.scale);
  const [lo, hi] = actRangeQ('RELU6', O.scale, O.zp, [0, 255]); // [100, 160]
  t.deepEqual([lo, hi], [100, 160]);
  const finish = (sums: number[], bias: number[]) => sums.map((a, k) => clamp(requant(a + bias[k % bias.length], M) + O.zp, lo, hi));

  // conv: [1,4,4,2] * [3,3,3,2], SAME stride 1 (pads 1)
  const x = ints(32, 0, 255, 121);
  const w = ints(54, 0, 255, 122);
  const bias = [2000, -3000, 500];
  const g = { strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padTop: 1, padLeft: 1, outH: 4, outW: 4 };
  const wantConv = finish(convSums([1, 4, 4, 2], x, [3, 3, 3, 2], w.map((v) => v - zW), g, undefined, (v) => v - X.zp), bias);
  const [conv] = await oneOp(
    { op: 'CONV_2D', ins: [U([1, 4, 4, 2], X.scale, X.zp), U([3, 3, 3, 2], sW, zW, w), b32(3, bias)], outs: [U([1, 4, 4, 3], O.scale, O.zp)], options: { padding: 'SAME', activation: 'RELU6' } },
    [Uint8Array.from(x)],
  );
  t.deepEqual(conv, wantConv);
  t.true(conv.some((v) => v > lo && v < hi), 'not everything is clamped');

  // depthwise: [1,4,4,2] * [1,3,3,4] (multiplier 2), SAME
  const wd = ints(36, 0, 255, 123);
  const bd = [100, -100, 2500, 0];
  const wantDw = finish(convSums([1, 4, 4, 2], x, [1, 3, 3, 4], wd.map((v) => v - zW), g, 2, (v) => v - X.zp), bd);
  const [dw] = await oneOp(
    {
      op: 'DEPTHWISE_CONV_2D',
      ins: [U([1, 4, 4, 2], X.scale, X.zp), U([1, 3, 3, 4], sW, zW, wd), b32(4, bd)],
      outs: [U([1, 4, 4, 4], O.scale, O.zp)],
      options: { padding: 'SAME', depthMultiplier: 2, activation: 'RELU6' },
    },
    [Uint8Array.from(x)],
  );
  t.deepEqual(dw, wantDw);

  // fully connected: [2, 16] x [3, 16]^T
  const wf = ints(48, 0, 255, 124);
  const sums: number[] = [];
  for (let r = 0; r < 2; r++) for (let u = 0; u < 3; u++) sums.push(range(16).reduce((a, d) => a + (x[r * 16 + d] - X.zp) * (wf[u * 16 + d] - zW), 0));
  const [fc] = await oneOp(
    { op: 'FULLY_CONNECTED', ins: [U([2, 16], X.scale, X.zp), U([3, 16], sW, zW, wf), b32(3, bias)], outs: [U([2, 3], O.scale, O.zp)], options: { activation: 'RELU6' } },
    [Uint8Array.from(x)],
  );
  t.deepEqual(fc, finish(sums, bias));
});

test('legacy uint8 QUANTIZE (uint8 -> int8) and DEQUANTIZE (uint8 -> float)', async (t) => {
  // uint8 zp 128 -> int8 zp 0, same scale: q - 128 exactly
  const a = [0, 1, 127, 128, 129, 255];
  const [q] = await oneOp({ op: 'QUANTIZE', ins: [qt('uint8', [6], 0.5, 128)], outs: [q8([6], 0.5, 0)] }, [Uint8Array.from(a)]);
  t.deepEqual(q, a.map((v) => v - 128));
  const [d] = await oneOp({ op: 'DEQUANTIZE', ins: [qt('uint8', [6], 0.25, 100)], outs: [ft([6])] }, [Uint8Array.from(a)]);
  t.deepEqual(d, a.map((v) => (v - 100) * 0.25));
  // float -> uint8 output: zp + round(x / scale) in 0..255
  const [u] = await oneOp({ op: 'QUANTIZE', ins: [ft([4])], outs: [qt('uint8', [4], 0.5, 128)] }, [F32([0, -0.25, 100, -100])]);
  t.deepEqual(u, [128, 127, 255, 0]);
});

test('ADD int8 broadcasting at rank 6', async (t) => {
  const A = { scale: 0.1, zp: 0 };
  const O = { scale: 0.2, zp: 0 };
  const aShape = [2, 1, 2, 1, 2, 1];
  const bShape = [1, 3, 1, 2, 1, 2];
  const a = ints(size(aShape), -100, 100, 7);
  const b = ints(size(bShape), -100, 100, 8);
  const want = broadcast2(aShape, a, bShape, b, (x, y) => addSubQ(x, y, A, A, O, false, Q8));
  const [out] = await oneOp({ op: 'ADD', ins: [q8(aShape, A.scale, 0), q8(bShape, A.scale, 0)], outs: [q8(want.shape, O.scale, 0)] }, [I8(a), I8(b)]);
  t.deepEqual(out, want.data);
});

test('multiple inputs and outputs keep the model order', async (t) => {
  // tensors: a, b, sum, diff; model inputs [b, a], outputs [diff, sum] (not tensor order)
  const spec = {
    tensors: [
      { ...ft([3]), name: 'a' },
      { ...ft([3]), name: 'b' },
      { ...ft([3]), name: 'sum' },
      { ...ft([3]), name: 'diff' },
    ],
    operators: [
      { op: 'ADD', inputs: [0, 1], outputs: [2] },
      { op: 'SUB', inputs: [0, 1], outputs: [3] },
    ],
    inputs: [1, 0],
    outputs: [3, 2],
  };
  const m = await load(spec);
  t.teardown(() => m.dispose());
  t.deepEqual(m.inputs.map((x) => x.name), ['b', 'a']);
  t.deepEqual(m.outputs.map((x) => x.name), ['diff', 'sum']);
  const [diff, sum] = await m.run([F32([1, 2, 3]), F32([10, 20, 30])]);
  t.deepEqual(Array.from(diff as Float32Array), [9, 18, 27]);
  t.deepEqual(Array.from(sum as Float32Array), [11, 22, 33]);
});

test('a small graph: shared inputs, x + x, an intermediate that is also an output', async (t) => {
  // t0 [2,2] -> RESHAPE t1 [4]; t0 -> RELU t2 [2,2] (a model output, and consumed);
  // t2 -> RESHAPE t3 [4]; ADD(t1, t3) -> t4; ADD(t4, t4) -> t5; MUL(t5, t1) -> t6.
  // outputs [t6, t2]. x = [-1, 2, -3, 4]: t2 = [0, 2, 0, 4]; t4 = [-1, 4, -3, 8]; t5 = 2 t4;
  // t6 = t5 * x = [2, 16, 18, 64]
  const spec = {
    tensors: [ft([2, 2]), ft([4]), ft([2, 2]), ft([4]), ft([4]), ft([4]), ft([4]), it32([1], [4])],
    operators: [
      { op: 'RESHAPE', inputs: [0, 7], outputs: [1] },
      { op: 'RELU', inputs: [0], outputs: [2] },
      { op: 'RESHAPE', inputs: [2, 7], outputs: [3] },
      { op: 'ADD', inputs: [1, 3], outputs: [4] },
      { op: 'ADD', inputs: [4, 4], outputs: [5] },
      { op: 'MUL', inputs: [5, 1], outputs: [6] },
    ],
    inputs: [0],
    outputs: [6, 2],
  };
  const m = await load(spec);
  t.teardown(() => m.dispose());
  for (let k = 0; k < 2; k++) {
    const [t6, t2] = await m.run([F32([-1, 2, -3, 4])]);
    t.deepEqual(Array.from(t6 as Float32Array), [2, 16, 18, 64]);
    t.deepEqual(Array.from(t2 as Float32Array), [0, 2, 0, 4]);
  }
  const [again] = await m.run([F32([1, 1, 1, 1])]);
  t.deepEqual(Array.from(again as Float32Array), [4, 4, 4, 4]);
});

// =====================================================================================
// Refusals
// =====================================================================================

test('an unsupported builtin is refused with unsupported_op naming it', async (t) => {
  await refused(t, { op: 'FLOOR', ins: [ft([4])], outs: [ft([4])] }, 'unsupported_op', /FLOOR/);
  await refused(t, { op: 'L2_NORMALIZATION', ins: [ft([4])], outs: [ft([4])] }, 'unsupported_op', /L2_NORMALIZATION.*operator #0/);
});

test('a conv whose output shape disagrees with its padding is refused clearly', async (t) => {
  // 4x4 input, 3x3 filter, VALID stride 1 gives 2x2; the file says 3x3
  await refused(
    t,
    { op: 'CONV_2D', ins: [ft([1, 4, 4, 1]), ft([1, 3, 3, 1], range(9))], outs: [ft([1, 3, 3, 1])], options: { padding: 'VALID' } },
    'model_invalid',
    /CONV_2D #0: output height is 3, but the padding mode gives 2/,
  );
});

test('C prepare refusals surface as QieErrors naming the op', async (t) => {
  // int8 LOGISTIC must output scale 1/256 zp -128
  await refused(t, unary('LOGISTIC', q8([4], 0.1, 0), q8([4], 0.1, 0)), 'unsupported_op', /LOGISTIC.*1\/256/);
  // CONCATENATION inputs with a different quantization than the output
  await refused(t, { op: 'CONCATENATION', ins: [q8([2], 0.5, 0), q8([2], 0.25, 0)], outs: [q8([4], 0.5, 0)], options: { axis: 0 } }, 'unsupported_op', /CONCATENATION.*input 1 quantization/);
  // ADD of shapes that do not broadcast
  await refused(t, { op: 'ADD', ins: [ft([3]), ft([4])], outs: [ft([4])] }, 'model_invalid', /ADD.*broadcast/);
  // STRIDED_SLICE whose output shape disagrees with begin/end/strides
  await refused(t, slice([6], [0], [6], [2], [4]), 'model_invalid', /STRIDED_SLICE.*output dim 0 is 4, expected 3/);
});
