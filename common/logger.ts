/**
 * The logger shared by the origin and the edge, on pino: one JSON line per event on stdout,
 *
 *   {"level":"info","time":"2026-12-02T19:40:00.000Z","pid":42,"component":"origin.link","session":"conn#3","peer":"203.0.113.9:50432","app":"classroom/lesson","msg":"connected"}
 *
 * or, with `logFormat: pretty` (`--log-format pretty`), `time LEVEL [component] message key=value ...`
 * for a terminal. `component` is the dotted path of `child(name)` calls (`origin`, `origin.link`,
 * `edge.relay`); a session's logger binds its id and its client's address (`with({ session, peer })`),
 * so every line of a client's life can be found by either. Levels: `logLevel` (LOG_LEVEL) for everything, and
 * `logLevels` per component (the longest matching prefix wins: `{ edge: debug, 'origin.link': warn }`).
 * No secret reaches a line: string values of secret-named fields are replaced, and a `token=` query
 * parameter or anything shaped like a JWT in any string is masked (log a token's `sub` instead).
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;
export type LogLevel = keyof typeof LEVELS;
export type LogFormat = 'json' | 'pretty';
export type LogFields = Record<string, unknown>;

export interface LogSettings {
  logLevel: LogLevel;
  /** Levels per component prefix (`edge`, `origin.link`). */
  logLevels?: Readonly<Record<string, LogLevel>>;
  logFormat?: LogFormat;
  /** Where lines go (stdout when absent); for tests of the logger itself. */
  destination?: { write(line: string): unknown };
}

const isLevel = (value: unknown): value is LogLevel => typeof value === 'string' && value in LEVELS;

/** The process's logging: its root pino logger and thresholds; `generation` moves on every change, so loggers rebuild lazily. */
const state = {
  level: isLevel(process.env.LOG_LEVEL) ? process.env.LOG_LEVEL : 'info' as LogLevel,
  /** [component prefix, threshold], longest prefix first. */
  perComponent: [] as Array<readonly [string, number]>,
  root: null as PinoLogger | null,
  format: 'json' as LogFormat,
  destination: null as LogSettings['destination'] | null,
  generation: 0,
};

/** Lines written so far by level, for the process's `classroom_log_lines_total` (an operator alerts on errors, a soak asserts none). */
export const logLinesWritten: Record<LogLevel, number> = { debug: 0, info: 0, warn: 0, error: 0 };

/** Applies the process's log settings (service-main.ts does, once its configuration is read). */
export function configureLogging(settings: LogSettings): void {
  state.level = settings.logLevel;
  state.perComponent = Object.entries(settings.logLevels ?? {})
    .map(([prefix, level]) => [prefix, LEVELS[level]] as const)
    .sort((a, b) => b[0].length - a[0].length);
  state.format = settings.logFormat ?? 'json';
  state.destination = settings.destination ?? null;
  state.root = null;
  state.generation++;
}

/** Sets the level of everything (per-component levels are kept). */
export function setLogLevel(level: LogLevel): void {
  state.level = level;
  state.generation++;
}

function thresholdOf(component: string): number {
  for (const [prefix, threshold] of state.perComponent) {
    if (component === prefix || component.startsWith(`${prefix}.`)) return threshold;
  }
  return LEVELS[state.level];
}

function rootLogger(): PinoLogger {
  if (state.root) return state.root;
  const destination: DestinationStream = state.format === 'pretty'
    ? { write: (line: string) => (state.destination ?? process.stdout).write(prettyLine(line)) }
    : state.destination ?? pino.destination({ dest: 1, sync: true });
  state.root = pino({
    level: 'debug',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }, destination);
  return state.root;
}

/** Field names whose string values are secrets. */
const SECRET_FIELD = /token|secret|password|authorization|cookie/i;
/** `token=...` in a query string, and JWTs (three base64url parts, the first a JSON object). */
const TOKEN_PARAMETER = /([?&;](?:access_)?token=)[^&\s"';]+/gi;
const JWT = /\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]+/g;

/** A string with any token in it masked. */
export function maskTokens(text: string): string {
  return text.replace(TOKEN_PARAMETER, '$1[redacted]').replace(JWT, '[redacted-jwt]');
}

function safeValue(key: string, value: unknown): unknown {
  if (value instanceof Error) return maskTokens(value.message);
  if (typeof value === 'string') return SECRET_FIELD.test(key) ? '[redacted]' : maskTokens(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

function safeFields(fields: LogFields): LogFields {
  const safe: LogFields = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) safe[key] = safeValue(key, value);
  return safe;
}

export class Logger {
  /** The dotted component path (`origin.link`): what per-component levels match. */
  readonly component: string;
  readonly #bindings: LogFields;
  #generation = -1;
  #threshold = 0;

  /** `component`: a top-level part (`origin`, `edge`); `bindings`: fields on every line (`{ edge: 'edge-a' }`). */
  constructor(component: string, bindings: LogFields = {}) {
    this.component = component;
    this.#bindings = safeFields(bindings);
  }

  /** The logger of a part of this component: `origin` -> `origin.link`, with more bound fields if given. */
  child(name: string, bindings: LogFields = {}): Logger {
    return new Logger(`${this.component}.${name}`, { ...this.#bindings, ...bindings });
  }

  /** The same component with more fields on every line: a session's id and its client's address. */
  with(bindings: LogFields): Logger {
    return new Logger(this.component, { ...this.#bindings, ...bindings });
  }

  debug(message: string, fields?: LogFields): void { this.#write('debug', message, fields); }
  info(message: string, fields?: LogFields): void { this.#write('info', message, fields); }
  warn(message: string, fields?: LogFields): void { this.#write('warn', message, fields); }
  error(message: string, fields?: LogFields): void { this.#write('error', message, fields); }

  isEnabled(level: LogLevel): boolean {
    if (this.#generation !== state.generation) {
      this.#threshold = thresholdOf(this.component);
      this.#generation = state.generation;
    }
    return LEVELS[level] >= this.#threshold;
  }

  #write(level: LogLevel, message: string, fields?: LogFields): void {
    if (!this.isEnabled(level)) return;
    logLinesWritten[level]++;
    // Bound fields and the event's merged into one object (not a pino child), so a field the event
    // repeats (a session's `peer`) appears once.
    rootLogger()[level]({ component: this.component, ...this.#bindings, ...(fields ? safeFields(fields) : {}) }, maskTokens(message));
  }
}

/** Keys of a JSON line that the pretty line shows in its head rather than as key=value. */
const HEAD_KEYS = new Set(['level', 'time', 'pid', 'component', 'msg']);

function prettyValue(value: unknown): string {
  if (typeof value === 'string') return /^[\w.:/@#-]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

/** One JSON line as `time LEVEL [component] message key=value ...`. */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  let line = `${String(entry.time)} ${String(entry.level).toUpperCase().padEnd(5)} [${String(entry.component ?? '')}] ${String(entry.msg ?? '')}`;
  for (const [key, value] of Object.entries(entry)) {
    if (!HEAD_KEYS.has(key) && value !== undefined) line += ` ${key}=${prettyValue(value)}`;
  }
  return `${line}\n`;
}
