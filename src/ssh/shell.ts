export { shellQuote } from '../util/shell.js';

/** A command shortened for one-line messages. */
export function briefCommand(command: string): string {
  const oneLine = command.replace(/\s+/g, ' ').trim();
  return oneLine.length > 80 ? `${oneLine.slice(0, 77)}...` : oneLine;
}
