// `qie serve --config FILE`: runs the daemon until SIGTERM/SIGINT; SIGHUP reloads.
// Exit codes: 0 after a clean stop, 78 (EX_CONFIG) for a bad configuration, 1 when
// start-up fails otherwise (a model that does not load, a broker that refuses us).
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load';
import type { Config } from '../config/schema';
import { Daemon } from './daemon';

export const EXIT_CONFIG = 78;

/** Runs a daemon until a stop signal; resolves to the process exit code. */
export async function runDaemon(config: Config, configPath?: string): Promise<number> {
  // inference runs on each model's runner thread; the libuv pool carries it only when that
  // thread cannot start (and profiles): room for `concurrency` runs beside file I/O
  if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(Math.max(4, config.concurrency + 2));
  const daemon = new Daemon(config, { configPath, reloadConfig: configPath ? () => loadConfig(configPath) : undefined });
  process.on('uncaughtException', (e) => {
    daemon.log.fatal({ err: e.stack }, 'uncaught exception');
    process.exit(70);
  });
  try {
    await daemon.start();
  } catch (e) {
    daemon.log.fatal({ err: (e as Error).message }, 'start-up failed');
    process.stderr.write(`qie serve: ${(e as Error).message}\n`);
    await daemon.stop().catch(() => undefined);
    return 1;
  }
  daemon.log.info({ broker: daemon.brokerUrl }, 'serving');
  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      daemon.log.info({ signal }, 'stop requested');
      daemon.stop().then(
        () => resolve(0),
        (e: Error) => {
          daemon.log.error({ err: e.message }, 'stop failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      daemon.log.info('SIGHUP: reloading the configuration');
      void daemon.reload();
    });
  });
}

export async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } } });
  if (!values.config) {
    process.stderr.write('qie serve: --config FILE is required\n  qie serve --config FILE\n');
    return 2;
  }
  let config: Config;
  try {
    config = loadConfig(values.config);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`qie serve: ${e.message}\n`);
    return EXIT_CONFIG;
  }
  const code = await runDaemon(config, values.config);
  // everything is closed by now; the timer only guards against a stray handle
  setTimeout(() => process.exit(code), 3000).unref();
  return code;
}
