/**
 * The node flags production runs with are one list, PRODUCTION_NODE_FLAGS (test/support/processes.ts),
 * which the test and benchmark starters take. package.json's scripts and the systemd units cannot import
 * it and spell it out: these tests hold every one of them to the same list, and check that a server a test
 * starts really runs with it, so a benchmark measures the processes a school runs.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PRODUCTION_NODE_FLAGS, repoRoot, startOrigin, stopAll } from '../support/processes.ts';

after(stopAll);

const UNITS = ['classroom-origin.service', 'classroom-edge.service'];

/** The words of a node command line between the node binary (`words[0]`) and the script it runs (the first .ts word). */
function flagsBeforeScript(words: string[]): string[] {
  const script = words.findIndex((word) => word.endsWith('.ts'));
  assert.ok(script > 0, `a script in ${words.join(' ')}`);
  return words.slice(1, script);
}

test('every package.json script that starts a server runs node with the production flags', () => {
  const { scripts } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const servers = Object.entries(scripts).filter(([, command]) => /(^|\s|\/)main\.ts(\s|$)/.test(command));
  assert.deepEqual(servers.map(([name]) => name).sort(), ['start', 'start:edge', 'start:origin']);
  for (const [name, command] of servers) {
    const words = command.trim().split(/\s+/);
    assert.equal(words[0], 'node', name);
    assert.deepEqual(flagsBeforeScript(words), PRODUCTION_NODE_FLAGS, name);
  }
});

test('the systemd units run node with the production flags', () => {
  for (const unit of UNITS) {
    const execStart = /^ExecStart=(.+)$/m.exec(readFileSync(join(repoRoot, 'deploy', 'systemd', unit), 'utf8'));
    assert.ok(execStart, `${unit} has an ExecStart`);
    const words = execStart[1]!.trim().split(/\s+/);
    assert.match(words[0]!, /\/node$/, unit);
    assert.deepEqual(flagsBeforeScript(words), PRODUCTION_NODE_FLAGS, unit);
  }
});

test('a server a test starts runs with the production flags', async () => {
  const origin = await startOrigin();
  try {
    const words = readFileSync(`/proc/${origin.child.pid}/cmdline`, 'utf8').split('\0').filter((word) => word !== '');
    assert.deepEqual(flagsBeforeScript(words), PRODUCTION_NODE_FLAGS);
  } finally {
    await origin.stop();
  }
});
