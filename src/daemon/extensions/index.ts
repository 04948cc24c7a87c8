// The daemon's extensions, one line each; a factory returns undefined when its
// section of the configuration is absent or disabled.
import type { Config } from '../../config/schema';
import { createOtaExtension } from '../../ota/extension';
import type { Extension, ExtensionFactory } from '../extension';

const FACTORIES: ExtensionFactory[] = [
  // ota, thermal and serial sources register here
  createOtaExtension,
];

export function createExtensions(config: Config): Extension[] {
  return FACTORIES.map((f) => f(config)).filter((e): e is Extension => e !== undefined);
}
