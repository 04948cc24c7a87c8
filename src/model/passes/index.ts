// Graph passes run between import and plan writing, in order.
import { Graph } from '../ir';
import { uint8ToInt8 } from './uint8-to-int8';

export { uint8ToInt8 };

export function runPasses(g: Graph): Graph {
  return uint8ToInt8(g);
}
