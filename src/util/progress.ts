import cliProgress from 'cli-progress';
import { log } from './log.js';

export interface Progress {
  /** Sets the amount done so far. */
  update(done: number): void;
  increment(by?: number): void;
  setTotal(total: number): void;
  /** Ends the bar after the work succeeded: `message`, or a "done" line off a terminal. */
  stop(message?: string): void;
  /** Ends the bar after the work failed, printing nothing: the error that follows says what happened. */
  fail(): void;
}

/**
 * A progress bar on a terminal, plain start/finish lines otherwise (CI logs, pipes), so that long work
 * shows life without filling logs with redraws.
 */
export function startProgress(title: string, total: number, unit: 'bytes' | 'items' = 'items'): Progress {
  const tty = process.stderr.isTTY && !process.env.CI;
  if (!tty) {
    log.info(`${title} ...`);
    let done = 0;
    let size = total;
    return {
      update(n) {
        done = n;
      },
      increment(by = 1) {
        done += by;
      },
      setTotal(t) {
        size = t;
      },
      stop(message) {
        log.info(
          message ??
            `${title}: done (${formatAmount(Math.max(done, 0), unit)} of ${formatAmount(size, unit)})`,
        );
      },
      fail() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${title} [{bar}] {percentage}% {amount}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      formatValue: (v, _o, type) => (type === 'value' ? String(v) : String(v)),
    },
    cliProgress.Presets.shades_classic,
  );
  let size = total;
  let done = 0;
  bar.start(total, 0, { amount: `0/${formatAmount(total, unit)}` });
  const render = () =>
    bar.update(done, { amount: `${formatAmount(done, unit)}/${formatAmount(size, unit)}` });
  return {
    update(n) {
      done = n;
      render();
    },
    increment(by = 1) {
      done += by;
      render();
    },
    setTotal(t) {
      size = t;
      bar.setTotal(t);
      render();
    },
    stop(message) {
      bar.stop();
      if (message) log.info(message);
    },
    fail() {
      bar.stop();
    },
  };
}

export function formatAmount(n: number, unit: 'bytes' | 'items'): string {
  if (unit === 'items') return String(n);
  return formatBytes(n);
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
