/** A logger that keeps every line, so tests can check what the plugin logged and at what level. */
import type { PluginLogger } from '../src/index.js';

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

export interface RecordingLogger extends PluginLogger {
  readonly lines: LogLine[];
  at(level: LogLine['level']): LogLine[];
}

export function createRecordingLogger(): RecordingLogger {
  const lines: LogLine[] = [];
  const add =
    (level: LogLine['level']) =>
    (fields: object, message: string): void => {
      lines.push({ level, fields: { ...fields }, message });
    };
  return {
    lines,
    debug: add('debug'),
    info: add('info'),
    warn: add('warn'),
    error: add('error'),
    at: (level) => lines.filter((l) => l.level === level),
  };
}
