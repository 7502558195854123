export { main } from './cli/main.js';
export type { Command, CommandIo } from './cli/command.js';
