// The message a configuration is refused with ('' when it is accepted), for tests
// that check each bad key is named.
import { ConfigError, parseConfig } from '../../src/config/load';

export function configErrorOf(raw: unknown): string {
  try {
    parseConfig(raw, '/etc/qie', 'test.json');
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  return '';
}
