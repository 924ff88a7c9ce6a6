/**
 * Settings from four layers, each overriding the one before: the defaults, a YAML config file
 * (`--config FILE`), environment variables, command-line flags. Each process describes its settings
 * once as a zod schema (origin/config.ts, gateway/config.ts): the schema gives the types, checks
 * every layer (a wrong key or type stops the start naming the key's path or the flag, and what was
 * expected), and documents each setting (`describe`), from which README's tables are made
 * (`settingsReference`). `--print-config` shows the effective settings with secret values masked.
 */
import { readFileSync } from 'node:fs';
import type * as Yaml from 'yaml';
import { z } from 'zod';
import { lazyRequire } from './lazy-require.ts';
import type { LogLevel } from './logger.ts';
import { READY_USAGE } from './ready-report.ts';
import { secretFromFile } from './stored-secret.ts';

/**
 * The YAML parser, loaded only when a config file is read or printed (`--config`, `--print-config`):
 * its 72 modules cost a process that has neither, such as a restarted edge whose clients wait, some
 * 0.02 CPU-seconds (README, "Start time"). Its CommonJS build is what an import of it gives in Node.
 */
const yaml = lazyRequire<typeof Yaml>('yaml');

/** A setting, a flag, an environment variable or a config file that is wrong: the process must not start (exit 2). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** One process's settings: a strict object of described settings (a nested strict object is a group, e.g. `browser`). */
export type Settings = z.ZodObject<z.ZodRawShape, z.core.$strict>;

// Types shared by the processes' schemas, so a wrong value reads the same everywhere.
export const port = () => z.int().min(0).max(65535);
export const wholeNumber = (min: number, max = Number.MAX_SAFE_INTEGER) => z.int().min(min).max(max);
export const text = () => z.string().min(1);
/** A duration in ms; at most 10 minutes unless said otherwise. */
export const milliseconds = (min: number, max = 600_000) => wholeNumber(min, max);

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const satisfies readonly LogLevel[];

/** A logger's component path (common/logger.ts): `edge`, `origin.link`. */
const LOG_COMPONENT = /^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$/;

/** Settings every process has beside its own. */
export const processSettings = {
  logLevel: z.enum(LOG_LEVELS).describe('Least important log lines shown (debug, info, warn, error).'),
  logLevels: z.record(z.string().regex(LOG_COMPONENT, 'a component such as edge or origin.link'), z.enum(LOG_LEVELS))
    .describe('Levels per component over logLevel, the longest matching prefix winning: e.g. `edge: debug`, `origin.link: warn` (a line\'s `component` field names its component).'),
  logFormat: z.enum(['json', 'pretty']).describe('json: one JSON object per line (pino), with a session id and client address on a client\'s lines; pretty: `time LEVEL [component] message key=value` for a terminal.'),
  shutdownDeadlineMs: milliseconds(1000).describe('SIGTERM: the graceful shutdown must be done within this time, else the process exits 1 (systemd\'s TimeoutStopSec must be longer).'),
};

/** `edge=debug,origin.link=warn` as a mapping; the schema checks the names and levels. */
function componentLevels(text: string): Record<string, string> {
  const levels: Record<string, string> = {};
  for (const pair of text.split(',').map((item) => item.trim()).filter(Boolean)) {
    const [component, level, extra] = pair.split('=');
    if (!component || !level || extra !== undefined) throw new Error(`expected COMPONENT=LEVEL pairs separated by commas, got ${JSON.stringify(pair)}`);
    levels[component.trim()] = level.trim();
  }
  return levels;
}

/** A command-line flag (and its environment variable) and the settings its text sets. */
export interface SettingFlag {
  /** The flag without its dashes. */
  flag: string;
  env?: string | undefined;
  /** Takes no value (`--origin-tls`). */
  boolean?: true;
  /** What the usage shows after the flag: `N`, `MS`, `FILE`, `always|never` (none for a boolean flag). */
  value?: string;
  /** The settings it sets. */
  keys: readonly string[];
  /** The settings the flag's text stands for, before they are checked; throws a message when the text cannot stand for any. */
  set(text: string): Record<string, unknown>;
}

const READERS = {
  text: (value: string): unknown => value,
  number: (value: string): unknown => (value.trim() === '' ? Number.NaN : Number(value)),
  list: (value: string): unknown => value.split(',').map((item) => item.trim()).filter(Boolean),
};

/** Where a flag's setting may also come from, and what the usage shows after the flag. */
export interface SettingFlagOptions {
  /** The environment variable that sets it too. */
  env?: string;
  /** The usage's placeholder for the flag's text (SettingFlag's `value`). */
  value?: string;
}

