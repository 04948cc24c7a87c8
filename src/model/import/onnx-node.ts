// Attribute access for one ONNX node (typed, with defaults, checked) and the
// translator signature the op files share.
import type { Importer } from './onnx';
import { AttrValue, invalid, OnnxNode } from './onnx-proto';

export type Translator = (im: Importer, n: Node) => void;

export class Node {
  constructor(readonly n: OnnxNode, readonly opset: number) {}
  get where(): string {
    return `${this.n.opType} "${this.n.name}"`;
  }
  int(name: string, def: number): number {
    const v = this.n.attrs.get(name);
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v)) invalid(`${this.where}: attribute ${name} must be an integer`);
    return v;
  }
  float(name: string, def: number): number {
    const v = this.n.attrs.get(name);
    if (v === undefined) return def;
    if (typeof v !== 'number') invalid(`${this.where}: attribute ${name} must be a number`);
    return v;
  }
  ints(name: string, def?: number[]): number[] | undefined {
    const v: AttrValue = this.n.attrs.get(name);
    if (v === undefined) return def;
    if (!Array.isArray(v) || v.some((x) => !Number.isInteger(x))) invalid(`${this.where}: attribute ${name} must be a list of integers`);
    return v;
  }
  str(name: string, def: string): string {
    const v = this.n.attrs.get(name);
    if (v === undefined) return def;
    if (typeof v !== 'string') invalid(`${this.where}: attribute ${name} must be a string`);
    return v;
  }
  input(i: number): string | undefined {
    return this.n.inputs[i] || undefined;
  }
}

export function normAxis(axis: number, rank: number, where: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= Math.max(rank, 1)) invalid(`${where}: axis ${axis} outside rank ${rank}`);
  return a;
}
