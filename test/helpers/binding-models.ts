// Models whose weights or bias are not constants of the model, or do not fit the
// op: what the kernel binding checks before any family packs them. `expect` is
// what every family must do: run with the reference kernels' bytes, or refuse
// with that QieError code. test/kernel-binding.test.ts runs them through the API;
// dump-plans writes the runnable ones as plan cases, so the C plan runner checks
// them on every family (under sanitizers, and under qemu for the Arm families).
import { f32, i8, i32, TflModelSpec, TflTensorSpec } from './tflite-builder';

export interface BindingModel {
  what: string;
  expect: 'ref_bytes' | 'unsupported_op' | 'model_invalid';
  spec: () => TflModelSpec;
}

const q = (scale: number, zeroPoint: number) => ({ scale: [scale], zeroPoint: [zeroPoint] });
const ramp = (n: number, mod = 7) => Array.from({ length: n }, (_, i) => (i % mod) - 3);

/** One int8 FULLY_CONNECTED [1,16] x [8,16]; `weights` and `bias` override the constant tensors. */
function fcModel(weights?: Partial<TflTensorSpec>, bias?: Partial<TflTensorSpec>, inputs = [0]): TflModelSpec {
  return {
    tensors: [
      { name: 'x', type: 'int8', shape: [1, 16], quant: q(0.05, 1) },
      { name: 'w', type: 'int8', shape: [8, 16], quant: q(0.02, 0), data: i8(ramp(128)), ...weights },
      { name: 'b', type: 'int32', shape: [8], quant: q(0.001, 0), data: i32([100, -200, 300, -400, 500, 0, 7, -9]), ...bias },
      { name: 'y', type: 'int8', shape: [1, 8], quant: q(0.1, 0) },
    ],
    operators: [{ op: 'FULLY_CONNECTED', inputs: [0, 1, 2], outputs: [3] }],
    inputs,
    outputs: [3],
  };
}

function fcWeightsComputed(): TflModelSpec {
  const spec = fcModel({ data: undefined, name: 'w_relu' });
  spec.tensors.push({ name: 'w_in', type: 'int8', shape: [8, 16], quant: q(0.02, 0) });
  spec.operators.unshift({ op: 'RELU', inputs: [4], outputs: [1] });
  spec.inputs = [0, 4];
  return spec;
}

function fcF32WeightsInput(): TflModelSpec {
  return {
    tensors: [
      { name: 'x', type: 'float32', shape: [2, 6] },
      { name: 'w', type: 'float32', shape: [4, 6] },
      { name: 'b', type: 'float32', shape: [4], data: f32([0.5, -1, 2, 0]) },
      { name: 'y', type: 'float32', shape: [2, 4] },
    ],
    operators: [{ op: 'FULLY_CONNECTED', inputs: [0, 1, 2], outputs: [3] }],
    inputs: [0, 1],
    outputs: [3],
  };
}

/** int8 CONV_2D 3x3 (or DEPTHWISE_CONV_2D) over [1,6,6,8] whose bias is a graph input. */
function convBiasInput(depthwise: boolean): TflModelSpec {
  const w = depthwise
    ? { name: 'w', type: 'int8' as const, shape: [1, 3, 3, 8], quant: q(0.02, 0), data: i8(ramp(72, 5)) }
    : { name: 'w', type: 'int8' as const, shape: [8, 3, 3, 8], quant: q(0.02, 0), data: i8(ramp(576)) };
  return {
    tensors: [
      { name: 'x', type: 'int8', shape: [1, 6, 6, 8], quant: q(0.05, -2) },
      w,
      { name: 'b', type: 'int32', shape: [8], quant: q(0.001, 0) },
      { name: 'y', type: 'int8', shape: [1, 6, 6, 8], quant: q(0.08, 3) },
    ],
    operators: [
      {
        op: depthwise ? 'DEPTHWISE_CONV_2D' : 'CONV_2D',
        inputs: [0, 1, 2],
        outputs: [3],
        options: { padding: 'SAME', strideH: 1, strideW: 1, ...(depthwise ? { depthMultiplier: 1 } : {}) },
      },
    ],
    inputs: [0, 2],
    outputs: [3],
  };
}