/**
 * `--flag TEXT` (or the variable `options.env`) sets `key` to the text, a number or a
 * comma-separated list. A number's placeholder in the usage is MS for a duration (its key ends in
 * Ms, as every millisecond setting's does), else N; a text's or a list's must be given (ADDR, FILE).
 */
export function settingFlag(flag: string, key: string, kind: 'number', options?: SettingFlagOptions): SettingFlag;
export function settingFlag(flag: string, key: string, kind: 'text' | 'list', options: SettingFlagOptions & { value: string }): SettingFlag;
export function settingFlag(flag: string, key: string, kind: keyof typeof READERS, options: SettingFlagOptions = {}): SettingFlag {
  const value = options.value ?? (key.endsWith('Ms') ? 'MS' : 'N');
  return { flag, env: options.env, value, keys: [key], set: (text) => ({ [key]: READERS[kind](text) }) };
}

/** The logging flags every process takes (LOG_LEVEL as ever, LOG_LEVELS, LOG_FORMAT). */
export const LOG_FLAGS: readonly SettingFlag[] = [
  settingFlag('log-level', 'logLevel', 'text', { env: 'LOG_LEVEL', value: processSettings.logLevel.options.join('|') }),
  { flag: 'log-levels', env: 'LOG_LEVELS', value: 'COMPONENT=LEVEL,...', keys: ['logLevels'], set: (value) => ({ logLevels: componentLevels(value) }) },
  settingFlag('log-format', 'logFormat', 'text', { env: 'LOG_FORMAT', value: processSettings.logFormat.options.join('|') }),
];

/** The logging settings' defaults. */
export const defaultLogSettings = { logLevel: 'info', logLevels: {}, logFormat: 'json' } as const satisfies { logLevel: LogLevel; logLevels: Record<string, LogLevel>; logFormat: 'json' | 'pretty' };

/** What the command line says about configuration itself, taken out before a process parses its own flags. */
export interface ConfigOptions {
  /** `--config FILE`. */
  file: string | null;
  /** `--print-config` (YAML) or `--print-config=json`. */
  print: 'yaml' | 'json' | null;
  /** The other arguments. */
  rest: string[];
}

export const CONFIG_USAGE = '[--config FILE.yaml] [--print-config[=json]]';

/** How a program is run and what its command line takes, from which its usage is made (usageOf). */
export interface CommandLine {
  /** `node origin/main.ts`, `npm start --`. */
  command: string;
  /** The config file's sections it reads (`origin`, `edge`). */
  sections: readonly string[];
  /** Every flag it parses, each shown as `[--flag VALUE]` unless `written` names it. */
  flags: readonly SettingFlag[];
  /**
   * What no flag list can say, written once: alternatives such as `(--secret S | --secret-file F)`.
   * The flags it names are not listed again.
   */
  written?: readonly string[];
}

/** Usage lines are packed up to this width. */
const USAGE_WIDTH = 120;

/** The flags a usage text names, without their dashes (`--secret S` names `secret`). */
export function flagsNamedIn(text: string): string[] {
  return [...text.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)].map((match) => match[1]!);
}

/** Words packed into lines of at most USAGE_WIDTH characters, the first starting with `indent`, the others two spaces further in (a longer word gets a line of its own). */
function packedLines(words: readonly string[], indent = ''): string[] {
  const lines: string[] = [];
  for (const word of words) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 1 + word.length <= USAGE_WIDTH) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(`${indent}${lines.length === 0 ? '' : '  '}${word}`);
  }
  return lines;
}

/**
 * A program's usage (`--help`, and after a bad flag), made from its flag list so that no flag it
 * takes is missing: the options every program takes (--help, CONFIG_USAGE, READY_USAGE), the
 * hand-written alternatives, every other flag with its placeholder, the environment variables.
 */
export function usageOf(commandLine: CommandLine): string {
  const written = commandLine.written ?? [];
  const named = new Set(written.flatMap(flagsNamedIn));
  const listed = commandLine.flags.filter((entry) => !named.has(entry.flag)).map((entry) => `[--${entry.flag}${entry.value === undefined ? '' : ` ${entry.value}`}]`);
  const variables = commandLine.flags.flatMap((entry) => entry.env ?? []);
  const sections = commandLine.sections.length === 1 ? `${commandLine.sections[0]} section` : `${commandLine.sections.join(' and ')} sections`;
  return [
    ...packedLines([`usage: ${commandLine.command}`, '[--help]', CONFIG_USAGE, READY_USAGE, ...written, ...listed]),
    ...(variables.length === 0 ? [] : packedLines(['environment:', ...variables.map((name, i) => (i < variables.length - 1 ? `${name},` : name))], '  ')),
    `  every setting (README, "Configuration") can be set in the config file's ${sections}; flags beat the environment, which beats the file`,
  ].join('\n');
}

