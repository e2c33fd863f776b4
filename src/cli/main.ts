// `berth --version` must start about as fast as node itself, so it is answered before commander and the
// command modules are loaded.
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const { versionLine } = await import('./build-info.js');
  process.stdout.write(`${versionLine()}\n`);
} else {
  const { runCli } = await import('./program.js');
  process.exitCode = await runCli(process.argv);
}
