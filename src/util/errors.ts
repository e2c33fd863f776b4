// Every failure a user can cause or meet is one of these: one line of message, one documented exit code
// (README "Exit codes"). Anything else reaching the CLI is a bug and exits 1.

export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  invalidInput: 3,
  environment: 4,
  connect: 5,
  hostKey: 6,
  remoteCommand: 7,
  registry: 8,
  notFound: 9,
  timeout: 10,
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class BerthError extends Error {
  readonly exitCode: ExitCodeValue;
  constructor(message: string, exitCode: ExitCodeValue, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Wrong flags or arguments on the command line. */
export class UsageError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.usage, options);
  }
}

/** A file the user wrote (Clusterfile, Kubefile, config) is malformed; the message names file, line, field. */
export class InputError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.invalidInput, options);
  }
}

/** The local machine cannot do this: not root, not Linux, a program missing, an address in use. */
export class EnvironmentError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.environment, options);
  }
}

/** A host could not be reached or refused our credentials. */
export class ConnectError extends BerthError {
  constructor(
    readonly host: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${host}: ${message}`, ExitCode.connect, options);
  }
}

/** The connection to a host dropped while a command ran on it (its link went down, it rebooted). */
export class ConnectionLostError extends ConnectError {
  constructor(
    host: string,
    readonly command: string,
  ) {
    super(host, `connection lost while running \`${command}\``);
  }
}

/** A host presented a key other than the one recorded for it. */
export class HostKeyError extends BerthError {
  constructor(
    readonly host: string,
    message: string,
  ) {
    super(`${host}: ${message}`, ExitCode.hostKey);
  }
}

/** A command on a host exited non-zero. */
export class RemoteCommandError extends BerthError {
  constructor(
    readonly host: string,
    readonly command: string,
    readonly exitStatus: number | null,
    detail: string,
  ) {
    super(`${host}: ${detail}`, ExitCode.remoteCommand);
  }
}

/** A registry or image operation failed (network, auth, missing manifest, bad digest). */
export class RegistryError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.registry, options);
  }
}

/** A named local thing (image, cluster, sandbox) does not exist. */
export class NotFoundError extends BerthError {
  constructor(message: string) {
    super(message, ExitCode.notFound);
  }
}

export class TimeoutError extends BerthError {
  constructor(message: string) {
    super(message, ExitCode.timeout);
  }
}

export class InterruptedError extends BerthError {
  constructor(message = 'interrupted') {
    super(message, ExitCode.interrupted);
  }
}

/**
 * The one-line error for a local file the user named (`what`: "archive", "output file"...) that cannot be
 * read or, with `writing`, written: missing or of the wrong kind is invalid input (3); no permission or no
 * space is the machine's (4). Other errors come back unchanged.
 */
export function localFileError(path: string, what: string, err: unknown, writing = false): unknown {
  const options = { cause: err };
  switch ((err as NodeJS.ErrnoException)?.code) {
    case 'ENOENT':
      return new InputError(
        writing ? `${path}: cannot create the ${what} there` : `${path}: no such ${what}`,
        options,
      );
    case 'EISDIR':
      return new InputError(`${path} is a directory; give a file path for the ${what}`, options);
    case 'ENOTDIR':
      return new InputError(`${path}: a parent of the ${what} is not a directory`, options);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new EnvironmentError(`${path}: permission denied for the ${what}`, options);
    case 'ENOSPC':
      return new EnvironmentError(`${path}: no space left for the ${what}`, options);
  }
  return err;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * When hosts fail in different ways, the exit code of the failure nearest to this machine wins (README
 * "Exit codes"): a bug or a local mistake, then not reaching or not logging in to a host, then what went
 * wrong on it, a failed command last.
 */
const nearestFirst: readonly ExitCodeValue[] = [
  ExitCode.internal,
  ExitCode.usage,
  ExitCode.invalidInput,
  ExitCode.environment,
  ExitCode.notFound,
  ExitCode.hostKey,
  ExitCode.connect,
  ExitCode.registry,
  ExitCode.timeout,
  ExitCode.remoteCommand,
];

/** The exit code an error stands for: its own for a BerthError; anything else is a bug. */
export function exitCodeOf(err: unknown): ExitCodeValue {
  return err instanceof BerthError ? err.exitCode : ExitCode.internal;
}

/** The exit code that wins among the failures of one operation on many hosts. */
export function nearestExitCode(codes: readonly ExitCodeValue[]): ExitCodeValue | undefined {
  const rank = (c: ExitCodeValue) =>
    nearestFirst.includes(c) ? nearestFirst.indexOf(c) : nearestFirst.length;
  return [...codes].sort((a, b) => rank(a) - rank(b))[0];
}

/**
 * The failures of an operation on many hosts as one error: the line and exit code of the one whose code
 * wins (nearestExitCode; the first such), saying how many other hosts failed too; undefined when there
 * are none.
 */
export function manyHostsFailed(errors: readonly Error[]): Error | undefined {
  const code = nearestExitCode(errors.map(exitCodeOf));
  const first = errors.find((e) => exitCodeOf(e) === code);
  if (!first || errors.length === 1) return first;
  return new BerthError(
    `${first.message} (and ${errors.length - 1} more host(s) failed)`,
    exitCodeOf(first),
    {
      cause: first,
    },
  );
}
