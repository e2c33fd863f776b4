// k0s's status socket (<run-dir>/status.sock): the running k0s answers GET /status with what `k0s status`
// prints, and `token create`, `reset` and `status` use it to learn whether (and as what) k0s runs.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
// aliased: the bundle hoists every module's node:https imports beside these
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { dirname } from 'node:path';

export interface K0sStatus {
  Version: string;
  Pid: number;
  PPid: number;
  Role: string;
  SysInit: string;
  StubFile: string;
  Workloads: boolean;
  SingleNode: boolean;
  DataDir: string;
  /** The kube-api probe (controllers with workloads and workers). */
  WorkerToAPIConnectionStatus?: { Success: boolean; Message: string };
}

export async function serveStatus(path: string, status: () => K0sStatus): Promise<Server> {
  mkdirSync(dirname(path), { recursive: true });
  rmSync(path, { force: true });
  const server = createHttpServer((req, res) => {
    if (req.url !== '/status') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(status()));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return server;
}

export class StatusError extends Error {}

/** What the running k0s says of itself; StatusError (k0s's wording) when nothing answers. */
export function readStatus(path: string): Promise<K0sStatus> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath: path, path: '/status', timeout: 5_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => {
        try {
          resolve(JSON.parse(text) as K0sStatus);
        } catch (e) {
          reject(new StatusError(`status: can't get "status" via "${path}": ${(e as Error).message}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) =>
      reject(
        new StatusError(
          `status: can't get "status" via "${path}": Get "http://localhost/status": dial unix ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'connect: no such file or directory' : e.message}`,
        ),
      ),
    );
    req.end();
  });
}
