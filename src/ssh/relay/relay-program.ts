// The program each host runs to take part in a relay chain. It receives the rootfs stream (from its SSH
// stdin on the first host, from one TCP connection of the previous host on the others), forwards every
// chunk to the next host as it arrives, writes it to stdout for the local unpack, and checks the whole
// stream's length and sha256 at the end. Forwarding goes on when the local unpack fails, so one bad host
// does not starve the hosts after it.
//
// Plain sh cannot listen on a TCP port, so the listener is Python 3 (stdlib only): present on most
// servers; a host without it gets the rootfs directly over SSH instead.
//
// Protocol: it binds an ephemeral port and prints `berth-relay-port N` on stderr, then reads one control
// line from stdin: `FROM NEXT_IP NEXT_PORT`, or `FROM -` on the last host. FROM `-` means the stream
// follows on stdin (the first host); otherwise it is the previous host's address, the only one whose
// connection is accepted. Because every host starts the same way, berth can start them all at once and
// build the chain from those that came up. Exit 75 means the stream did not arrive whole (a transport
// problem, worth a direct copy; the receiver also ends with it when the host's existing tree changed
// under it, see reuse-program.ts); 0 means it arrived whole with the expected length and sha256.

/** Exit status of the relay and the receiver when the tree did not arrive whole: a direct copy may still work. */
export const RELAY_STREAM_FAILED = 75;

export const PORT_LINE = /^berth-relay-port (\d+)$/;
export const NEXT_UNREACHABLE = 'berth-relay: cannot reach the next host';

export const relayProgram = `
import hashlib, os, socket, sys, time
fam, want, size, acc, idle = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
def say(m):
    sys.stderr.write('berth-relay: ' + m + '\\n'); sys.stderr.flush()
def fail(m):
    say(m); sys.exit(${RELAY_STREAM_FAILED})
srv = socket.socket(socket.AF_INET6 if fam == '6' else socket.AF_INET, socket.SOCK_STREAM)
srv.bind(('', 0)); srv.listen(8)
sys.stderr.write('berth-relay-port %d\\n' % srv.getsockname()[1]); sys.stderr.flush()
inp = sys.stdin.buffer
ctl = [w.decode() for w in inp.readline().split()]
if not ctl: fail('no control line from berth')
peer = ctl[0] if ctl[0] != '-' else 'berth'
out = None
if len(ctl) == 3:
    nxt = ctl[1]
    try:
        out = socket.create_connection((nxt, int(ctl[2])), acc)
        out.settimeout(idle)
    except OSError as e:
        sys.stderr.write('${NEXT_UNREACHABLE} %s: %s\\n' % (nxt, e)); sys.stderr.flush()
if ctl[0] != '-':
    end = time.time() + acc
    while True:
        left = end - time.time()
        if left <= 0: fail('no connection from %s within %d s' % (peer, acc))
        srv.settimeout(left)
        try: conn, addr = srv.accept()
        except socket.timeout: fail('no connection from %s within %d s' % (peer, acc))
        a = addr[0][7:] if addr[0].startswith('::ffff:') else addr[0]
        if a == peer: break
        conn.close()
    srv.close()
    conn.settimeout(idle)
    def read():
        try: return conn.recv(1 << 17)
        except socket.timeout: fail('no data from %s for %d s' % (peer, idle))
        except OSError as e: fail('receiving from %s: %s' % (peer, e))
else:
    srv.close()
    def read(): return inp.read1(1 << 17)
h = hashlib.sha256(); n = 0; local = True
while True:
    b = read()
    if not b: break
    h.update(b); n += len(b)
    if out is not None:
        try: out.sendall(b)
        except OSError as e:
            sys.stderr.write('${NEXT_UNREACHABLE} %s: %s\\n' % (nxt, e)); sys.stderr.flush(); out.close(); out = None
    if local:
        try:
            v = memoryview(b)
            while v: v = v[os.write(1, v):]
        except OSError: local = False
if out is not None:
    try: out.shutdown(socket.SHUT_WR); out.close()
    except OSError: pass
os.close(1)
if n != size: fail('stream from %s cut short: %d of %d bytes' % (peer, n, size))
if h.hexdigest() != want: fail('stream from %s has sha256 %s, expected %s' % (peer, h.hexdigest(), want))
`;
