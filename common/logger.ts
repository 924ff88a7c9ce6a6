/**
 * Line-oriented logger shared by the origin and the edge. One line per event,
 * `time LEVEL [scope] message key=value ...`, so an operator can grep a session
 * id or a stream name across the whole log. Level from LOG_LEVEL (debug|info|warn|error).
 */

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;
export type LogFields = Record<string, unknown>;

let threshold: number = LEVELS[(process.env.LOG_LEVEL as LogLevel) in LEVELS ? (process.env.LOG_LEVEL as LogLevel) : 'info'];

export function setLogLevel(level: LogLevel): void {
  threshold = LEVELS[level];
}

function formatValue(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message);
  if (typeof value === 'string') return /^[\w.:/@#-]*$/.test(value) && value !== '' ? value : JSON.stringify(value);
  return String(value);
}

export class Logger {
  readonly scope: string;
  constructor(scope: string) {
    this.scope = scope;
  }

  /** A logger whose lines carry a longer scope, e.g. `origin` -> `origin session#3`. */
  child(scope: string): Logger {
    return new Logger(`${this.scope} ${scope}`);
  }

  debug(message: string, fields?: LogFields): void { this.write('debug', message, fields); }
  info(message: string, fields?: LogFields): void { this.write('info', message, fields); }
  warn(message: string, fields?: LogFields): void { this.write('warn', message, fields); }
  error(message: string, fields?: LogFields): void { this.write('error', message, fields); }

  isEnabled(level: LogLevel): boolean {
    return LEVELS[level] >= threshold;
  }

  private write(level: LogLevel, message: string, fields?: LogFields): void {
    if (LEVELS[level] < threshold) return;
    let line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} [${this.scope}] ${message}`;
    if (fields) {
      for (const [key, value] of Object.entries(fields)) {
        if (value !== undefined) line += ` ${key}=${formatValue(value)}`;
      }
    }
    (LEVELS[level] >= LEVELS.warn ? process.stderr : process.stdout).write(line + '\n');
  }
}
