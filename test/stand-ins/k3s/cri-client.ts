// The CRI calls k3s itself makes to its containerd (runtime.v1 over gRPC on the unix socket): Version to wait for
// the CRI plugin, ImageStatus and PullImage for the pre-pull lists in agent/images and for pods' images. The messages are one or two
// string fields deep, so they are encoded by hand rather than through a protobuf library.
import { connect as connectHttp2 } from 'node:http2';
import { connect as connectUnix } from 'node:net';

export class CriError extends Error {}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** A length-delimited protobuf field (wire type 2): strings and nested messages. */
function lengthField(no: number, payload: Buffer): Buffer {
  return Buffer.concat([varint((no << 3) | 2), varint(payload.length), payload]);
}

const stringField = (no: number, s: string) => lengthField(no, Buffer.from(s, 'utf8'));

/** The length-delimited fields of a message by number; other wire types are skipped. */
function lengthFields(buf: Buffer): Map<number, Buffer[]> {
  const out = new Map<number, Buffer[]>();
  let i = 0;
  const readVarint = () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (i >= buf.length) throw new CriError('truncated protobuf message');
      const b = buf[i++];
      v += (b & 0x7f) * mul;
      if (!(b & 0x80)) return v;
      mul *= 128;
    }
  };
  while (i < buf.length) {
    const key = readVarint();
    const wire = key & 7;
    if (wire === 0) readVarint();
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else if (wire === 2) {
      const len = readVarint();
      const list = out.get(key >>> 3) ?? [];
      list.push(buf.subarray(i, i + len));
      out.set(key >>> 3, list);
      i += len;
    } else throw new CriError(`unsupported protobuf wire type ${wire}`);
  }
  return out;
}

const firstString = (fields: Map<number, Buffer[]>, no: number) =>
  fields.get(no)?.[0]?.toString('utf8') ?? '';

/** One unary gRPC call on a unix socket; rejects with the gRPC status message on a non-OK status. */
export function criCall(socket: string, method: string, request: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const session = connectHttp2('http://localhost', { createConnection: () => connectUnix(socket) });
    let settled = false;
    const finish = (err: Error | undefined, body?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      if (err) reject(err);
      else resolve(body ?? Buffer.alloc(0));
    };
    const timer = setTimeout(
      () => finish(new CriError(`${method}: no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    session.on('error', (e) => finish(e));
    const stream = session.request({
      ':method': 'POST',
      ':path': method,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let status: string | undefined;
    let message = '';
    const noteStatus = (h: Record<string, unknown>) => {
      if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) message = decodeURIComponent(String(h['grpc-message']));
    };
    const chunks: Buffer[] = [];
    stream.on('response', (h) => noteStatus(h));
    stream.on('trailers', (h) => noteStatus(h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', (e) => finish(e));
    stream.on('end', () => {
      if (status !== '0') return finish(new CriError(`${method}: ${message || `gRPC status ${status}`}`));
      const frame = Buffer.concat(chunks);
      if (frame.length < 5) return finish(new CriError(`${method}: empty gRPC response`));
      finish(undefined, frame.subarray(5, 5 + frame.readUInt32BE(1)));
    });
    const header = Buffer.alloc(5);
    header.writeUInt32BE(request.length, 1);
    stream.end(Buffer.concat([header, request]));
  });
}

export interface CriVersion {
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

export async function criVersion(socket: string, timeoutMs = 3_000): Promise<CriVersion> {
  const body = await criCall(
    socket,
    '/runtime.v1.RuntimeService/Version',
    stringField(1, '0.1.0'),
    timeoutMs,
  );
  const f = lengthFields(body);
  return {
    runtimeName: firstString(f, 2),
    runtimeVersion: firstString(f, 3),
    runtimeApiVersion: firstString(f, 4),
  };
}

/** The image's id when the CRI image store has it, else undefined. */
export async function criImageStatus(
  socket: string,
  image: string,
  timeoutMs = 10_000,
): Promise<string | undefined> {
  const body = await criCall(
    socket,
    '/runtime.v1.ImageService/ImageStatus',
    lengthField(1, stringField(1, image)),
    timeoutMs,
  );
  const found = lengthFields(body).get(1)?.[0];
  return found ? firstString(lengthFields(found), 1) : undefined;
}

/** Pulls as the kubelet does, so containerd applies the CRI registry config (certs.d hosts and auth). */
export async function criPullImage(socket: string, image: string, timeoutMs = 120_000): Promise<string> {
  const body = await criCall(
    socket,
    '/runtime.v1.ImageService/PullImage',
    lengthField(1, stringField(1, image)),
    timeoutMs,
  );
  return firstString(lengthFields(body), 1);
}

/** The image's repo digest (`name@sha256:...`, what the kubelet reports as imageID), else its id. */
export async function criImageDigest(socket: string, image: string, timeoutMs = 10_000): Promise<string> {
  const body = await criCall(
    socket,
    '/runtime.v1.ImageService/ImageStatus',
    lengthField(1, stringField(1, image)),
    timeoutMs,
  );
  const found = lengthFields(body).get(1)?.[0];
  if (!found) throw new CriError(`image ${image} is not in the CRI image store after its pull`);
  const fields = lengthFields(found);
  return firstString(fields, 3) || firstString(fields, 1);
}
