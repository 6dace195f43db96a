// A worker logger that keeps the console quiet: every entry at `fileLevel` and above goes to a file
// as one JSON object per line; only WARN and above (`consoleLevel`) also reach the console, as
// one short line. The demo installs it so per-chunk INFO logs stay readable but out of the way.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';
import { InvalidInputError } from '../lib/errors';

const SEVERITY: Record<LogLevel, number> = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 };

/** A log level from configuration (e.g. MIGRATOR_LOG_LEVEL), refused with the field's name when unknown. */
export function parseLogLevel(field: string, value: string | undefined, fallback: LogLevel): LogLevel {
  if (value === undefined || value === '') return fallback;
  const level = value.toUpperCase();
  if (!(level in SEVERITY))
    throw new InvalidInputError(field, `must be one of ${Object.keys(SEVERITY).join(', ')} (got "${value}")`);
  return level as LogLevel;
}

export interface FileLoggerOptions {
  /** Lowest level written to the file (default INFO). */
  fileLevel?: LogLevel;
  /** Lowest level also written to the console (default WARN). */
  consoleLevel?: LogLevel;
  /** Where console lines go (default stderr). */
  console?: (line: string) => void;
  /** Start a new file instead of appending (default: truncate, one file per run). */
  append?: boolean;
}

/** JSON.stringify that survives what log metadata carries: bigints, errors, cycles. */
function toJson(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Error) return { name: v.name, message: v.message, stack: v.stack };
    if (v && typeof v === 'object') {
      if (seen.has(v)) return '[circular]';
      seen.add(v);
    }
    return v;
  });
}

export class FileLogger implements Logger {
  private readonly fileSeverity: number;
  private readonly consoleSeverity: number;
  private readonly toConsole: (line: string) => void;

  constructor(
    readonly path: string,
    options: FileLoggerOptions = {},
  ) {
    this.fileSeverity = SEVERITY[options.fileLevel ?? 'INFO'];
    this.consoleSeverity = SEVERITY[options.consoleLevel ?? 'WARN'];
    this.toConsole = options.console ?? ((line) => process.stderr.write(`${line}\n`));
    mkdirSync(dirname(path), { recursive: true });
    if (!options.append) writeFileSync(path, '');
  }

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    const severity = SEVERITY[level];
    if (severity >= this.fileSeverity) {
      // Synchronous on purpose: entries survive a crash or kill of the process right after.
      appendFileSync(this.path, `${toJson({ time: new Date().toISOString(), level, message, ...meta })}\n`);
    }
    if (severity >= this.consoleSeverity) {
      const where = meta?.activityType ?? meta?.workflowType;
      this.toConsole(
        `[${level}] ${message}${typeof where === 'string' ? ` (${where})` : ''} — details in ${this.path}`,
      );
    }
  }

  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}
