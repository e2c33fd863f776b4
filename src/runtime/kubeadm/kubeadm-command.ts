import { shellQuote } from '../../util/shell.js';
import { adminConf, binDir } from './host-paths.js';

// kubeadm as berth runs it: its output streamed to berth's log, and on failure its error line printed
// last (kubeadm's own last line only says how to see a stack trace), so that the step's failure names
// what went wrong. Its output is kept in the cluster's directory on the host, not in /tmp: a step cut short
// (berth killed, the link lost) leaves it where reset removes it.

export function kubeadmCommand(clusterDir: string, args: string): string {
  return `d=$(mktemp -d ${shellQuote(`${clusterDir}/kubeadm-run.XXXXXX`)})
{ rc=0; ${binDir}/kubeadm ${args} 2>&1 || rc=$?; echo "$rc" > "$d/rc"; } | tee "$d/out"
rc=$(cat "$d/rc")
if [ "$rc" -ne 0 ]; then
  grep -v 'To see the stack trace' "$d/out" | grep -v '^[[:space:]]*$' | tail -n 1 >&2
  rm -rf "$d"
  exit "$rc"
fi
rm -rf "$d"`;
}

/**
 * kubectl with the admin kubeconfig berth put on every master; its discovery cache goes to the
 * cluster's directory, which reset removes, instead of root's ~/.kube/cache, which nothing would.
 */
export function kubectlCommand(clusterDir: string, server?: string): string {
  const s = server ? ` --server ${shellQuote(server)}` : '';
  return `${binDir}/kubectl --kubeconfig ${adminConf}${s} --cache-dir ${shellQuote(`${clusterDir}/kube-cache`)}`;
}

/** Polls the API until it answers /readyz, for at most `seconds`. */
export function waitForApiCommand(kubectl: string, seconds: number, failure: string): string {
  return `i=0
until ${kubectl} --request-timeout=5s get --raw=/readyz >/dev/null 2>&1; do
  i=$((i + 1))
  if [ $i -ge ${seconds} ]; then echo ${shellQuote(failure)} >&2; exit 1; fi
  sleep 1
done`;
}
