// The daemon's extensions, one line each; a factory returns undefined when its
// section of the configuration is absent or disabled. Started in this order
// (stopped in reverse): updates first, then the governor, then the sources that
// feed requests in.
import type { Config } from '../../config/schema';
import { createOtaExtension } from '../../ota/extension';
import { createSourcesExtension } from '../../sources/extension';
import { createThermalExtension } from '../../thermal/extension';
import type { Extension, ExtensionFactory } from '../extension';

const FACTORIES: ExtensionFactory[] = [
  createOtaExtension,
  createThermalExtension,
  createSourcesExtension,
];

export function createExtensions(config: Config): Extension[] {
  return FACTORIES.map((f) => f(config)).filter((e): e is Extension => e !== undefined);
}
