// This engine's version (package.json), compared with a bundle's minEngine.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export const ENGINE_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();
