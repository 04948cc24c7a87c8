// qie's public API.
export { loadModel, Model } from './engine/model';
export type { LoadOptions, OpReport, TensorMeta } from './engine/model';
export { argmax, quantize, dequantize } from './engine/tensors';
export type { QuantParams, TypedArray } from './engine/tensors';
export { QieError, isQieError } from './errors';
export type { QieErrorCode } from './errors';
export { compileModel } from './model/compile';
export { quantizeFloatModel, formatReport } from './quant/ptq';
export type { PtqOptions, PtqResult, AccuracyReport } from './quant/ptq';
export { compareGraphs } from './quant/compare';
// the daemon itself (mqtt, zod, pino) is not loaded by the library: `qie serve` runs it
export type { Config, ModelConfig } from './config/schema';
export { encodeBinaryRequest, decodeBinaryReply } from './daemon/binary';
export { REPLY_ERROR_CODES } from './daemon/reply-error';
export type { ReplyErrorCode } from './daemon/reply-error';
