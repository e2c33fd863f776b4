// Long-running host services as shell. With systemd running, a unit file; otherwise (containers, WSL,
// sandbox hosts) berth's own supervisor script: the service runs in its own session (so stopping it can
// signal the whole process group), is restarted with a bounded back-off when it exits, logs to
// /var/log/berth/<name>.log and records its group leader in /run/berth/<name>.pid.

import { shellQuote } from '../util/shell.js';
import type { FileSpec, HostAction } from './action.js';

export interface ServiceSpec {
  /** Lower-case letters, digits and dashes. */
  name: string;
  description: string;
  /** A sh command line; it is run with `exec` so the service's main process is the program itself. */
  command: string;
  /** sh lines run before the command, e.g. to pick which program to run. */
  prelude?: string;
  env?: Record<string, string>;
  /** systemd details for programs that need them (k3s: notify, process kill mode, delegated cgroups). */
  systemd?: {
    type?: 'simple' | 'notify' | 'exec';
    killMode?: 'control-group' | 'process';
    delegate?: boolean;
  };
}

/** Where service files live; `root` prefixes every path so tests can run the generated shell in a temp dir. */
export interface ServiceLayout {
  root: string;
}

const defaultLayout: ServiceLayout = { root: '' };

export function servicePaths(name: string, layout: ServiceLayout = defaultLayout) {
  const r = layout.root;
  return {
    supervisor: `${r}/usr/local/lib/berth/supervise`,
    servicesDir: `${r}/etc/berth/services`,
    runFile: `${r}/etc/berth/services/${name}.run`,
    logFile: `${r}/var/log/berth/${name}.log`,
    pidFile: `${r}/run/berth/${name}.pid`,
    unitFile: `${r}/etc/systemd/system/${name}.service`,
    systemdMarker: `${r}/run/systemd/system`,
  };
}

function checkName(name: string): void {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) {
    throw new Error(`service name ${JSON.stringify(name)} must be lower-case letters, digits and dashes`);
  }
}

/** The supervisor script every berth service (and the k0s stand-in's, where no systemd runs) is run by. */
export function supervisorScript(layout: ServiceLayout = defaultLayout): string {
  const p = servicePaths('x', layout);
  const dir = (f: string) => shellQuote(f.slice(0, f.lastIndexOf('/')));
  return `#!/bin/sh
# berth service supervisor (used where systemd is not running).
# usage: supervise start|stop|status|run NAME
set -u
svc_dir=${shellQuote(p.servicesDir)}
run_dir=${dir(p.pidFile)}
log_dir=${dir(p.logFile)}
[ $# -eq 2 ] || { echo "usage: supervise start|stop|status|run NAME" >&2; exit 2; }
action=$1 name=$2
pid_file=$run_dir/$name.pid
log_file=$log_dir/$name.log
run_file=$svc_dir/$name.run

# State of a process, empty when gone; zombies count as gone because nobody may be reaping them.
proc_state() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }

running() {
  [ -f "$pid_file" ] || return 1
  pid=$(cat "$pid_file" 2>/dev/null) || return 1
  case $pid in '' | *[!0-9]*) return 1 ;; esac
  st=$(proc_state "$pid")
  [ -n "$st" ] && [ "$st" != Z ] || return 1
  # a recycled pid belongs to another program; ours is "sh <this script> run NAME"
  case "$(tr '\\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" in
  *"supervise run $name ") return 0 ;;
  esac
  return 1
}

# True while any live (non-zombie) process is in process group $1.
group_alive() {
  cat /proc/[0-9]*/stat 2>/dev/null | sed 's/.*) //' | awk -v g="$1" '$3 == g && $1 != "Z" { found = 1 } END { exit !found }'
}

start() {
  running && return 0
  [ -f "$run_file" ] || { echo "supervise: no service $name ($run_file missing)" >&2; exit 1; }
  mkdir -p "$run_dir" "$log_dir"
  rm -f "$pid_file"
  setsid sh "$0" run "$name" </dev/null >>"$log_file" 2>&1 &
  i=0
  while [ $i -lt 50 ]; do
    running && return 0
    sleep 0.1
    i=$((i + 1))
  done
  echo "supervise: $name did not start; see $log_file" >&2
  exit 1
}

run() {
  echo $$ >"$pid_file"
  child=
  trap 'trap - TERM INT; [ -n "$child" ] && kill "$child" 2>/dev/null; exit 0' TERM INT
  delay=1
  while :; do
    started=$(date +%s)
    sh "$run_file" </dev/null &
    child=$!
    rc=0
    wait "$child" || rc=$?
    child=
    # a service that ran for a while gets a fresh back-off; one that keeps failing waits up to 30 s
    if [ $(($(date +%s) - started)) -ge 30 ]; then delay=1; fi
    echo "supervise: $name exited with status $rc at $(date -u +%FT%TZ); restarting in $delay s"
    sleep "$delay" &
    child=$!
    wait "$child" || :
    child=
    delay=$((delay * 2))
    [ $delay -le 30 ] || delay=30
  done
}

stop() {
  if ! running; then
    rm -f "$pid_file"
    return 0
  fi
  pid=$(cat "$pid_file")
  kill -s TERM -- "-$pid" 2>/dev/null || :
  i=0
  while group_alive "$pid"; do
    i=$((i + 1))
    [ $i -ne 100 ] || kill -s KILL -- "-$pid" 2>/dev/null || :
    if [ $i -ge 150 ]; then
      echo "supervise: $name (process group $pid) did not exit" >&2
      exit 1
    fi
    sleep 0.1
  done
  rm -f "$pid_file"
}

case $action in
start) start ;;
stop) stop ;;
status) running ;;
run) run ;;
*) echo "supervise: unknown action $action" >&2; exit 2 ;;
esac
`;
}

