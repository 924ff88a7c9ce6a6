/**
 * Configuration as an operator meets it: a YAML config file checked against the settings' schemas
 * before anything starts (the real programs' exit code and message for a misspelt key or a wrong
 * type), `--print-config` with secret values masked and its output usable as a config file,
 * file < environment < flags (in the loaders and in a running origin), the example files in
 * deploy/config, README's settings tables made from the schemas, and each program's usage naming
 * exactly the flags it takes.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { z } from 'zod';
import { RtmpClient } from '#common/rtmp-client.ts';
import { flagsNamedIn, MASKED, readConfigFile, type SettingFlag, type Settings } from '#common/config-file.ts';
import { loadOriginConfig, ORIGIN_FLAGS, originSettings } from '../../origin/config.ts';
import { EDGE_FLAGS, edgeSettings, LOCAL_EDGE_FLAGS, loadEdgeConfig } from '../../gateway/config.ts';
import { settingsTables } from '../../scripts/config-reference.ts';
import { repoRoot, startOrigin, stopAll, tempDir, track } from '../support/processes.ts';

after(stopAll);

const dir = tempDir('cg-config-');
let files = 0;

/** A file in the test's folder. */
function file(text: string, name = `config-${++files}.yaml`): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** One of the programs (origin/main.ts, gateway/main.ts, main.ts) run to its end, with only `env` as its environment's settings. */
async function runProgram(script: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(ORIGIN_|EDGE_|LOG_LEVEL)/.test(name)));
  const child = track(spawn(process.execPath, [script, ...args], { cwd: repoRoot, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => { stdout += d; });
  child.stderr!.on('data', (d) => { stderr += d; });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

test('a misspelt key stops the origin at start, naming the key and its line', async () => {
  const config = file('origin:\n  bind: 127.0.0.1\n  maxConections: 10\n');
  const result = await runProgram('origin/main.ts', ['--config', config]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, new RegExp(`${config}:3: unknown key origin\\.maxConections`));
  assert.equal(result.stdout, '', 'nothing started');
});

test('a wrong type names the path and the expected type; every problem of the file is listed', async () => {
  const origin = await runProgram('origin/main.ts', ['--config', file('origin:\n  maxConnections: lots\n  rtmpPort: 70000\n  authPolicies:\n    classroom: open\n')]);
  assert.equal(origin.code, 2);
  assert.match(origin.stderr, /:2: origin\.maxConnections: expected a number, got "lots"/);
  assert.match(origin.stderr, /:3: origin\.rtmpPort: expected a number <= 65535, got 70000/);
  assert.match(origin.stderr, /:5: origin\.authPolicies\.classroom: expected one of required, optional, legacy, got "open"/);
  const edge = await runProgram('gateway/main.ts', ['--config', file('edge:\n  origins: [o.example]\n  secret: s\n  browser:\n    maxSessions: -1\n  originTls: yes\n')]);
  assert.equal(edge.code, 2);
  assert.match(edge.stderr, /edge\.browser\.maxSessions: expected a number >= 1, got -1/);
  assert.match(edge.stderr, /edge\.originTls: expected true or false, got "yes"/);
  // A section for another process is refused, not ignored.
  const other = await runProgram('origin/main.ts', ['--config', file('origin: {}\nedge:\n  name: e\n')]);
  assert.equal(other.code, 2);
  assert.match(other.stderr, /unknown key edge \(this process reads origin\)/);
});

test('a bad flag or variable still stops the start with exit 2, named, with the usage', async () => {
  const flag = await runProgram('origin/main.ts', ['--rtmp-port', 'lots']);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /^--rtmp-port: expected a number, got "lots"\nusage: node origin\/main\.ts/);
  const variable = await runProgram('gateway/main.ts', ['--origin', 'o.example', '--secret', 's'], { EDGE_MEDIA_FLUSH_MS: '5000' });
  assert.equal(variable.code, 2);
  assert.match(variable.stderr, /^EDGE_MEDIA_FLUSH_MS: expected a number <= 1000, got "5000"/);
});

test('--print-config shows the effective settings with secret values masked (origin, edge, npm start)', async () => {
  const tokenSecretFile = file('token-secret-value\n', 'token-secret');
  const config = file('origin:\n  rtmpsPort: 8443\n  tlsCert: /etc/tls/cert.pem\n  tlsKey: /etc/tls/key.pem\n');
  const origin = await runProgram('origin/main.ts', ['--config', config, '--link-secret', 'link-secret-value', '--token-secret-file', tokenSecretFile, '--print-config=json']);
  assert.equal(origin.code, 0, origin.stderr);
  const printed = JSON.parse(origin.stdout) as { origin: Record<string, unknown> };
  assert.equal(printed.origin.linkSecret, MASKED);
  assert.equal(printed.origin.tokenSecret, MASKED);
  assert.equal(printed.origin.tokenSecretFile, tokenSecretFile, 'paths are not secrets');
  assert.equal(printed.origin.tlsKey, '/etc/tls/key.pem');
  assert.equal(printed.origin.rtmpsPort, 8443);
  assert.doesNotMatch(origin.stdout, /link-secret-value|token-secret-value/);

  const edgeTokenSecretFile = file('edge-token-secret-value-edge-token-secret-value\n', 'edge-token-secret');
  const edge = await runProgram('gateway/main.ts', ['--origin', 'o.example:9000', '--token-secret-file', edgeTokenSecretFile, '--print-config'], { EDGE_SECRET: 'edge-secret-value' });
  assert.equal(edge.code, 0, edge.stderr);
  const edgePrinted = parse(edge.stdout) as { edge: Record<string, unknown> };
  assert.equal(edgePrinted.edge.secret, MASKED);
  assert.equal(edgePrinted.edge.tokenSecret, MASKED);
  assert.deepEqual(edgePrinted.edge.origins, [{ host: 'o.example', port: 9000 }]);
  assert.doesNotMatch(edge.stdout, /edge-secret-value|edge-token-secret-value/);
  const shortTokenSecret = await runProgram('gateway/main.ts', ['--origin', 'o.example:9000', '--token-secret-file', tokenSecretFile, '--print-config'], { EDGE_SECRET: 'edge-secret-value' });
  assert.equal(shortTokenSecret.code, 2, 'a token secret shorter than the origin accepts stops the start');
  assert.match(shortTokenSecret.stderr, /token secret .*at least 32 bytes/);

  const both = await runProgram('main.ts', ['--link-secret', 'cluster-secret-value', '--edge-port', '1940', '--print-config']);
  assert.equal(both.code, 0, both.stderr);
  const bothPrinted = parse(both.stdout) as { origin: Record<string, unknown>; edge: Record<string, unknown> };
  assert.equal(bothPrinted.origin.linkSecret, MASKED);
  assert.equal(bothPrinted.origin.rtmpPort, 1936);
  assert.equal(bothPrinted.edge.rtmpPort, 1940);
  assert.equal('secret' in bothPrinted.edge, false, 'the local edge uses the origin\'s secret');
  assert.equal('tokenSecret' in bothPrinted.edge, false, 'and checks tokens with the origin\'s token secret');
  assert.doesNotMatch(both.stdout, /cluster-secret-value/);
});

test('what --print-config prints is a config file that gives the same settings', async () => {
  const config = file('origin:\n  applications: [live, music]\n  authPolicies: { live: optional }\n  policyDomains: [school.example]\n  maxGopBytes: 1048576\n');
  const first = await runProgram('origin/main.ts', ['--config', config, '--record-rooms', 'always', '--print-config']);
  assert.equal(first.code, 0, first.stderr);
  const again = await runProgram('origin/main.ts', ['--config', file(first.stdout), '--print-config']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, first.stdout);
});

test('the file is overridden by the environment, which is overridden by the flags', () => {
  const linkSecretFile = file('secret-from-file\n', 'link-secret-1');
  const flagSecretFile = file('secret-from-flag-file\n', 'link-secret-2');
  const config = file([
    'origin:', '  rtmpPort: 1001', '  httpPort: 1002', '  dataDir: /from/file', '  mediaFlushMs: 10', `  linkSecretFile: ${linkSecretFile}`,
  ].join('\n'));
  const env = { ORIGIN_RTMP_PORT: '2001', ORIGIN_HTTP_PORT: '2002' };
  const origin = loadOriginConfig(['--config', config, '--rtmp-port', '3001'], env);
  assert.equal(origin.rtmpPort, 3001, 'the flag beats the environment and the file');
  assert.equal(origin.httpPort, 2002, 'the environment beats the file');
  assert.equal(origin.dataDir, '/from/file', 'the file beats the default');
  assert.equal(origin.mediaFlushMs, 10);
  assert.equal(origin.maxConnections, 5000, 'the default where nobody says otherwise');
  assert.equal(origin.linkSecret, 'secret-from-file');
  // A secret given one way overrides it given the other way in a lower layer.
  assert.equal(loadOriginConfig(['--config', config], { ORIGIN_LINK_SECRET: 'secret-from-env' }).linkSecret, 'secret-from-env');
  const flagged = loadOriginConfig(['--config', config, '--link-secret-file', flagSecretFile], { ORIGIN_LINK_SECRET: 'secret-from-env' });
  assert.equal(flagged.linkSecret, 'secret-from-flag-file');

  const edgeConfig = file('edge:\n  origins: ["o.example:9000"]\n  secret: from-file\n  httpPort: 1003\n  browser:\n    maxSessions: 7\n');
  const edge = loadEdgeConfig(['--config', edgeConfig, '--http-port', '3003'], { EDGE_SECRET: 'from-env', EDGE_ORIGIN: 'p.example' });
  assert.equal(edge.secret, 'from-env');
  assert.deepEqual(edge.origins, [{ host: 'p.example', port: 9035 }]);
  assert.equal(edge.httpPort, 3003);
  assert.equal(edge.browser.maxSessions, 7, 'a group is merged key by key');
  assert.equal(edge.browser.messagesPerSecond, 50);
});

test('a running origin takes its settings from the file, and a flag overrides it', async () => {
  const config = file('origin:\n  applications: [live, music]\n');
  const fromFile = await startOrigin(['--config', config]);
  const { client, info } = await RtmpClient.connect(`rtmp://127.0.0.1:${fromFile.port}/music`);
  assert.equal(info.code, 'NetConnection.Connect.Success');
  client.close();
  await fromFile.stop();
  const overridden = await startOrigin(['--config', config, '--apps', 'live']);
  await assert.rejects(RtmpClient.connect(`rtmp://127.0.0.1:${overridden.port}/music`), (error: Error & { info?: Record<string, unknown> }) => {
    assert.equal(error.info?.code, 'NetConnection.Connect.Rejected');
    return true;
  });
  await overridden.stop();
});

test('npm start: the edge section is the local edge\'s; its link and the process-wide settings are not its own', async () => {
  const config = file('origin:\n  maxConnections: 100\nedge:\n  httpPort: 8181\n  browser:\n    maxSessions: 5\n');
  const result = await runProgram('main.ts', ['--config', config, '--print-config=json']);
  assert.equal(result.code, 0, result.stderr);
  const printed = JSON.parse(result.stdout) as { origin: Record<string, unknown>; edge: Record<string, unknown> & { browser: Record<string, unknown> } };
  assert.equal(printed.edge.maxConnections, 100, 'the edge takes the origin\'s client limits');
  assert.equal(printed.edge.httpPort, 8181);
  assert.equal(printed.edge.browser.maxSessions, 5);
  const refused = await runProgram('main.ts', ['--config', file('edge:\n  origins: [o.example]\n  logLevel: debug\n')]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /unknown key edge\.origins/);
  assert.match(refused.stderr, /unknown key edge\.logLevel/);
});

test('log settings: levels per component and the format from the file, flags and LOG_* variables; a bad one stops the start', async () => {
  const config = file('origin:\n  logLevels:\n    origin.link: warn\n  logFormat: pretty\n');
  const fromFile = await runProgram('origin/main.ts', ['--config', config, '--print-config=json']);
  assert.equal(fromFile.code, 0, fromFile.stderr);
  const printed = (JSON.parse(fromFile.stdout) as { origin: Record<string, unknown> }).origin;
  assert.deepEqual([printed.logLevel, printed.logLevels, printed.logFormat], ['info', { 'origin.link': 'warn' }, 'pretty']);
  const fromFlags = await runProgram('gateway/main.ts', ['--origin', 'o.example', '--secret', 's', '--log-levels', 'edge=debug, edge.relay=error', '--print-config=json'],
    { LOG_FORMAT: 'pretty', LOG_LEVEL: 'warn' });
  assert.equal(fromFlags.code, 0, fromFlags.stderr);
  const edge = (JSON.parse(fromFlags.stdout) as { edge: Record<string, unknown> }).edge;
  assert.deepEqual([edge.logLevel, edge.logLevels, edge.logFormat], ['warn', { edge: 'debug', 'edge.relay': 'error' }, 'pretty']);
  const badLevel = await runProgram('origin/main.ts', ['--log-levels', 'origin.link=loud']);
  assert.equal(badLevel.code, 2);
  assert.match(badLevel.stderr, /--log-levels \(origin\.link\): expected one of debug, info, warn, error, got "loud"/);
  const badPair = await runProgram('origin/main.ts', ['--log-levels', 'origin.link']);
  assert.equal(badPair.code, 2);
  assert.match(badPair.stderr, /COMPONENT=LEVEL/);
  const badFormat = await runProgram('origin/main.ts', ['--log-format', 'xml']);
  assert.equal(badFormat.code, 2);
  assert.match(badFormat.stderr, /--log-format: expected one of json, pretty, got "xml"/);
});

test('the example configuration files are valid', async () => {
  const example = (name: string) => join(repoRoot, 'deploy/config', name);
  readConfigFile(example('origin.example.yaml'), { origin: originSettings });
  readConfigFile(example('edge.example.yaml'), { edge: edgeSettings });
  const origin = await runProgram('origin/main.ts', ['--config', example('origin.example.yaml'), '--print-config=json']);
  assert.equal(origin.code, 0, origin.stderr);
  assert.deepEqual((JSON.parse(origin.stdout) as { origin: { authPolicies: unknown } }).origin.authPolicies, { classroom: 'required', live: 'legacy' });
  // The edge's secret comes from its systemd unit (--secret-file); here from the environment.
  const edge = await runProgram('gateway/main.ts', ['--config', example('edge.example.yaml'), '--print-config=json'], { EDGE_SECRET: 's' });
  assert.equal(edge.code, 0, edge.stderr);
  assert.equal((JSON.parse(edge.stdout) as { edge: { webrtcPortRangeBegin: number } }).edge.webrtcPortRangeBegin, 40000);
  const both = await runProgram('main.ts', ['--config', example('start.example.yaml'), '--print-config=json']);
  assert.equal(both.code, 0, both.stderr);
});

test('every setting is described, and README holds the tables made from the descriptions', () => {
  const undescribed = (settings: Settings, prefix: string): string[] => Object.entries(settings.shape).flatMap(([key, schema]) => {
    const described = (schema as z.ZodType).description ? [] : [`${prefix}.${key}`];
    const members = 'shape' in (schema as object) ? undescribed(schema as unknown as Settings, `${prefix}.${key}`) : [];
    return [...described, ...members];
  });
  assert.deepEqual([...undescribed(originSettings, 'origin'), ...undescribed(edgeSettings, 'edge')], []);
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const tables = settingsTables();
  assert.ok(readme.includes(tables.origin), 'README has the origin\'s settings table as `node scripts/config-reference.ts` prints it');
  assert.ok(readme.includes(tables.edge), 'README has the edge\'s settings table as `node scripts/config-reference.ts` prints it');
});

/** What every program takes besides its flag list: --help (parseFlags), --config and --print-config (takeConfigOptions), --ready-fd (takeReadyFd). */
const PROGRAM_OPTIONS = ['help', 'config', 'print-config', 'ready-fd'];

test('each program\'s usage names every flag it takes, and it takes every flag its usage names (origin, edge, npm start)', async () => {
  const programs: { script: string; flags: readonly SettingFlag[]; env?: Record<string, string> }[] = [
    { script: 'origin/main.ts', flags: ORIGIN_FLAGS },
    // Where the origin is and the secret come from the environment, so that each flag can be given empty.
    { script: 'gateway/main.ts', flags: EDGE_FLAGS, env: { EDGE_ORIGIN: 'o.example', EDGE_SECRET: 'edge-secret' } },
    { script: 'main.ts', flags: [...ORIGIN_FLAGS, ...LOCAL_EDGE_FLAGS] },
  ];
  const emptyConfig = file('');
  for (const program of programs) {
    const help = await runProgram(program.script, ['--help']);
    assert.equal(help.code, 0, help.stderr);
    const named = new Set(flagsNamedIn(help.stdout));
    const taken = [...PROGRAM_OPTIONS, ...program.flags.map((entry) => entry.flag)];
    assert.deepEqual(taken.filter((flag) => !named.has(flag)), [], `${program.script} takes these flags, missing from its usage`);
    assert.deepEqual([...named].filter((flag) => !taken.includes(flag)), [], `${program.script}'s usage names these flags, which it does not take`);
    // The program's own parser takes every flag of its usage (an unknown one stops it with exit 2): each
    // is given empty (ignored) or bare (a switch), and --print-config ends the program before it starts.
    const switches = new Set(program.flags.filter((entry) => entry.boolean).map((entry) => entry.flag));
    const given = [...named].filter((flag) => !PROGRAM_OPTIONS.includes(flag)).map((flag) => (switches.has(flag) ? `--${flag}` : `--${flag}=`));
    const parsed = await runProgram(program.script, [...given, '--config', emptyConfig, '--ready-fd', '9', '--print-config=json'], program.env);
    assert.equal(parsed.code, 0, `${program.script}: ${parsed.stderr}`);
    assert.ok(JSON.parse(parsed.stdout), 'the effective settings are printed');
  }
});
