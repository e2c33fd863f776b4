// A reader that goes away early (`berth images | head -1`) ends berth's output, not berth: the write
// error is dropped (log.out stops writing to a closed stdout) and the command ends with its own status.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
  });
}

// `berth --version` must start about as fast as node itself, so it is answered before commander and the
// command modules are loaded.
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const { versionLine } = await import('./build-info.js');
  process.stdout.write(`${versionLine()}\n`);
} else {
  const { runCli } = await import('./program.js');
  const { ExitCode } = await import('../util/errors.js');
  const code = await runCli(process.argv);
  // After Ctrl-C, work still in flight (a file read stuck behind disk writeback, a host slow to close its
  // connection) must not hold the exit back; the temp files it had are removed on the way out.
  if (code === ExitCode.interrupted) process.exit(code);
  process.exitCode = code;
}
