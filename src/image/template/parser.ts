// Parser for Go text/template, building the same tree shape as Go's text/template/parse: lists of text and
// actions, if/with/range with optional else lists (`else if` / `else with` nest as in Go), pipelines with
// declarations, and commands whose operands are fields, variables, functions, literals or sub-pipelines.

import { lex, TemplateError, type Token } from './lexer.js';
import { GoFloat, type Value } from './values.js';

export type Operand =
  | { kind: 'field'; line: number; idents: string[] }
  | { kind: 'variable'; line: number; name: string; idents: string[] }
  | { kind: 'chain'; line: number; node: Operand; idents: string[] }
  | { kind: 'identifier'; line: number; name: string }
  | { kind: 'dot'; line: number }
  | { kind: 'nil'; line: number }
  | { kind: 'bool'; line: number; value: boolean }
  | { kind: 'number'; line: number; text: string; value: Value; isInt: boolean }
  | { kind: 'string'; line: number; value: string }
  | { kind: 'pipe'; line: number; pipe: Pipe };

export interface Command {
  line: number;
  args: Operand[];
}

export interface Pipe {
  line: number;
  isAssign: boolean;
  decl: string[];
  cmds: Command[];
}

export interface ControlNode {
  kind: 'if' | 'with' | 'range';
  line: number;
  pipe: Pipe;
  list: TemplateNode[];
  elseList?: TemplateNode[];
}

export type TemplateNode =
  | { kind: 'text'; text: string }
  | { kind: 'action'; line: number; pipe: Pipe }
  | ControlNode
  | { kind: 'break' | 'continue'; line: number }
  /** `{{template "name" pipeline}}` (and the call half of `{{block}}`). */
  | { kind: 'template'; line: number; name: string; pipe?: Pipe };

/** A parsed template: its own nodes and the templates it `define`s (or `block`s) by name. */
export interface TemplateSet {
  root: TemplateNode[];
  defines: Map<string, TemplateNode[]>;
}

type Terminator = { kind: 'end' | 'else'; line: number };

export function parse(input: string, hasFunction: (name: string) => boolean): TemplateNode[] {
  return new Parser(lex(input), hasFunction, false).parseRoot();
}

/** Parses text that may `define` templates, as Go's Template.Parse does for a set of templates. */
export function parseSet(input: string, hasFunction: (name: string) => boolean): TemplateSet {
  const parser = new Parser(lex(input), hasFunction, true);
  return { root: parser.parseRoot(), defines: parser.defines };
}

class Parser {
  private pos = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;
  readonly defines = new Map<string, TemplateNode[]>();

  constructor(
    private readonly tokens: Token[],
    private readonly hasFunction: (name: string) => boolean,
    /** Cluster-image templates are single files; only template sets (helm charts) define and call others. */
    private readonly allowDefines: boolean,
  ) {}

  private current: Token = { type: 'eof', value: '', line: 1 };

  private next(): Token {
    const t = this.tokens[this.pos] as Token;
    if (this.pos < this.tokens.length - 1) this.pos++;
    this.current = t;
    return t;
  }

  private backup(n = 1): void {
    this.pos -= n;
  }

  private peek(): Token {
    return this.tokens[this.pos] as Token;
  }

  private nextNonSpace(): Token {
    let t = this.next();
    while (t.type === 'space') t = this.next();
    return t;
  }

