// The TS face of the addon: the only file that loads it.
import * as path from 'node:path';
import { QieError, QieErrorCode } from '../errors';
import type { TypedArray } from './tensors';

export interface NativeTensorInfo {
  dtype: number;
  shape: number[];
  bytes: number;
}

export interface NativeInfo {
  arenaBytes: number;
  persistentBytes: number;
  inputs: NativeTensorInfo[];
  outputs: NativeTensorInfo[];
  kernels: string[];
  family: string;
}

export type NativeHandle = { readonly __brand: 'qie-native-handle' };

interface Addon {
  create(plan: Uint8Array, kernels?: string, threads?: number): NativeHandle;
  info(h: NativeHandle): NativeInfo;
  run(h: NativeHandle, inputs: Uint8Array[]): Promise<TypedArray[]>;
  resetState(h: NativeHandle): void;
  setThreads(h: NativeHandle, threads: number): void;
  lastRunMs(h: NativeHandle): number;
  profile(h: NativeHandle, runs: number): Promise<Float64Array>;
  dispose(h: NativeHandle): void;
  sdNotify(socketPath: string, message: string): string | undefined;
}

let addon: Addon | undefined;

function load(): Addon {
  if (addon) return addon;
  // dist/src/engine -> project root
  const root = path.resolve(__dirname, '..', '..', '..');
  const candidates = [path.join(root, 'build', 'Release', 'qie.node'), path.join(root, 'build', 'Debug', 'qie.node')];
  let lastError: unknown;
  for (const file of candidates) {
    try {
      addon = require(file) as Addon;
      return addon;
    } catch (e) {
      lastError = e;
    }
  }
  throw new QieError('internal', `the qie native addon is not built (run npm install): ${String(lastError)}`);
}

const CODES = new Set<QieErrorCode>(['model_invalid', 'unsupported_op', 'bad_input', 'bad_option', 'disposed', 'internal']);

/** Turns the addon's errors (Error with a string code) into QieError. */
export function asQieError(e: unknown): QieError {
  if (e instanceof QieError) return e;
  const err = e as { code?: string; message?: string };
  const code = (CODES.has(err?.code as QieErrorCode) ? err.code : 'internal') as QieErrorCode;
  return new QieError(code, err?.message ?? String(e));
}

export const native = {
  create(plan: Uint8Array, kernels?: string, threads?: number): NativeHandle {
    try {
      return load().create(plan, kernels, threads);
    } catch (e) {
      throw asQieError(e);
    }
  },
  info(h: NativeHandle): NativeInfo {
    try {
      return load().info(h);
    } catch (e) {
      throw asQieError(e);
    }
  },
  async run(h: NativeHandle, inputs: Uint8Array[]): Promise<TypedArray[]> {
    try {
      return await load().run(h, inputs);
    } catch (e) {
      throw asQieError(e);
    }
  },
  resetState(h: NativeHandle): void {
    try {
      load().resetState(h);
    } catch (e) {
      throw asQieError(e);
    }
  },
  setThreads(h: NativeHandle, threads: number): void {
    try {
      load().setThreads(h, threads);
    } catch (e) {
      throw asQieError(e);
    }
  },
  lastRunMs(h: NativeHandle): number {
    return load().lastRunMs(h);
  },
  async profile(h: NativeHandle, runs: number): Promise<Float64Array> {
    try {
      return await load().profile(h, runs);
    } catch (e) {
      throw asQieError(e);
    }
  },
  dispose(h: NativeHandle): void {
    load().dispose(h);
  },
  /** One sd_notify datagram; undefined, or why it could not be sent. */
  sdNotify(socketPath: string, message: string): string | undefined {
    try {
      return load().sdNotify(socketPath, message);
    } catch (e) {
      return asQieError(e).message;
    }
  },
};