export function takeConfigOptions(argv: readonly string[]): ConfigOptions {
  const options: ConfigOptions = { file: null, print: null, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--config' || arg.startsWith('--config=')) {
      const file = arg === '--config' ? argv[++i] : arg.slice('--config='.length);
      if (!file) throw new ConfigError('--config needs a file');
      options.file = file;
    } else if (arg === '--print-config' || arg === '--print-config=yaml') {
      options.print = 'yaml';
    } else if (arg === '--print-config=json') {
      options.print = 'json';
    } else if (arg.startsWith('--print-config=')) {
      throw new ConfigError(`--print-config takes yaml or json, got ${JSON.stringify(arg.slice('--print-config='.length))}`);
    } else {
      options.rest.push(arg);
    }
  }
  return options;
}

/** What a file may set of a process's settings: any of them, and any part of a group. */
function fileSchemaOf<S extends Settings>(settings: S) {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, schema] of Object.entries(settings.shape)) {
    shape[key] = (schema instanceof z.ZodObject ? schema.partial() : schema as z.ZodType).optional();
  }
  return z.strictObject(shape) as unknown as z.ZodType<Partial<z.output<S>>>;
}

const TYPE_NAMES: Record<string, string> = {
  number: 'a number', int: 'a whole number', string: 'a string', boolean: 'true or false', array: 'a list', object: 'a mapping (key: value)',
  record: 'a mapping (key: value)', null: 'null',
};

function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

/** `origin.maxConnections`, `edge.origins[0]`. */
function pathName(path: readonly PropertyKey[]): string {
  return path.reduce<string>((name, key) => (typeof key === 'number' ? `${name}[${key}]` : name ? `${name}.${String(key)}` : String(key)), '');
}

function bound(most: boolean, limit: number | bigint, inclusive: boolean | undefined, origin: string): string {
  const word = most ? 'at most' : 'at least';
  if (origin === 'string') return !most && limit === 1 ? 'a non-empty string' : `${word} ${limit} characters`;
  if (origin === 'array' || origin === 'set') return `${word} ${limit} item${limit === 1 ? '' : 's'}`;
  return `a number ${most ? '<' : '>'}${inclusive ? '=' : ''} ${limit}`;
}

