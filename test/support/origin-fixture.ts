/**
 * One origin per test file: started before the first test with the given flags, every process
 * stopped after the last. `fixture.base` is its rtmp://127.0.0.1:PORT.
 */
import { after, before } from 'node:test';
import { startOrigin, stopAll, type OriginProcess } from './processes.ts';

export interface OriginFixture {
  origin: OriginProcess;
  base: string;
}

export function originPerFile(args: string[] = []): OriginFixture {
  const fixture = {} as OriginFixture;
  before(async () => {
    fixture.origin = await startOrigin(args);
    fixture.base = `rtmp://127.0.0.1:${fixture.origin.port}`;
  });
  after(stopAll);
  return fixture;
}
