import { InputError } from '../../util/errors.js';

// A Kubefile is a Dockerfile dialect with no RUN: berth never starts containers while building, so
// everything an image needs at install time goes into hook scripts it carries. Lines are joined as
// buildah joins them: a backslash at the end of a line (spaces after it allowed) is removed and the next
// line appended as it is, whitespace on both sides kept; blank and comment lines inside a continued
// instruction are skipped.

export interface Instruction {
  /** 1-based line where the instruction starts. */
  line: number;
  keyword: string;
  /** `--name=value` flags before the arguments. */
  flags: Record<string, string>;
  /** The argument text after the keyword and flags, continuation lines joined, trimmed. */
  text: string;
  /** Arguments given in JSON array form, when they were. */
  json?: string[];
}

export const supportedInstructions = [
  'FROM',
  'COPY',
  'ADD',
  'ENV',
  'ARG',
  'LABEL',
  'CMD',
  'ENTRYPOINT',
  'WORKDIR',
  'USER',
  'EXPOSE',
  'VOLUME',
  'STOPSIGNAL',
  'MAINTAINER',
];

/** Instructions buildah accepts but cannot store in an OCI image, with what berth says about them. */
const refused: Record<string, string> = {
  RUN: 'RUN is not supported: berth runs no containers at build time; put the commands in a hook script (scripts/*.sh) that runs at install time',
  HEALTHCHECK:
    'HEALTHCHECK is not supported: the OCI image format has no field for it (buildah drops it with a warning) and a cluster image never runs as a container; remove it',
  ONBUILD:
    'ONBUILD is not supported: the OCI image format has no field for it (buildah drops it with a warning); put the instruction into the Kubefiles that build on this image',
  SHELL:
    'SHELL is not supported: the OCI image format has no field for it and berth runs no shell at build time; remove it',
};

/** A Kubefile larger than this is not a Kubefile; reading it whole would only waste memory. */
export const maxKubefileBytes = 1 << 20;

/** Prints untrusted text as a short escaped excerpt, never raw bytes that a terminal would interpret. */
export function excerpt(text: string, max = 40): string {
  const chars = [...text];
  const shown = chars
    .slice(0, max)
    .map((c) => {
      const code = c.codePointAt(0) as number;
      if (c === '"' || c === '\\') return `\\${c}`;
      if (code >= 0x20 && code < 0x7f) return c;
      return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
    })
    .join('');
  return `"${shown}"${chars.length > max ? '...' : ''}`;
}

/** Rejects files that are not text (NUL or other control bytes) before their lines are shown anywhere. */
export function checkKubefileText(bytes: Buffer, file: string): string {
  if (bytes.length > maxKubefileBytes)
    throw new InputError(
      `${file}: ${bytes.length} bytes is too large for a Kubefile (at most ${maxKubefileBytes}); is -f the right file?`,
    );
  const text = bytes.toString('utf8');
  if (/[\0-\x08\x0e-\x1f\x7f\ufffd]/.test(text))
    throw new InputError(
      `${file}: not a text Kubefile (control or non-UTF-8 bytes; it starts ${excerpt(text, 16)}); is -f the right file?`,
    );
  return text;
}

const continuation = /\\[ \t]*$/;
const isBlankOrComment = (line: string) => /^\s*(#.*)?$/.test(line);

/** The `--name=value` flags at the start of an instruction's arguments, and the rest. */
function splitFlags(rest: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let m = /^--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?(?:\s+|$)/.exec(rest);
  while (m) {
    flags[(m[1] as string).toLowerCase()] = m[2] ?? '';
    rest = rest.slice(m[0].length);
    m = /^--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?(?:\s+|$)/.exec(rest);
  }
  return { flags, rest };
}

export function parseKubefile(source: string, file: string): Instruction[] {
  // A byte-order mark before the first instruction is dropped, as buildah drops it.
  const lines = source.replace(/^\ufeff/, '').split(/\r?\n/);
  const out: Instruction[] = [];
  let i = 0;
  while (i < lines.length) {
    const start = i;
    let text = (lines[i] ?? '').replace(/^\s+/, '');
    i++;
    if (isBlankOrComment(text)) continue;
    while (continuation.test(text)) {
      text = text.replace(continuation, '');
      while (i < lines.length && isBlankOrComment(lines[i] ?? '')) i++;
      if (i >= lines.length) break;
      text += lines[i];
      i++;
    }
    text = text.trim();
    // a lone backslash continued only by comments or blank lines is no instruction at all
    if (text === '') continue;
    const m = /^(\S+)\s*(.*)$/s.exec(text) as RegExpExecArray;
    const keyword = (m[1] as string).toUpperCase();
    const at = `${file}:${start + 1}`;
    const why = refused[keyword];
    if (why) throw new InputError(`${at}: ${why}`);
    if (!supportedInstructions.includes(keyword)) {
      throw new InputError(
        `${at}: unknown instruction ${excerpt(m[1] as string)} (supported: ${supportedInstructions.join(', ')})`,
      );
    }
    const { flags, rest } = splitFlags((m[2] as string).trim());
    const ins: Instruction = { line: start + 1, keyword, flags, text: rest.trim() };
    if (ins.text.startsWith('[')) {
      try {
        const parsed = JSON.parse(ins.text) as unknown;
        if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) ins.json = parsed;
      } catch {
        // Not JSON: buildah takes it as the shell form, and so does berth.
      }
    }
    if (ins.text === '' && keyword !== 'CMD' && keyword !== 'ENTRYPOINT') {
      throw new InputError(`${at}: ${keyword} needs arguments`);
    }
    out.push(ins);
  }
  return out;
}
