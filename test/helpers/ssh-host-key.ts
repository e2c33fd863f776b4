// An ed25519 host key for in-process ssh2 servers. ssh2's generateKeyPairSync strips leading zero bytes of
// the public key, so about 1 key in 256 cannot be parsed back (ssh2 issues 1390, 1513): such a key is
// drawn again, a bounded number of times.
import ssh2 from 'ssh2';

export function sshHostKey(): string {
  for (let i = 0; i < 20; i++) {
    const key = ssh2.utils.generateKeyPairSync('ed25519');
    if (
      !(ssh2.utils.parseKey(key.private) instanceof Error) &&
      !(ssh2.utils.parseKey(key.public) instanceof Error)
    )
      return key.private;
  }
  throw new Error('ssh2 made 20 ed25519 keys in a row that it cannot parse');
}