function convFilterInput(): TflModelSpec {
  const spec = convBiasInput(false);
  spec.tensors[1] = { ...spec.tensors[1], data: undefined };
  spec.tensors[2] = { ...spec.tensors[2], data: i32([1, 2, 3, 4, 5, 6, 7, 8]) };
  spec.inputs = [0, 1];
  return spec;
}

/** int8 CONV_2D 3x3 over [1,6,6,8] with a constant bias and `filter` overriding the filter. */
function convWith(filter: Partial<TflTensorSpec>): TflModelSpec {
  const spec = convBiasInput(false);
  spec.tensors[1] = { ...spec.tensors[1], ...filter };
  spec.tensors[2] = { ...spec.tensors[2], data: i32([1, -2, 3, -4, 5, -6, 7, -8]) };
  spec.inputs = [0];
  return spec;
}

export const BINDING_MODELS: Record<string, BindingModel> = {
  fc_weights_input: { what: 'FULLY_CONNECTED with weights from a graph input', expect: 'ref_bytes', spec: () => fcModel({ data: undefined }, undefined, [0, 1]) },
  fc_weights_computed: { what: 'FULLY_CONNECTED with weights computed by another op', expect: 'ref_bytes', spec: fcWeightsComputed },
  fc_weights_variable: { what: 'FULLY_CONNECTED with weights held in a state tensor', expect: 'ref_bytes', spec: () => fcModel({ data: undefined, variable: true }) },
  fc_bias_input: { what: 'FULLY_CONNECTED with a bias from a graph input', expect: 'ref_bytes', spec: () => fcModel(undefined, { data: undefined }, [0, 2]) },
  fc_f32_weights_input: { what: 'float32 FULLY_CONNECTED with weights from a graph input', expect: 'ref_bytes', spec: fcF32WeightsInput },
  conv_bias_input: { what: 'CONV_2D with a bias from a graph input', expect: 'ref_bytes', spec: () => convBiasInput(false) },
  dwconv_bias_input: { what: 'DEPTHWISE_CONV_2D with a bias from a graph input', expect: 'ref_bytes', spec: () => convBiasInput(true) },
  conv_filter_input: { what: 'CONV_2D with a filter from a graph input', expect: 'unsupported_op', spec: convFilterInput },
  fc_weight_zero_point: {
    what: 'FULLY_CONNECTED with a weight zero point of 5 (x86 packers take only 0)',
    expect: 'ref_bytes',
    spec: () => fcModel({ quant: q(0.02, 5) }),
  },
  conv_scales_short: {
    what: 'CONV_2D with 3 weight scales for 8 output channels',
    expect: 'model_invalid',
    spec: () => convWith({ quant: { scale: [0.01, 0.02, 0.03], zeroPoint: [0, 0, 0], axis: 0 } }),
  },
  conv_scales_axis: {
    what: 'CONV_2D with per-channel weight scales on the wrong axis',
    expect: 'model_invalid',
    spec: () => convWith({ shape: [8, 3, 3, 8], quant: { scale: Array(8).fill(0.02), zeroPoint: Array(8).fill(0), axis: 3 } }),
  },
  conv_channel_zero_points: {
    what: 'CONV_2D with per-channel weight zero points other than 0',
    expect: 'unsupported_op',
    spec: () => convWith({ quant: { scale: Array(8).fill(0.02), zeroPoint: [0, 1, 0, 0, 0, 0, 0, 0], axis: 0 } }),
  },
  fc_weights_int16: {
    what: 'int8 FULLY_CONNECTED with int16 weights',
    expect: 'unsupported_op',
    spec: () => fcModel({ type: 'int16', data: new Uint8Array(256) }),
  },
  fc_bias_int64: {
    what: 'int8 FULLY_CONNECTED with an int64 bias (the 16x8 scheme\'s)',
    expect: 'unsupported_op',
    spec: () => fcModel(undefined, { type: 'int64', data: new Uint8Array(64) }),
  },
  fc_bias_short: {
    what: 'FULLY_CONNECTED whose bias does not match its units',
    expect: 'model_invalid',
    spec: () => fcModel(undefined, { shape: [7], data: i32([1, 2, 3, 4, 5, 6, 7]) }),
  },
};
