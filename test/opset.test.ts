// src/model/opset.ts mirrors csrc/runtime/opcodes.h: the codes must agree.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { OPSET } from '../src/model/opset';

test('op codes agree between TypeScript and C', (t) => {
  const header = readFileSync('csrc/runtime/opcodes.h', 'utf8');
  const codes = new Map<string, number>();
  for (const m of header.matchAll(/QIE_OP_([A-Z0-9_]+) = (\d+)/g)) codes.set(m[1], Number(m[2]));
  for (const [kind, spec] of Object.entries(OPSET)) t.is(codes.get(kind), spec.code, kind);
  t.is(codes.size - 1, Object.keys(OPSET).length); // QIE_OP_COUNT_ is the extra one
});

test('attribute slots agree for conv and pooling', (t) => {
  const header = readFileSync('csrc/runtime/opcodes.h', 'utf8');
  const slot = (name: string) => Number(new RegExp(`${name} = (\\d+)`).exec(header)![1]);
  t.is(OPSET.CONV_2D.ints.indexOf('activation'), slot('QIE_CONV_ACTIVATION'));
  t.is(OPSET.DEPTHWISE_CONV_2D.ints.indexOf('depthMultiplier'), slot('QIE_CONV_DEPTH_MULTIPLIER'));
  t.is(OPSET.AVERAGE_POOL_2D.ints.indexOf('filterW'), slot('QIE_POOL_FILTER_W'));
  t.is(OPSET.STRIDED_SLICE.ints.indexOf('offset'), slot('QIE_SLICE_OFFSET'));
  t.is(OPSET.RESIZE_NEAREST_NEIGHBOR.ints.indexOf('halfPixelCenters'), slot('QIE_RESIZE_HALF_PIXEL_CENTERS'));
  t.is(OPSET.MEAN.ints.indexOf('keepDims'), slot('QIE_MEAN_KEEP_DIMS'));
  t.is(OPSET.FULLY_CONNECTED.ints.indexOf('keepNumDims'), slot('QIE_FC_KEEP_NUM_DIMS'));
});
