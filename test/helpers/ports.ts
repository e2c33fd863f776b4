// Tests that serve on loopback ask the kernel for a free port, then start a server on it; in between,
// another process (another developer's tests share the machine) may take it. onFreePort starts again on a
// new port when that happened, so a taken port never fails a test.
import { createServer } from 'node:net';

/** A port nothing listened on a moment ago. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const port = (srv.address() as { port: number }).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** An error a server's start threw because its port was taken. */
export class PortInUseError extends Error {
  constructor(port: number, detail: string) {
    super(`127.0.0.1:${port} is in use: ${detail}`);
  }
}

/** Text a server prints when it cannot bind its port (Go's net, OpenSSH, Node). */
export function saysPortInUse(text: string): boolean {
  return /address already in use|EADDRINUSE/i.test(text);
}

/** `start(port)` on a free port, on another one (at most 5 tries) while it throws PortInUseError. */
export async function onFreePort<T>(start: (port: number) => Promise<T>): Promise<T> {
  let last: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      return await start(await freePort());
    } catch (err) {
      if (!(err instanceof PortInUseError) && (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      last = err;
    }
  }
  throw last;
}
