// WWW-Authenticate parsing (RFC 7235). Quoted parameter values may hold commas — registries put several
// actions in one scope, e.g. scope="repository:a/b:pull,push" — so a split on commas is not enough.

export interface Challenge {
  /** Lower-cased scheme: `basic`, `bearer`. */
  scheme: string;
  params: Record<string, string>;
}

const tokenChar = /[A-Za-z0-9!#$%&'*+.^_`|~-]/;

export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipSpace = () => {
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && tokenChar.test(header[i] as string)) i++;
    return header.slice(start, i);
  };
  const readQuoted = (): string => {
    i++; // opening quote
    let value = '';
    while (i < n && header[i] !== '"') {
      if (header[i] === '\\' && i + 1 < n) i++;
      value += header[i];
      i++;
    }
    i++; // closing quote
    return value;
  };
  let current: Challenge | undefined;
  while (i < n) {
    skipSpace();
    if (header[i] === ',') {
      i++;
      continue;
    }
    const token = readToken();
    if (!token) {
      i++; // not a token character: skip it rather than loop forever on malformed input
      continue;
    }
    skipSpace();
    if (header[i] === '=' && current) {
      i++;
      skipSpace();
      const value = header[i] === '"' ? readQuoted() : readToken();
      current.params[token.toLowerCase()] = value;
    } else {
      current = { scheme: token.toLowerCase(), params: {} };
      out.push(current);
      // A parameter may follow the scheme directly, separated by a space only.
      skipSpace();
    }
  }
  return out;
}