/** What is wrong with a value (not where): `expected a number, got "lots"`. `got` is what the operator wrote, when not the checked value itself. */
function problemOf(issue: z.core.$ZodIssue, got = shown(issue.input)): string {
  switch (issue.code) {
    case 'invalid_type': return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${got}`;
    case 'too_small': return `expected ${bound(false, issue.minimum, issue.inclusive, issue.origin)}, got ${got}`;
    case 'too_big': return `expected ${bound(true, issue.maximum, issue.inclusive, issue.origin)}, got ${got}`;
    case 'invalid_value': return `expected one of ${issue.values.map((v) => String(v)).join(', ')}, got ${got}`;
    case 'unrecognized_keys': return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    default: return `${issue.message}, got ${got}`;
  }
}

/**
 * The problems of a checked section as an operator reads them, each with its path:
 * `origin.maxConnections: expected a number, got "lots"`, `unknown key origin.maxConections`.
 * `where` tells the line of a path.
 */
function describeIssues(issues: readonly z.core.$ZodIssue[], section: string, where: (path: PropertyKey[]) => string = () => ''): string[] {
  return issues.flatMap((issue) => {
    const path = [section, ...issue.path];
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `${where([...path, key])}unknown key ${pathName([...path, key])}`);
    return [`${where(path)}${pathName(path)}: ${problemOf(issue)}`];
  });
}

/** Checks one layer's value of one setting (a flag's, an environment variable's); `label` names where it came from. */
function checkSetting<S extends Settings>(settings: S, key: string, value: unknown, label: string, raw: string): unknown {
  const schema = settings.shape[key] as z.ZodType | undefined;
  if (!schema) throw new Error(`${label} sets ${key}, which is no setting`);
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  // A list's item or a mapping's value is shown as itself (a mapping's key named too); anything else as the text the operator wrote.
  const got = issue.path.length > 0 ? undefined : JSON.stringify(raw);
  const named = issue.path.filter((key) => typeof key === 'string');
  throw new ConfigError(`${label}${named.length > 0 ? ` (${pathName(named)})` : ''}: ${problemOf(issue, got)}`);
}

export interface FlagLayers<T> {
  env: Partial<T>;
  flags: Partial<T>;
}

/**
 * The environment's and the flags' settings (two layers: flags win), each checked by the settings'
 * schema and named by its variable or flag when wrong. Empty values are ignored, as they always were.
 */
export function flagLayers<S extends Settings>(settings: S, table: readonly SettingFlag[], values: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv, usage = ''): FlagLayers<z.output<S>> {
  const read = (entry: SettingFlag, label: string, raw: string): Record<string, unknown> => {
    try {
      return entry.set(raw);
    } catch (error) {
      throw new ConfigError(`${label}: ${(error as Error).message}`);
    }
  };
  const layer = (pick: (entry: SettingFlag) => [label: string, text: string] | null): Partial<z.output<S>> => {
    const out: Record<string, unknown> = {};
    try {
      for (const entry of table) {
        const given = pick(entry);
        if (!given) continue;
        const [label, raw] = given;
        for (const [key, value] of Object.entries(read(entry, label, raw))) out[key] = checkSetting(settings, key, value, label, raw);
      }
    } catch (error) {
      // A bad flag or variable shows the usage too, as it always did.
      if (error instanceof ConfigError && usage) throw new ConfigError(`${error.message}\n${usage}`);
      throw error;
    }
    return out as Partial<z.output<S>>;
  };
  return {
    env: layer((entry) => (entry.env && env[entry.env] ? [entry.env, env[entry.env]!] : null)),
    flags: layer((entry) => {
      const value = values[entry.flag];
      if (entry.boolean) return value === true ? [`--${entry.flag}`, ''] : null;
      return typeof value === 'string' && value !== '' ? [`--${entry.flag}`, value] : null;
    }),
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

/** One layer of settings and where it came from (`the config file`, `the environment`, `the flags`). */
export type Layer<T> = readonly [source: string, values: Partial<T>];

/**
 * Layers over the defaults, later ones winning; a group (`browser`) is merged setting by setting.
 * `alternatives` are settings that say one thing two ways (a secret, or the file holding it): a
 * layer that sets one drops what lower layers gave the other, and may not set both.
 */
export function mergeLayers<T extends object>(defaults: T, layers: readonly Layer<T>[], alternatives: readonly (readonly [keyof T & string, keyof T & string])[] = []): T {
  const initial = defaults as unknown as Record<string, unknown>;
  const merged = { ...initial };
  for (const [source, values] of layers) {
    const given = (key: keyof T) => values[key] !== undefined && values[key] !== null;
    for (const [a, b] of alternatives) {
      if (given(a) && given(b)) throw new ConfigError(`${source} set both ${a} and ${b}, which say one thing two ways: give one`);
      if (given(a)) merged[b] = initial[b];
      if (given(b)) merged[a] = initial[a];
    }
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) continue;
      merged[key] = isPlainObject(value) && isPlainObject(merged[key]) ? { ...merged[key], ...value } : value;
    }
  }
  return merged as T;
}

/** Each section's settings as the config file gives them (checked), none for a section it lacks. */
export type ConfigSections<T extends Record<string, Settings>> = { [K in keyof T]: Partial<z.output<T[K]>> };

/**
 * Reads and checks a YAML config file whose top level has one mapping per section this process runs
 * (`origin`, `edge`): another key at the top, an unknown key in a section or a value of the wrong
 * type is an error, and every problem of the file is listed at once, each with its line and path.
 * An empty section (every line commented out) sets nothing.
 */
export function readConfigFile<T extends Record<string, Settings>>(path: string, sections: T): ConfigSections<T> {
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read the config file ${path}: ${(error as Error).message}`);
  }
  const { LineCounter, parseDocument } = yaml();
  const lines = new LineCounter();
  const document = parseDocument(source, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) throw new ConfigError(`${path}: ${document.errors.map((e) => e.message).join('\n')}`);
  /** `FILE:LINE: ` of the nearest node on a path. */
  const where = (at: readonly PropertyKey[]): string => {
    for (let depth = at.length; depth >= 0; depth--) {
      const node = document.getIn(at.slice(0, depth) as unknown[], true) as { range?: [number, number, number] } | undefined;
      if (node?.range) return `${path}:${lines.linePos(node.range[0]).line}: `;
    }
    return `${path}: `;
  };
  const names = Object.keys(sections);
  const top: unknown = document.toJS() ?? {};
  if (!isPlainObject(top)) throw new ConfigError(`${path}: expected a mapping with ${names.join(' and ')} sections, got ${shown(top)}`);
  const problems = Object.keys(top).filter((key) => !names.includes(key)).map((key) => `${where([key])}unknown key ${key} (this process reads ${names.join(' and ')})`);
  const checked: Record<string, unknown> = {};
  for (const [name, settings] of Object.entries(sections)) {
    const result = fileSchemaOf(settings).safeParse(top[name] ?? {}, { reportInput: true });
    if (result.success) checked[name] = result.data;
    else problems.push(...describeIssues(result.error.issues, name, where));
  }
  const lineOf = (problem: string) => Number(/^[^\n]*?:(\d+): /.exec(problem.slice(path.length))?.[1] ?? 0);
  if (problems.length > 0) throw new ConfigError(problems.sort((a, b) => lineOf(a) - lineOf(b)).join('\n'));
  return checked as ConfigSections<T>;
}