  private peekNonSpace(): Token {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  private error(message: string, line = this.current.line): never {
    throw new TemplateError(line, message);
  }

  private unexpected(t: Token, context: string): never {
    const shown = t.type === 'eof' ? 'EOF' : t.type === 'rightDelim' ? '"}}"' : `"${t.value}"`;
    this.error(`unexpected ${shown} in ${context}`, t.line);
  }

  private expect(type: Token['type'], context: string): Token {
    const t = this.nextNonSpace();
    if (t.type !== type) this.unexpected(t, context);
    return t;
  }

  parseRoot(): TemplateNode[] {
    const root: TemplateNode[] = [];
    while (this.peek().type !== 'eof') {
      const n = this.textOrAction();
      if (isTerminator(n)) this.error(`unexpected {{${n.kind}}}`, n.line);
      root.push(n);
    }
    return root;
  }

  private itemList(): { list: TemplateNode[]; next: Terminator } {
    const list: TemplateNode[] = [];
    while (this.peekNonSpace().type !== 'eof') {
      const n = this.textOrAction();
      if (isTerminator(n)) return { list, next: n };
      list.push(n);
    }
    return this.error('unexpected EOF');
  }

  private textOrAction(): TemplateNode | Terminator {
    const t = this.nextNonSpace();
    if (t.type === 'text') return { kind: 'text', text: t.value };
    if (t.type === 'leftDelim') return this.action();
    return this.unexpected(t, 'input');
  }

  private action(): TemplateNode | Terminator {
    const t = this.nextNonSpace();
    if (t.type === 'keyword') {
      switch (t.value) {
        case 'if':
          return this.control('if');
        case 'with':
          return this.control('with');
        case 'range':
          return this.control('range');
        case 'else':
          return this.elseControl(t);
        case 'end':
          this.expect('rightDelim', 'end');
          return { kind: 'end', line: t.line };
        case 'break':
        case 'continue':
          if (this.rangeDepth === 0) this.error(`{{${t.value}}} outside {{range}}`, t.line);
          this.expect('rightDelim', t.value);
          return { kind: t.value, line: t.line };
        case 'define':
        case 'template':
        case 'block':
          if (!this.allowDefines)
            this.error(`{{${t.value}}} is not supported in cluster image templates`, t.line);
          return t.value === 'define' ? this.define() : this.templateCall(t);
      }
    }
    this.backup();
    const line = this.peekNonSpace().line;
    return { kind: 'action', line, pipe: this.pipeline('command', 'rightDelim') };
  }

  private templateName(context: string): string {
    const t = this.nextNonSpace();
    if (t.type !== 'string' && t.type !== 'rawString') this.unexpected(t, context);
    return unquote(t);
  }

  /** `{{define "name"}}...{{end}}`: only at the top level, as Go allows; leaves no text behind. */
  private define(): TemplateNode {
    const name = this.templateName('define clause');
    this.expect('rightDelim', 'define clause');
    const saved = this.vars;
    this.vars = ['$'];
    try {
      const { list, next } = this.itemList();
      if (next.kind !== 'end') this.error('unexpected {{else}} in define clause', next.line);
      this.defines.set(name, list);
    } finally {
      this.vars = saved;
    }
    return { kind: 'text', text: '' };
  }

  /** `{{template "name" [pipeline]}}`, or `{{block "name" pipeline}}default{{end}}` (define + template). */
  private templateCall(t: Token): TemplateNode {
    const context = `${t.value} clause`;
    const name = this.templateName(context);
    let pipe: Pipe | undefined;
    if (this.peekNonSpace().type !== 'rightDelim') pipe = this.pipeline(context, 'rightDelim');
    else this.expect('rightDelim', context);
    if (t.value === 'block') {
      if (!pipe) this.error('missing pipeline in block clause', t.line);
      const saved = this.vars;
      this.vars = ['$'];
      try {
        const { list, next } = this.itemList();
        if (next.kind !== 'end') this.error('unexpected {{else}} in block clause', next.line);
        if (!this.defines.has(name)) this.defines.set(name, list);
      } finally {
        this.vars = saved;
      }
    }
    return { kind: 'template', line: t.line, name, pipe };
  }

  private elseControl(t: Token): Terminator {
    const peek = this.peekNonSpace();
    // "{{else if ...}}" and "{{else with ...}}" leave the keyword pending: the caller nests it.
    if (peek.type === 'keyword' && (peek.value === 'if' || peek.value === 'with')) {
      return { kind: 'else', line: t.line };
    }
    this.expect('rightDelim', 'else');
    return { kind: 'else', line: t.line };
  }

  private control(context: 'if' | 'with' | 'range'): TemplateNode {
    const mark = this.vars.length;
    try {
      const pipe = this.pipeline(context, 'rightDelim');
      if (context === 'range') this.rangeDepth++;
      const { list, next } = this.itemList();
      if (context === 'range') this.rangeDepth--;
      let elseList: TemplateNode[] | undefined;
      if (next.kind === 'else') {
        const peek = this.peek();
        if ((context === 'if' || context === 'with') && peek.type === 'keyword' && peek.value === context) {
          this.next();
          elseList = [this.control(context)];
        } else {
          const rest = this.itemList();
          if (rest.next.kind !== 'end') this.error('expected end; found {{else}}', rest.next.line);
          elseList = rest.list;
        }
      }
      return { kind: context, line: pipe.line, pipe, list, elseList };
    } finally {
      this.vars.length = mark;
    }
  }

  private pipeline(context: string, end: 'rightDelim' | 'rightParen'): Pipe {
    const pipe: Pipe = { line: this.peekNonSpace().line, isAssign: false, decl: [], cmds: [] };
    for (;;) {
      const v = this.peekNonSpace();
      if (v.type !== 'variable') break;
      const variableAt = this.pos;
      this.nextNonSpace();
      const next = this.peekNonSpace();
      if (next.type === 'assign' || next.type === 'declare') {
        pipe.isAssign = next.type === 'assign';
        this.nextNonSpace();
        pipe.decl.push(v.value);
        this.vars.push(v.value);
        break;
      }
      if (next.type === 'char' && next.value === ',') {
        this.nextNonSpace();
        pipe.decl.push(v.value);
        this.vars.push(v.value);
        if (context === 'range' && pipe.decl.length < 2) {
          const after = this.peekNonSpace();
          if (after.type === 'variable' || after.type === 'rightDelim' || after.type === 'rightParen') {
            continue;
          }
          this.error('range can only initialize variables');
        }
        this.error(`too many declarations in ${context}`);
      }
      // Not a declaration: the variable is the first operand.
      this.pos = variableAt;
      break;
    }
    for (;;) {
      const t = this.nextNonSpace();
      if (t.type === end) {
        this.checkPipeline(pipe, context);
        return pipe;
      }
      switch (t.type) {
        case 'bool':
        case 'charConstant':
        case 'dot':
        case 'field':
        case 'identifier':
        case 'number':
        case 'rawString':
        case 'string':
        case 'variable':
        case 'leftParen':
          this.backup();
          pipe.cmds.push(this.command());
          break;
        case 'keyword':
          if (t.value === 'nil') {
            this.backup();
            pipe.cmds.push(this.command());
            break;
          }
          return this.unexpected(t, context);
        default:
          return this.unexpected(t, context);
      }
    }
  }

  private checkPipeline(pipe: Pipe, context: string): void {
    if (pipe.cmds.length === 0) this.error(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, i) => {
      const k = c.args[0]?.kind;
      if (k === 'bool' || k === 'dot' || k === 'nil' || k === 'number' || k === 'string') {
        this.error(`non executable command in pipeline stage ${i + 2}`);
      }
    });
  }

