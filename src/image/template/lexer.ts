// Tokenizer for Go text/template source, following the rules of Go's text/template/parse lexer: `{{`/`}}`
// delimiters, `{{- ` and ` -}}` trim markers (the marker needs the adjacent space, so `{{-3}}` is the
// number -3), comments only directly inside the delimiters, and newlines allowed inside actions.

export class TemplateError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

export type TokenType =
  | 'text'
  | 'leftDelim'
  | 'rightDelim'
  | 'space'
  | 'field'
  | 'variable'
  | 'dot'
  | 'identifier'
  | 'keyword'
  | 'bool'
  | 'number'
  | 'charConstant'
  | 'string'
  | 'rawString'
  | 'char'
  | 'pipe'
  | 'leftParen'
  | 'rightParen'
  | 'declare'
  | 'assign'
  | 'eof';

export interface Token {
  type: TokenType;
  value: string;
  line: number;
}

const keywords = new Set([
  'block',
  'break',
  'continue',
  'define',
  'else',
  'end',
  'if',
  'range',
  'nil',
  'template',
  'with',
]);

const spaceChars = ' \t\r\n';

function isSpace(c: string | undefined): boolean {
  return c !== undefined && c !== '' && spaceChars.includes(c);
}

function isAlphaNumeric(c: string | undefined): boolean {
  return c !== undefined && /^[\p{L}\p{Nd}_]$/u.test(c);
}

function rightTrimLength(s: string): number {
  return s.length - s.replace(/[ \t\r\n]+$/, '').length;
}

function leftTrimLength(s: string): number {
  return s.length - s.replace(/^[ \t\r\n]+/, '').length;
}