function unitFile(spec: ServiceSpec, runFile: string): string {
  const s = spec.systemd ?? {};
  return [
    '[Unit]',
    `Description=${spec.description}`,
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    `Type=${s.type ?? 'simple'}`,
    `ExecStart=/bin/sh ${runFile}`,
    // the journal names the service, not the shell that execs it
    `SyslogIdentifier=${spec.name}`,
    `KillMode=${s.killMode ?? 'control-group'}`,
    ...(s.delegate ? ['Delegate=yes'] : []),
    'Restart=always',
    'RestartSec=5s',
    'LimitNOFILE=1048576',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

function runFileContent(spec: ServiceSpec): string {
  const env = Object.entries(spec.env ?? {}).map(([k, v]) => `export ${k}=${shellQuote(v)}`);
  const prelude = spec.prelude ? [spec.prelude.trimEnd()] : [];
  return [
    '#!/bin/sh',
    `# ${spec.description} (written by berth)`,
    ...env,
    ...prelude,
    `exec ${spec.command}`,
    '',
  ].join('\n');
}

/**
 * Writes the service definition and starts it. Re-running it is harmless: a running service whose
 * definition did not change is left alone; a changed definition restarts it.
 */
export function installService(spec: ServiceSpec, layout: ServiceLayout = defaultLayout): HostAction {
  checkName(spec.name);
  const p = servicePaths(spec.name, layout);
  const staged = `${p.runFile}.new`;
  const files: FileSpec[] = [
    { path: staged, content: runFileContent(spec), mode: 0o700 },
    { path: p.supervisor, content: supervisorScript(layout), mode: 0o755 },
  ];
  const n = shellQuote(spec.name);
  const sup = shellQuote(p.supervisor);
  return {
    description: `install and start service ${spec.name}`,
    files,
    commands: [
      `if cmp -s ${shellQuote(staged)} ${shellQuote(p.runFile)}; then rm -f ${shellQuote(staged)}; changed=0; else mv -f ${shellQuote(staged)} ${shellQuote(p.runFile)}; changed=1; fi
if [ -d ${shellQuote(p.systemdMarker)} ]; then
${writeFileCommand(p.unitFile, unitFile(spec, p.runFile), 0o644)}
systemctl daemon-reload && systemctl enable ${n}
if [ $changed = 1 ]; then systemctl restart ${n}; else systemctl start ${n}; fi
else
if [ $changed = 1 ]; then sh ${sup} stop ${n}; fi
sh ${sup} start ${n}
fi`,
    ],
  };
}

function either(layout: ServiceLayout, name: string, systemd: string, fallback: string): string {
  const p = servicePaths(name, layout);
  return `if [ -d ${shellQuote(p.systemdMarker)} ]; then ${systemd}; else sh ${shellQuote(p.supervisor)} ${fallback} ${shellQuote(name)}; fi`;
}

/** Starts the service unless it is running. */
export function startService(name: string, layout: ServiceLayout = defaultLayout): string {
  checkName(name);
  return either(layout, name, `systemctl start ${shellQuote(name)}`, 'start');
}

/** Stops the service and every process in its group, waiting (bounded) for them to exit. */
export function stopService(name: string, layout: ServiceLayout = defaultLayout): string {
  checkName(name);
  const p = servicePaths(name, layout);
  return `if [ -d ${shellQuote(p.systemdMarker)} ]; then systemctl stop ${shellQuote(name)} 2>/dev/null || :; elif [ -f ${shellQuote(p.supervisor)} ]; then sh ${shellQuote(p.supervisor)} stop ${shellQuote(name)}; fi`;
}

/**
 * What an init without systemd runs at boot so that berth's services come back, as systemd starts the
 * units berth enabled: every service with a definition is started (one that fails is left to its log).
 */
export function startServicesAtBoot(layout: ServiceLayout = defaultLayout): string {
  const p = servicePaths('x', layout);
  return `if [ -f ${shellQuote(p.supervisor)} ]; then for f in ${shellQuote(p.servicesDir)}/*.run; do [ -f "$f" ] || continue; n=\${f##*/}; sh ${shellQuote(p.supervisor)} start "\${n%.run}" || :; done; fi`;
}

/** Exits 0 when the service is running. */
export function serviceStatus(name: string, layout: ServiceLayout = defaultLayout): string {
  checkName(name);
  return either(layout, name, `systemctl is-active --quiet ${shellQuote(name)}`, 'status');
}

/**
 * Stops the service and deletes its unit, run file, log and pid file; the shared supervisor script goes
 * when no berth service is left.
 */
export function removeService(name: string, layout: ServiceLayout = defaultLayout): string[] {
  checkName(name);
  const p = servicePaths(name, layout);
  const n = shellQuote(name);
  const unit = shellQuote(p.unitFile);
  return [
    // Going for good, every process of the service goes with it whatever its KillMode: systemd then
    // waits for all of them and removes the service's cgroups, which no one would once it is unloaded.
    `if [ -d ${shellQuote(p.systemdMarker)} ] && grep -qx 'KillMode=process' ${unit} 2>/dev/null; then sed -i 's/^KillMode=process$/KillMode=control-group/' ${unit} && systemctl daemon-reload; fi`,
    stopService(name, layout),
    `if [ -f ${unit} ]; then systemctl disable ${n} 2>/dev/null || :; rm -f ${unit}; systemctl daemon-reload 2>/dev/null || :; fi`,
    `rm -f ${shellQuote(p.runFile)} ${shellQuote(p.logFile)} ${shellQuote(p.pidFile)}`,
    `if [ -z "$(ls -A ${shellQuote(p.servicesDir)} 2>/dev/null)" ]; then rm -f ${shellQuote(p.supervisor)}; rmdir ${shellQuote(p.servicesDir)} ${shellQuote(dirname(p.supervisor))} ${shellQuote(dirname(p.logFile))} ${shellQuote(dirname(p.pidFile))} 2>/dev/null || :; fi`,
  ];
}

function dirname(path: string): string {
  return path.slice(0, path.lastIndexOf('/'));
}

/** A here-document that writes `content` to `path` without expanding anything inside it. */
export function writeFileCommand(path: string, content: string, mode?: number): string {
  let tag = 'BERTH_EOF';
  while (content.includes(tag)) tag += '_';
  const body = content.endsWith('\n') ? content : `${content}\n`;
  const chmod = mode === undefined ? '' : ` && chmod ${mode.toString(8)} ${shellQuote(path)}`;
  return `mkdir -p ${shellQuote(dirOf(path))} && cat > ${shellQuote(path)} <<'${tag}'${chmod}\n${body}${tag}`;
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}
