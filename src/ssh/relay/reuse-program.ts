import { RELAY_STREAM_FAILED } from './relay-program.js';

// The program a receiver runs, once the stream is whole, to complete its staged tree with the files the
// stream left out because the host already had them (the stream's REUSE_ENTRY). Each is copied from the
// existing tree into staging, never linked: tar and later writes must not reach the live tree through a
// shared inode. Berth listed the host's files before the stream was built, and the host may have changed
// since (a person editing a file, another berth run): so the sha256 of every copy is computed while it is
// written and compared with the list, and a single mismatch or missing file ends the receiver with the
// relay's transport status, so berth falls back to a direct copy that diffs against what is there now.
// What gets renamed into place is thus exactly the copies that were checked.
//
// Arguments: the existing tree, the staged tree, the list. The copied file takes the listed mode and
// keeps the existing file's mtime, as a direct copy leaves an unchanged file's mtime alone.

export const reuseProgram = `
import hashlib, os, stat, sys
old, new, listing = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3]
def say(m): sys.stderr.write('berth-relay: ' + m + '\\n'); sys.stderr.flush()
def changed(rel, why):
    say('%s in the existing tree %s since berth listed it' % (rel.decode(errors='replace'), why)); sys.exit(${RELAY_STREAM_FAILED})
with open(listing, 'rb') as f: recs = f.read().split(b'\\0')
for rec in recs:
    if not rec: continue
    mode, want, rel = rec.split(b' ', 2)
    try: src = os.open(os.path.join(old, rel), os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as e: changed(rel, 'cannot be read (%s)' % e.strerror)
    st = os.fstat(src)
    if not stat.S_ISREG(st.st_mode): changed(rel, 'is no longer a file')
    dst = os.path.join(new, rel); h = hashlib.sha256()
    try:
        out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        while True:
            b = os.read(src, 1 << 20)
            if not b: break
            h.update(b); v = memoryview(b)
            while v: v = v[os.write(out, v):]
        os.fchmod(out, int(mode, 8)); os.close(out)
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
    except OSError as e:
        say('copying the unchanged %s into staging: %s' % (rel.decode(errors='replace'), e.strerror)); sys.exit(1)
    os.close(src)
    if h.hexdigest().encode() != want: changed(rel, 'has other content')
`;
