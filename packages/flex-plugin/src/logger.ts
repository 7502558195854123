/**
 * The logger port: the shape of pino's methods (`logger.warn({fields}, 'message')`), so a pino
 * logger (pino also runs in the browser) fits as is. The default writes to the browser console.
 */
export interface PluginLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** A logger on `console` (the Flex UI's devtools), prefixed so the lines are easy to filter. */
export function createConsoleLogger(prefix = 'flex-streams'): PluginLogger {
  return {
    debug: (fields, message) => {
      console.debug(`[${prefix}] ${message}`, fields);
    },
    info: (fields, message) => {
      console.info(`[${prefix}] ${message}`, fields);
    },
    warn: (fields, message) => {
      console.warn(`[${prefix}] ${message}`, fields);
    },
    error: (fields, message) => {
      console.error(`[${prefix}] ${message}`, fields);
    },
  };
}
