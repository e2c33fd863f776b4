import { UsageError } from '../util/errors.js';

const bitsPer: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 };

/** Parses a tc rate such as `50mbit` and returns bytes per second. */
export function parseRate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit)$/i.exec(text.trim());
  const bytes = m ? (Number(m[1]) * (bitsPer[(m[2] as string).toLowerCase()] as number)) / 8 : 0;
  if (!m || bytes < 1000) {
    throw new UsageError(`--bandwidth ${text}: give a rate such as 50mbit (units: kbit, mbit, gbit)`);
  }
  return bytes;
}

/**
 * tbf arguments for a link capped at `rate`. The bucket holds 10 ms of traffic (at least a few full
 * frames) so the cap is smooth at the kernel's timer resolution without allowing long bursts.
 */
export function tbfArgs(rate: string): string[] {
  const burst = Math.max(Math.ceil(parseRate(rate) / 100), 16 * 1514);
  return ['tbf', 'rate', rate, 'burst', String(burst), 'latency', '100ms'];
}
