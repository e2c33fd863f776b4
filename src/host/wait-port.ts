import { shellQuote } from '../util/shell.js';

// Waiting on a host until a TCP port answers, in plain sh. dash has no /dev/tcp and busybox nc has no -z,
// so the probe uses `nc -z -w1` when the host's nc supports -z, else bash's /dev/tcp under `timeout`, else
// busybox nc under `timeout`.

/** A sh function named `probe HOST PORT` that exits 0 when the port accepts a connection. */
export const tcpProbeFunction = `probe() {
  if command -v nc >/dev/null 2>&1 && nc -h 2>&1 | grep -q -- ' -z'; then nc -z -w1 "$1" "$2" </dev/null >/dev/null 2>&1
  elif command -v bash >/dev/null 2>&1; then timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
  else timeout 2 busybox nc -w1 "$1" "$2" </dev/null >/dev/null 2>&1
  fi
}`;

/** Polls every 0.5 s for at most `seconds`; prints `failure` on stderr and exits 1 when the port stays shut. */
export function waitForPortCommand(host: string, port: number, seconds: number, failure: string): string {
  return `${tcpProbeFunction}
i=0
until probe ${shellQuote(host)} ${port}; do
  i=$((i + 1))
  if [ $i -ge ${seconds * 2} ]; then echo ${shellQuote(failure)} >&2; exit 1; fi
  sleep 0.5
done`;
}
