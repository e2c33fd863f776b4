import { posix } from 'node:path';
import { shellQuote } from '../../util/shell.js';
import { RELAY_STREAM_FAILED, relayProgram } from './relay-program.js';
import { reuseProgram } from './reuse-program.js';
import { REUSE_ENTRY } from './stream-plan.js';

export interface ReceiverOptions {
  /** Where the tree ends up on the host. */
  dest: string;
  /** The host's own address is IPv6 (the listener's address family). */
  ipv6: boolean;
  sha256: string;
  size: number;
  /** Seconds to wait for the previous host's connection, and for the next host to accept ours. */
  acceptSeconds: number;
  /** Seconds without data before the stream counts as broken. */
  idleSeconds: number;
  /** Top-level names of an existing `dest` carried into the new tree when the new tree lacks them. */
  keep?: string[];
}

/** Prefix of the staging directories beside `dest`; any left by a killed receiver are removed first. */
export const STAGING_PREFIX = '.berth-relay.';

/**
 * The shell script one host runs to receive (and pass on) a tree: the stream is unpacked into a staging
 * directory beside `dest` while it arrives; once its length and sha256 match, the files it left out are
 * copied from the existing `dest` and checked (reuseProgram), `keep` is carried over, and only then is
 * the staged tree renamed into place, the old one held in staging until that rename. Filling in after
 * the stream rather than copying `dest` first means nothing delays the chain and nothing is copied twice.
 * The staging directory goes away on every exit (success, failure, TERM from berth).
 */
export function receiverScript(o: ReceiverOptions): string {
  const dest = o.dest.replace(/\/+$/, '');
  const q = shellQuote;
  const relay = [
    'python3 -c',
    q(relayProgram),
    o.ipv6 ? '6' : '4',
    o.sha256,
    String(o.size),
    String(o.acceptSeconds),
    String(o.idleSeconds),
  ].join(' ');
  const keep = (o.keep ?? []).map(
    (k) =>
      `if [ -e "$D"/${q(k)} ] && [ ! -e "$S/t"/${q(k)} ]; then mv -- "$D"/${q(k)} "$S/t"/${q(k)} || exit 1; fi`,
  );
  return [
    'set -u',
    `D=${q(dest)}`,
    `P=${q(posix.dirname(dest))}`,
    'mkdir -p -- "$P" || exit 1',
    `for o in "$P"/${STAGING_PREFIX}*; do if [ -e "$o" ]; then rm -rf -- "$o"; fi; done`,
    `S=$(mktemp -d "$P/${STAGING_PREFIX}XXXXXX") || exit 1`,
    `trap 'rm -rf -- "$S"' EXIT`,
    "trap 'exit 129' HUP",
    "trap 'exit 130' INT",
    "trap 'exit 143' TERM",
    // Both exit statuses and tar's messages come back on fd 3, not through files: a full disk must not
    // hide why the unpack failed.
    `ST=$( { { ${relay} 3>&-; echo "r$?" >&3; } | { tar -x -p --no-same-owner -f - -C "$S" 2>&3 >/dev/null 3>&-; echo "t$?" >&3; }; } 3>&1 )`,
    `R=${RELAY_STREAM_FAILED}; T=1; E=`,
    "IFS0=$IFS; IFS='\n'; set -f",
    'for l in $ST; do case $l in r[0-9]*) R=${l#r} ;; t[0-9]*) T=${l#t} ;; *) if [ -z "$E" ]; then E=$l; fi ;; esac; done',
    'IFS=$IFS0; set +f',
    `if [ "$R" != 0 ]; then exit ${RELAY_STREAM_FAILED}; fi`,
    'if [ "$T" != 0 ]; then echo "unpacking the stream failed: ${E:-tar exited $T}" >&2; exit "$T"; fi',
    `if [ ! -d "$S/t" ]; then echo "the stream held no tree" >&2; exit ${RELAY_STREAM_FAILED}; fi`,
    `if [ -s "$S/${REUSE_ENTRY}" ]; then python3 -c ${q(reuseProgram)} "$D" "$S/t" "$S/${REUSE_ENTRY}" || exit $?; fi`,
    ...keep,
    'if [ -e "$D" ] || [ -L "$D" ]; then mv -T -- "$D" "$S/old" || exit 1; fi',
    'mv -T -- "$S/t" "$D"',
  ].join('\n');
}

/** Prints `berth-relay-ok` when the host has everything a receiver needs. */
export const relayProbe = [
  'command -v python3 >/dev/null 2>&1',
  "python3 -c 'import hashlib, socket' 2>/dev/null",
  'command -v tar >/dev/null 2>&1',
  'command -v mktemp >/dev/null 2>&1',
  'echo berth-relay-ok',
].join(' && ');
