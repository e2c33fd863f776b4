// Executes a parsed template the way Go's text/template executes one with Option("missingkey=default"),
// which is how sealos renders cluster-image templates: a missing key is "no value" (printed as <no value>,
// false in if/with, nil when passed to a function taking interface{}), variables are scoped to the
// enclosing if/with/range, and and/or stop at the first argument that decides them.

import { functions, type GoFunc, type ParamType } from './functions.js';
import { TemplateError } from './lexer.js';
import type { Command, ControlNode, Operand, Pipe, TemplateNode } from './parser.js';
import { FuncError, GoMap, goTypeName, isTrue, printAction, sortedKeys, type Value } from './values.js';

const missing: unique symbol = Symbol('missing');
type Final = Value | typeof missing;

class BreakSignal {}
class ContinueSignal {}

export interface ExecuteOptions {
  /** Functions beyond (or instead of) the built-in ones. */
  functions?: ReadonlyMap<string, GoFunc>;
  /** Templates `{{template "name"}}` may call. */
  templates?: ReadonlyMap<string, TemplateNode[]>;
}

/** Nested template calls deeper than this are a loop (Go stops at 100000 too, far later). */
const maxTemplateDepth = 1000;

export function execute(root: TemplateNode[], data: Value, options: ExecuteOptions = {}): string {
  const state = new State(data, options);
  state.walkList(data, root);
  return state.out.join('');
}

class State {
  readonly out: string[] = [];
  private readonly vars: Array<{ name: string; value: Value }>;
  private line = 1;
  private readonly functions: ReadonlyMap<string, GoFunc>;

  constructor(
    data: Value,
    private readonly options: ExecuteOptions,
    private readonly depth = 0,
  ) {
    this.vars = [{ name: '$', value: data }];
    this.functions = options.functions ?? functions;
  }

  private error(message: string): never {
    throw new TemplateError(this.line, message);
  }

  walkList(dot: Value, nodes: TemplateNode[]): void {
    for (const n of nodes) this.walk(dot, n);
  }

  private walk(dot: Value, node: TemplateNode): void {
    if (node.kind === 'text') {
      this.out.push(node.text);
      return;
    }
    this.line = node.line;
    switch (node.kind) {
      case 'action': {
        const v = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.out.push(printAction(v));
        return;
      }
      case 'if':
      case 'with': {
        const mark = this.vars.length;
        const v = this.evalPipeline(dot, node.pipe);
        if (isTrue(v)) this.walkList(node.kind === 'with' ? v : dot, node.list);
        else if (node.elseList) this.walkList(dot, node.elseList);
        this.vars.length = mark;
        return;
      }
      case 'range':
        this.walkRange(dot, node);
        return;
      case 'break':
        throw new BreakSignal();
      case 'continue':
        throw new ContinueSignal();
      case 'template': {
        const body = this.options.templates?.get(node.name);
        if (!body) this.error(`no such template "${node.name}"`);
        if (this.depth >= maxTemplateDepth)
          this.error(`exceeded maximum template depth (${maxTemplateDepth})`);
        const arg = node.pipe ? this.evalPipeline(dot, node.pipe) : undefined;
        // A called template sees only its argument: $ and dot are both that value.
        const inner = new State(arg, this.options, this.depth + 1);
        inner.walkList(arg, body);
        this.out.push(...inner.out);
        return;
      }
    }
  }

