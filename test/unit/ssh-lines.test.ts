import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineSplitter, maxLineLength } from '../../src/ssh/lines.js';

function split(chunks: Buffer[], maxLength?: number): string[] {
  const out: string[] = [];
  const s = new LineSplitter((l) => out.push(l), maxLength);
  for (const c of chunks) s.push(c);
  s.end();
  return out;
}

test('lines split across chunks, CR LF ends, and an unterminated last line', () => {
  const text = Buffer.from('one\r\ntw€o\nthree\n\nlast');
  // one byte at a time, so that the euro sign arrives in three pieces
  const bytes = [...text].map((b) => Buffer.from([b]));
  assert.deepEqual(split(bytes), ['one', 'tw€o', 'three', '', 'last']);
  assert.deepEqual(split([text]), ['one', 'tw€o', 'three', '', 'last']);
});

test('one 50 MB line comes out in bounded pieces while it streams, none held back beyond the bound', () => {
  const total = 50 * 1024 * 1024;
  const chunk = Buffer.alloc(32 * 1024, 'x');
  let emitted = 0;
  let pieces = 0;
  let longest = 0;
  let mostHeld = 0;
  const s = new LineSplitter((l) => {
    emitted += l.length;
    pieces++;
    longest = Math.max(longest, l.length);
  });
  for (let pushed = chunk.length; pushed <= total; pushed += chunk.length) {
    s.push(chunk);
    mostHeld = Math.max(mostHeld, pushed - emitted);
  }
  s.push(Buffer.from('\nafter\n'));
  s.end();
  assert.ok(mostHeld < maxLineLength, `held back up to ${mostHeld} characters`);
  assert.equal(longest, maxLineLength);
  assert.equal(emitted, total + 'after'.length);
  assert.equal(pieces, Math.ceil(total / maxLineLength) + 1);
});

test('a piece never ends between the halves of a surrogate pair', () => {
  const line = `${'a'.repeat(3)}😀${'b'.repeat(3)}`;
  const out = split([Buffer.from(line)], 4);
  assert.deepEqual(out, ['aaa', '😀bb', 'b']);
  assert.equal(out.join(''), line);
});
