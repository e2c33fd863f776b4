// Under a Type=notify unit k3s reports READY=1 once it serves. Node has no unix datagram sockets, so the
// message goes through systemd-notify, sent on behalf of this process's PID.
import { spawn } from 'node:child_process';

export function notifySystemd(): void {
  if (!process.env.NOTIFY_SOCKET) return;
  const child = spawn('systemd-notify', ['--ready', `--pid=${process.pid}`], { stdio: 'ignore' });
  child.on('error', () => undefined);
}