  private walkRange(dot: Value, node: ControlNode): void {
    const outer = this.vars.length;
    const v = this.evalPipeline(dot, node.pipe);
    const mark = this.vars.length;
    const decl = node.pipe.decl.length;
    let iterations = 0;
    const one = (index: Value, elem: Value): boolean => {
      iterations++;
      if (decl > 0) (this.vars[this.vars.length - 1] as { value: Value }).value = elem;
      if (decl > 1) (this.vars[this.vars.length - 2] as { value: Value }).value = index;
      try {
        this.walkList(elem, node.list);
      } catch (signal) {
        if (signal instanceof BreakSignal) return false;
        if (!(signal instanceof ContinueSignal)) throw signal;
      } finally {
        this.vars.length = mark;
      }
      return true;
    };
    this.line = node.line;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length && one(i, v[i]); i++);
    } else if (v instanceof GoMap) {
      for (const k of sortedKeys(v)) if (!one(k, v.entries.get(k))) break;
    } else if (typeof v === 'number') {
      if (decl > 1) this.error(`can't use ${v} to iterate over more than one variable`);
      for (let i = 0; i < v && one(i, i); i++);
    } else if (v !== undefined) {
      this.error(`range can't iterate over ${printAction(v)}`);
    }
    if (iterations === 0 && node.elseList) this.walkList(dot, node.elseList);
    this.vars.length = outer;
  }

  private evalPipeline(dot: Value, pipe: Pipe): Value {
    let value: Final = missing;
    for (const cmd of pipe.cmds) value = this.evalCommand(dot, cmd, value);
    const v = value === missing ? undefined : value;
    for (const name of pipe.decl) {
      if (pipe.isAssign) this.setVar(name, v);
      else this.vars.push({ name, value: v });
    }
    return v;
  }

  private setVar(name: string, value: Value): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      const slot = this.vars[i] as { name: string; value: Value };
      if (slot.name === name) {
        slot.value = value;
        return;
      }
    }
    this.error(`undefined variable: ${name}`);
  }

  private varValue(name: string): Value {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      const slot = this.vars[i] as { name: string; value: Value };
      if (slot.name === name) return slot.value;
    }
    return this.error(`undefined variable: ${name}`);
  }

  private notAFunction(args: Operand[], final: Final): void {
    if (args.length > 1 || final !== missing)
      this.error(`can't give argument to non-function ${describe(args[0])}`);
  }

  private evalCommand(dot: Value, cmd: Command, final: Final): Value {
    const first = cmd.args[0] as Operand;
    this.line = first.line;
    switch (first.kind) {
      case 'field':
        return this.evalFieldChain(dot, first.idents, cmd.args, final);
      case 'chain':
        return this.evalFieldChain(this.evalArg(dot, 'any', first.node), first.idents, cmd.args, final);
      case 'identifier':
        return this.evalCall(dot, first.name, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first.pipe);
      case 'variable': {
        const value = this.varValue(first.name);
        if (first.idents.length === 0) {
          this.notAFunction(cmd.args, final);
          return value;
        }
        return this.evalFieldChain(value, first.idents, cmd.args, final);
      }
    }
    this.notAFunction(cmd.args, final);
    switch (first.kind) {
      case 'dot':
        return dot;
      case 'nil':
        return this.error('nil is not a command');
      default:
        return first.value;
    }
  }

  private evalFieldChain(receiver: Value, idents: string[], args: Operand[], final: Final): Value {
    let r = receiver;
    idents.forEach((name, i) => {
      const last = i === idents.length - 1;
      r = this.evalField(name, last ? args : [], last ? final : missing, r);
    });
    return r;
  }

  private evalField(name: string, args: Operand[], final: Final, receiver: Value): Value {
    if (receiver === undefined) return undefined;
    if (receiver instanceof GoMap) {
      if (args.length > 1 || final !== missing) this.error(`${name} is not a method but has arguments`);
      return receiver.entries.get(name);
    }
    return this.error(`can't evaluate field ${name} in type ${goTypeName(receiver)}`);
  }

  private evalCall(dot: Value, name: string, args: Operand[], final: Final): Value {
    const fn = this.functions.get(name) as GoFunc;
    const argNodes = args.slice(1);
    const numIn = argNodes.length + (final === missing ? 0 : 1);
    const numFixed = fn.params.length;
    if (fn.variadic) {
      if (numIn < numFixed)
        this.error(`wrong number of args for ${name}: want at least ${numFixed} got ${numIn}`);
    } else if (numIn !== numFixed) {
      this.error(`wrong number of args for ${name}: want ${numFixed} got ${numIn}`);
    }
    if (name === 'and' || name === 'or') {
      let v: Value;
      for (const node of argNodes) {
        v = this.evalArg(dot, 'any', node);
        if (isTrue(v) === (name === 'or')) return v;
      }
      return final === missing ? v : final;
    }
    const argv = argNodes.map((node, i) =>
      this.evalArg(dot, i < numFixed ? (fn.params[i] as ParamType) : (fn.variadic as ParamType), node),
    );
    if (final !== missing) {
      const type = numIn - 1 < numFixed ? (fn.params[numIn - 1] as ParamType) : (fn.variadic as ParamType);
      argv.push(this.validateType(final, type));
    }
    this.line = (args[0] as Operand).line;
    try {
      return fn.call(argv);
    } catch (err) {
      if (err instanceof FuncError) this.error(`error calling ${name}: ${err.message}`);
      throw err;
    }
  }

  private validateType(v: Value, type: ParamType): Value {
    if (type === 'any') return v;
    if (v === undefined) this.error(`invalid value; expected ${type}`);
    const ok =
      (type === 'string' && typeof v === 'string') ||
      (type === 'int' && typeof v === 'number') ||
      (type === 'bool' && typeof v === 'boolean');
    if (!ok) this.error(`wrong type for value; expected ${type}; got ${goTypeName(v)}`);
    return v;
  }

  private evalArg(dot: Value, type: ParamType, node: Operand): Value {
    this.line = node.line;
    switch (node.kind) {
      case 'dot':
        return this.validateType(dot, type);
      case 'nil':
        if (type === 'any') return undefined;
        return this.error(`cannot assign nil to ${type}`);
      case 'field':
        return this.validateType(this.evalFieldChain(dot, node.idents, [node], missing), type);
      case 'variable': {
        const value = this.varValue(node.name);
        const v = node.idents.length === 0 ? value : this.evalFieldChain(value, node.idents, [node], missing);
        return this.validateType(v, type);
      }
      case 'chain':
        return this.validateType(
          this.evalFieldChain(this.evalArg(dot, 'any', node.node), node.idents, [node], missing),
          type,
        );
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, node.pipe), type);
      case 'identifier':
        return this.validateType(this.evalCall(dot, node.name, [node], missing), type);
    }
    const literalOk =
      type === 'any' ||
      (type === 'bool' && node.kind === 'bool') ||
      (type === 'string' && node.kind === 'string') ||
      (type === 'int' && node.kind === 'number' && node.isInt);
    if (!literalOk) {
      const want = type === 'int' ? 'integer' : type;
      this.error(`expected ${want}; found ${describe(node)}`);
    }
    return node.value;
  }
}

function describe(node: Operand | undefined): string {
  if (!node) return '';
  switch (node.kind) {
    case 'field':
      return `.${node.idents.join('.')}`;
    case 'variable':
      return [node.name, ...node.idents].join('.');
    case 'chain':
      return `(${describe(node.node)}).${node.idents.join('.')}`;
    case 'identifier':
      return node.name;
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return String(node.value);
    case 'number':
      return node.text;
    case 'string':
      return JSON.stringify(node.value);
    case 'pipe':
      return '(pipeline)';
  }
}