  private command(): Command {
    const cmd: Command = { line: this.peekNonSpace().line, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const t = this.next();
      if (t.type === 'space') continue;
      if (t.type === 'rightDelim' || t.type === 'rightParen') this.backup();
      else if (t.type !== 'pipe') this.unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.error('empty command');
    return cmd;
  }

  private operand(): Operand | undefined {
    const node = this.term();
    if (!node || this.peek().type !== 'field') return node;
    const idents: string[] = [];
    while (this.peek().type === 'field') idents.push(this.next().value.slice(1));
    switch (node.kind) {
      case 'field':
        return { ...node, idents: [...node.idents, ...idents] };
      case 'variable':
        return { ...node, idents: [...node.idents, ...idents] };
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        return this.error(`unexpected . after term "${this.current.value}"`);
      default:
        return { kind: 'chain', line: node.line, node, idents };
    }
  }

  private term(): Operand | undefined {
    const t = this.nextNonSpace();
    const line = t.line;
    switch (t.type) {
      case 'identifier':
        if (!this.hasFunction(t.value)) this.error(`function "${t.value}" not defined`, line);
        return { kind: 'identifier', line, name: t.value };
      case 'dot':
        return { kind: 'dot', line };
      case 'variable': {
        if (!this.vars.includes(t.value)) this.error(`undefined variable "${t.value}"`, line);
        return { kind: 'variable', line, name: t.value, idents: [] };
      }
      case 'field':
        return { kind: 'field', line, idents: [t.value.slice(1)] };
      case 'bool':
        return { kind: 'bool', line, value: t.value === 'true' };
      case 'charConstant':
      case 'number':
        return parseNumber(t);
      case 'leftParen':
        return { kind: 'pipe', line, pipe: this.pipeline('parenthesized pipeline', 'rightParen') };
      case 'string':
        return { kind: 'string', line, value: unquote(t) };
      case 'rawString':
        return { kind: 'string', line, value: t.value.slice(1, -1).replace(/\r/g, '') };
      case 'keyword':
        if (t.value === 'nil') return { kind: 'nil', line };
    }
    this.backup();
    return undefined;
  }
}

function isTerminator(n: TemplateNode | Terminator): n is Terminator {
  return (n.kind === 'end' || n.kind === 'else') && !('pipe' in n);
}

function parseNumber(t: Token): Operand {
  const text = t.value;
  if (t.type === 'charConstant') {
    const s = unquoteChars(text.slice(1, -1), "'", t.line);
    const cps = [...s];
    if (cps.length !== 1) throw new TemplateError(t.line, `malformed character constant: ${text}`);
    return { kind: 'number', line: t.line, text, value: cps[0]?.codePointAt(0) as number, isInt: true };
  }
  const clean = text.replace(/_/g, '');
  const sign = clean.startsWith('-') ? -1 : 1;
  const body = clean.replace(/^[+-]/, '');
  if (/^(0[xX][0-9a-fA-F]+|0[oO]?[0-7]*|0[bB][01]+|[1-9][0-9]*)$/.test(body)) {
    const prefix = body.slice(0, 2).toLowerCase();
    let n: number;
    if (prefix === '0x') n = Number.parseInt(body.slice(2), 16);
    else if (prefix === '0b') n = Number.parseInt(body.slice(2), 2);
    else if (prefix === '0o') n = Number.parseInt(body.slice(2), 8);
    else if (body.length > 1 && body.startsWith('0')) n = Number.parseInt(body.slice(1), 8);
    else n = Number.parseInt(body, 10);
    if (!Number.isSafeInteger(n)) throw new TemplateError(t.line, `${text} overflows int`);
    return { kind: 'number', line: t.line, text, value: sign * n || 0, isInt: true };
  }
  if (/^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(body)) {
    const f = sign * Number.parseFloat(body);
    // Go keeps a float literal with an integral value (1.0, 1e3) usable where an int is expected.
    return { kind: 'number', line: t.line, text, value: new GoFloat(f), isInt: false };
  }
  throw new TemplateError(t.line, `illegal number syntax: "${text}"`);
}

function unquote(t: Token): string {
  return unquoteChars(t.value.slice(1, -1), '"', t.line);
}

/** Go's strconv.Unquote escapes for a double-quoted string or a character constant. */
function unquoteChars(body: string, quote: '"' | "'", line: number): string {
  let out = '';
  const bad = (): never => {
    throw new TemplateError(line, 'invalid syntax');
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = {
      a: '\x07',
      b: '\b',
      f: '\f',
      n: '\n',
      r: '\r',
      t: '\t',
      v: '\v',
      '\\': '\\',
    };
    if (e !== undefined && e in simple) out += simple[e];
    else if (e === quote) out += e;
    else if (e === 'x' || e === 'u' || e === 'U') {
      const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) bad();
      const n = Number.parseInt(hex, 16);
      if (e === 'x') {
        // \xNN is a raw byte in Go; bytes above 0x7f cannot stand alone in a JS string, so they are rejected.
        if (n > 0x7f) throw new TemplateError(line, `\\x${hex} is not valid UTF-8 on its own`);
        out += String.fromCharCode(n);
      } else {
        if (n > 0x10ffff || (n >= 0xd800 && n < 0xe000)) bad();
        out += String.fromCodePoint(n);
      }
      i += len;
    } else if (e !== undefined && /[0-7]/.test(e)) {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct)) bad();
      const n = Number.parseInt(oct, 8);
      if (n > 0x7f) throw new TemplateError(line, `\\${oct} is not valid UTF-8 on its own`);
      out += String.fromCharCode(n);
      i += 2;
    } else bad();
  }
  return out;
}
