/**
 * ioredis for the cluster's Redis clients (the directory, the shared-object and recordings
 * mirrors), loaded by the first of them: only a process started with --cluster makes one, and the
 * others (most edges and origins) start without it (common/lazy-require.ts says what that saves).
 */
import type * as IoRedis from 'ioredis';
import { lazyRequire } from '#common/lazy-require.ts';

export const ioredis = lazyRequire<typeof IoRedis>('ioredis');