/** A secret from the file a setting names (trailing newlines from editors are not part of it). */
export function readSecretFile(file: string, setting: string): string {
  try {
    return secretFromFile(file);
  } catch (error) {
    throw new ConfigError(`${setting}: cannot read ${file}: ${(error as Error).message}`);
  }
}

/** What `--print-config` shows of a secret that is set. */
export const MASKED = '********';

/** The effective settings as a config file would hold them, in the schema's order: secrets masked, maps as mappings. */
export function printableSettings(config: object, settings: Settings, secrets: readonly string[]): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  const values = config as Record<string, unknown>;
  for (const key of Object.keys(settings.shape)) {
    if (!(key in values)) continue;
    const value = values[key];
    if (secrets.includes(key)) plain[key] = value === null || value === undefined || value === '' ? null : MASKED;
    else plain[key] = value instanceof Map ? Object.fromEntries(value) : value;
  }
  return plain;
}

/** `--print-config`'s output: one section per settings of this process. */
function formatConfig(sections: Record<string, Record<string, unknown>>, format: 'yaml' | 'json'): string {
  return format === 'json' ? `${JSON.stringify(sections, null, 2)}\n` : yaml().stringify(sections, { nullStr: 'null' });
}

/** Prints `--print-config`'s output and exits 0 (as `--help` does). */
export function printConfigAndExit(sections: Record<string, Record<string, unknown>>, format: 'yaml' | 'json'): never {
  process.stdout.write(formatConfig(sections, format));
  process.exit(0);
}

function formatDefault(key: string, value: unknown): string {
  if (value === undefined) return '(required)';
  if (value === null) return 'none';
  if (value instanceof Map) return value.size === 0 ? 'none' : [...value].map(([k, v]) => `${k}=${v}`).join(', ');
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.join(', ');
  if (typeof value === 'object') {
    const entries = Object.entries(value);
    return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k}=${String(v)}`).join(', ');
  }
  if (typeof value === 'number' && /Bytes$/.test(key) && value >= 1024 && value % 1024 === 0) {
    return value % (1024 * 1024) === 0 ? `${value / (1024 * 1024)} MiB` : `${value / 1024} KiB`;
  }
  if (value === '') return '(empty)';
  return String(value);
}

/**
 * README's table of a process's settings, made from the schema: the key (a group's members as
 * `group.key`), its flag and environment variable, its default and what it does.
 */
export function settingsReference<S extends Settings>(section: string, settings: S, defaults: Partial<z.output<S>>, table: readonly SettingFlag[]): string {
  const sources = new Map<string, string[]>();
  for (const entry of table) {
    const names = [`\`--${entry.flag}\``, ...(entry.env ? [`\`${entry.env}\``] : [])];
    for (const key of entry.keys) sources.set(key, [...(sources.get(key) ?? []), ...names]);
  }
  const rows = ['| setting | flag, environment | default | what |', '|---|---|---|---|'];
  const describe = (name: string, schema: z.ZodType, value: unknown, flags: string[]) => {
    rows.push(`| \`${section}.${name}\` | ${flags.join(', ')} | ${formatDefault(name, value)} | ${(schema.description ?? '').replaceAll('|', '\\|')} |`);
  };
  for (const [key, schema] of Object.entries(settings.shape) as [string, z.ZodType][]) {
    const value = (defaults as Record<string, unknown>)[key];
    if (schema instanceof z.ZodObject) {
      for (const [member, memberSchema] of Object.entries(schema.shape) as [string, z.ZodType][]) {
        describe(`${key}.${member}`, memberSchema, (value as Record<string, unknown> | undefined)?.[member], []);
      }
    } else {
      describe(key, schema, value, sources.get(key) ?? []);
    }
  }
  return rows.join('\n');
}
