import { StringDecoder } from 'node:string_decoder';

/**
 * Lines longer than this are passed on in pieces of this many characters: holding a whole 50 MB line
 * (and re-scanning it as each chunk arrives) cost minutes and a gigabyte per host.
 */
export const maxLineLength = 64 * 1024;

/**
 * Splits a byte stream into lines (without the newline); `end()` passes on an unterminated last line.
 * At most `maxLength` characters are held back: a longer line comes out in pieces.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private rest = '';
  /** The last piece passed on was cut from a longer line, whose newline has not come yet. */
  private cut = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLength = maxLineLength,
  ) {}

  push(chunk: Buffer): void {
    const text = this.rest + this.decoder.write(chunk);
    // The held-back part has no newline: the search starts after it.
    let from = this.rest.length;
    let start = 0;
    for (let nl = text.indexOf('\n', from); nl >= 0; nl = text.indexOf('\n', from)) {
      const line = text.slice(start, nl);
      // the newline right after a cut piece ends that line; it is no empty line of its own
      if (line !== '' || !this.cut) this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
      this.cut = false;
      start = from = nl + 1;
    }
    while (text.length - start >= this.maxLength) {
      let end = start + this.maxLength;
      // never cut between the two halves of a surrogate pair
      if (isHighSurrogate(text.charCodeAt(end - 1))) end--;
      this.onLine(text.slice(start, end));
      this.cut = true;
      start = end;
    }
    this.rest = text.slice(start);
  }

  end(): void {
    const last = this.rest + this.decoder.end();
    this.rest = '';
    this.cut = false;
    if (last !== '') this.onLine(last);
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