export function lex(input: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let line = 1;
  const lineAt = (p: number): number => {
    let n = line;
    for (let i = lastLinePos; i < p; i++) if (input[i] === '\n') n++;
    return n;
  };
  let lastLinePos = 0;
  const advanceLine = (p: number): void => {
    line = lineAt(p);
    lastLinePos = p;
  };
  const emit = (type: TokenType, start: number, end: number): void => {
    advanceLine(start);
    tokens.push({ type, value: input.slice(start, end), line });
  };
  const fail = (at: number, message: string): never => {
    advanceLine(at);
    throw new TemplateError(line, message);
  };
  const atRightDelim = (p: number): { delim: boolean; trim: boolean } => {
    if (isSpace(input[p]) && input[p + 1] === '-' && input.startsWith('}}', p + 2)) {
      return { delim: true, trim: true };
    }
    return { delim: input.startsWith('}}', p), trim: false };
  };
  const atTerminator = (p: number): boolean => {
    const c = input[p];
    if (c === undefined || isSpace(c)) return true;
    if ('.,|:)('.includes(c)) return true;
    return input.startsWith('}}', p);
  };

  while (pos < input.length) {
    // Text up to the next left delimiter.
    const x = input.indexOf('{{', pos);
    if (x < 0) {
      emit('text', pos, input.length);
      pos = input.length;
      break;
    }
    const trimLeft = input[x + 2] === '-' && isSpace(input[x + 3]);
    const textEnd = trimLeft ? x - rightTrimLength(input.slice(pos, x)) : x;
    if (textEnd > pos) emit('text', pos, textEnd);
    pos = x + 2;
    const afterMarker = trimLeft ? 2 : 0;
    if (input.startsWith('/*', pos + afterMarker)) {
      const start = pos + afterMarker + 2;
      const close = input.indexOf('*/', start);
      if (close < 0) fail(x, 'unclosed comment');
      pos = close + 2;
      const rd = atRightDelim(pos);
      if (!rd.delim) fail(pos, 'comment ends before closing delimiter');
      pos += (rd.trim ? 2 : 0) + 2;
      if (rd.trim) pos += leftTrimLength(input.slice(pos));
      continue;
    }
    emit('leftDelim', x, x + 2);
    pos += afterMarker;
    // Inside the action.
    let parenDepth = 0;
    for (;;) {
      const rd = atRightDelim(pos);
      if (rd.delim) {
        if (parenDepth !== 0) fail(pos, 'unclosed left paren');
        if (rd.trim) pos += 2;
        emit('rightDelim', pos, pos + 2);
        pos += 2;
        if (rd.trim) pos += leftTrimLength(input.slice(pos));
        break;
      }
      const start = pos;
      const c = input[pos];
      if (c === undefined) fail(pos, 'unclosed action');
      pos++;
      if (isSpace(c)) {
        while (isSpace(input[pos])) pos++;
        // A run of spaces that ends in " -}}": the last space belongs to the trim marker.
        if (input[pos] === '-' && input.startsWith('}}', pos + 1)) {
          pos--;
          if (pos === start) continue;
        }
        emit('space', start, pos);
      } else if (c === '=') {
        emit('assign', start, pos);
      } else if (c === ':') {
        if (input[pos] !== '=') fail(pos, 'expected :=');
        pos++;
        emit('declare', start, pos);
      } else if (c === '|') {
        emit('pipe', start, pos);
      } else if (c === '"') {
        for (;;) {
          const d = input[pos++];
          if (d === '\\') {
            const e = input[pos];
            if (e === undefined || e === '\n') fail(start, 'unterminated quoted string');
            pos++;
          } else if (d === undefined || d === '\n') {
            fail(start, 'unterminated quoted string');
          } else if (d === '"') break;
        }
        emit('string', start, pos);
      } else if (c === '`') {
        const close = input.indexOf('`', pos);
        if (close < 0) fail(start, 'unterminated raw quoted string');
        pos = close + 1;
        emit('rawString', start, pos);
      } else if (c === '$' || (c === '.' && !/[0-9]/.test(input[pos] ?? ''))) {
        if (atTerminator(pos)) {
          emit(c === '$' ? 'variable' : 'dot', start, pos);
          continue;
        }
        while (isAlphaNumeric(input[pos])) pos++;
        if (!atTerminator(pos)) fail(pos, `bad character ${describeChar(input[pos] as string)}`);
        emit(c === '$' ? 'variable' : 'field', start, pos);
      } else if (c === "'") {
        for (;;) {
          const d = input[pos++];
          if (d === '\\') {
            const e = input[pos];
            if (e === undefined || e === '\n') fail(start, 'unterminated character constant');
            pos++;
          } else if (d === undefined || d === '\n') {
            fail(start, 'unterminated character constant');
          } else if (d === "'") break;
        }
        emit('charConstant', start, pos);
      } else if (c === '.' || c === '+' || c === '-' || /[0-9]/.test(c)) {
        pos = start + scanNumber(input.slice(start));
        if (isAlphaNumeric(input[pos])) fail(start, `bad number syntax: "${input.slice(start, pos + 1)}"`);
        emit('number', start, pos);
      } else if (isAlphaNumeric(c)) {
        while (isAlphaNumeric(input[pos])) pos++;
        if (!atTerminator(pos)) fail(pos, `bad character ${describeChar(input[pos] as string)}`);
        const word = input.slice(start, pos);
        const type: TokenType = keywords.has(word)
          ? 'keyword'
          : word === 'true' || word === 'false'
            ? 'bool'
            : 'identifier';
        emit(type, start, pos);
      } else if (c === '(') {
        parenDepth++;
        emit('leftParen', start, pos);
      } else if (c === ')') {
        parenDepth--;
        if (parenDepth < 0) fail(start, 'unexpected right paren');
        emit('rightParen', start, pos);
      } else if (c.charCodeAt(0) < 0x7f && c.charCodeAt(0) >= 0x20) {
        emit('char', start, pos);
      } else {
        fail(start, `unrecognized character in action: ${describeChar(c)}`);
      }
    }
  }
  advanceLine(input.length);
  tokens.push({ type: 'eof', value: '', line });
  return tokens;
}

function describeChar(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${c}'`;
}

/** Length of the number-like prefix of s, as Go's scanNumber accepts it (sign, base prefix, digits, _, ., exponent). */
function scanNumber(s: string): number {
  let i = 0;
  if (s[i] === '+' || s[i] === '-') i++;
  let digits = '0123456789_';
  if (s[i] === '0' && /[xXoObB]/.test(s[i + 1] ?? '')) {
    const p = (s[i + 1] as string).toLowerCase();
    digits = p === 'x' ? '0123456789abcdefABCDEF_' : p === 'o' ? '01234567_' : '01_';
    i += 2;
  }
  while (i < s.length && digits.includes(s[i] as string)) i++;
  if (s[i] === '.') {
    i++;
    while (i < s.length && digits.includes(s[i] as string)) i++;
  }
  const exp = digits.length > 20 ? 'pP' : 'eEpP';
  if (exp.includes(s[i] ?? '\0')) {
    i++;
    if (s[i] === '+' || s[i] === '-') i++;
    while (i < s.length && '0123456789_'.includes(s[i] as string)) i++;
  }
  if (s[i] === 'i') i++;
  return i;
}
