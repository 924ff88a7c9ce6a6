/**
 * A Lua script run on Redis by its SHA1 (EVALSHA), sent whole (EVAL) the first time a server does not
 * know it: after a restart Redis has forgotten every script, and the directory must not fail then.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ioredis } from './ioredis.ts';

export class LuaScript {
  readonly name: string;
  readonly #source: string;
  readonly #sha: string;

  constructor(name: string, source: string) {
    this.name = name;
    this.#source = source;
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.#sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof ioredis().ReplyError) || !String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      return await redis.eval(this.#source, keys.length, ...keys, ...args);
    }
  }
}
