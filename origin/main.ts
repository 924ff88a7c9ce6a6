/**
 * Command-line entry of the origin (`npm run start:origin`): reads the configuration, starts the
 * origin, and stops it cleanly on SIGINT/SIGTERM.
 */
import { setLogLevel } from '#common/logger.ts';
import { loadOriginConfig } from './config.ts';
import { Origin } from './origin.ts';

let config;
try {
  config = loadOriginConfig(process.argv.slice(2), process.env);
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
setLogLevel(config.logLevel);
const origin = new Origin(config);
try {
  await origin.start();
} catch (error) {
  origin.log.error('cannot start', { error: (error as Error).message });
  process.exit(1);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    origin.log.info('shutting down', { signal });
    origin.close().then(() => process.exit(0), () => process.exit(1));
  });
}
