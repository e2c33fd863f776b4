// The single file's entry: answers --version before anything else is compiled (start-up close to a bare
// node), then runs berth's bundled code, kept as an asset of the file with V8's code cache for it (made
// when the file was made, so the 8 MB bundle is not compiled again at every start; a cache V8 rejects,
// e.g. on another CPU, only costs the compile). BERTH_BUILD_INFO is put in when the file is made.
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`berth ${BERTH_BUILD_INFO.version} (commit ${BERTH_BUILD_INFO.commit})\n`);
} else {
  const { getAsset } = require('node:sea');
  const { isBuiltin } = require('node:module');
  const { dirname } = require('node:path');
  const { Script } = require('node:vm');
  // Everything but Node's own modules is inside the bundle; a require of anything else is an optional
  // native add-on, which fails as it would where it is not installed (its user falls back to JS).
  const requireBuiltin = (id) => {
    if (isBuiltin(id)) return require(id);
    const err = new Error(`Cannot find module '${id}'`);
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  };
  const script = new Script(getAsset('berth.cjs', 'utf8'), {
    filename: 'berth.cjs',
    cachedData: Buffer.from(getAsset('berth.cache')),
  });
  const mod = { exports: {} };
  script.runInThisContext()(requireBuiltin, mod, mod.exports, process.execPath, dirname(process.execPath));
}
