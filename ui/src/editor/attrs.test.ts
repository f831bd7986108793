import { describe, expect, test } from 'vitest';
import { LoroDoc } from 'loro-crdt';
import { readFileSync } from 'node:fs';
import {
  NOTE_STYLES,
  loroDeltaToQuill,
  loroLineToQuill,
  quillAttrsToLoro,
  quillDeltaToLoro,
  type Attrs,
  type DeltaOp,
} from './attrs';

/** [Loro attributes of a '\n', Quill attributes of the same line]. */
const LINES: Array<[string, Attrs, Attrs]> = [
  ['paragraph', {}, {}],
  ...[1, 2, 3, 4, 5, 6].map((n): [string, Attrs, Attrs] => [`h${n}`, { block: `h${n}` }, { header: n }]),
  ['bullet', { block: 'bullet' }, { list: 'bullet' }],
  ['ordered', { block: 'ordered' }, { list: 'ordered' }],
  ['check', { block: 'check' }, { list: 'unchecked' }],
  ['checked', { block: 'checked' }, { list: 'checked' }],
  ['quote', { block: 'quote' }, { blockquote: true }],
  ['code without lang', { block: 'code_block' }, { 'code-block': 'plain' }],
  ['code with lang', { block: 'code_block', lang: 'rust' }, { 'code-block': 'rust' }],
  ['nested bullet', { block: 'bullet', indent: 2 }, { list: 'bullet', indent: 2 }],
  ['nested task', { block: 'checked', indent: 1 }, { list: 'checked', indent: 1 }],
];

const INLINE: Array<[string, Attrs]> = [
  ['bold', { bold: true }],
  ['italic', { italic: true }],
  ['code', { code: true }],
  ['link', { link: 'https://example.org/a?b=c' }],
  ['all at once', { bold: true, italic: true, code: true, link: 'weft:note/1' }],
];

describe('line formats', () => {
  test.each(LINES)('%s: Loro → Quill', (_name, loro, quill) => {
    expect(loroLineToQuill(loro)).toEqual(quill);
  });

  test.each(LINES)('%s: Quill → Loro', (_name, loro, quill) => {
    expect(quillAttrsToLoro(quill, true)).toEqual(loro);
  });

  test.each(LINES)('%s: round trips both ways', (_name, loro, quill) => {
    expect(quillAttrsToLoro(loroLineToQuill(loro), true)).toEqual(loro);
    expect(loroLineToQuill(quillAttrsToLoro(quill, true))).toEqual(quill);
  });

  test("Quill's plain code block (`true`) and 'plain' are a code block without language", () => {
    expect(quillAttrsToLoro({ 'code-block': true }, true)).toEqual({ block: 'code_block' });
    expect(quillAttrsToLoro({ 'code-block': 'plain' }, true)).toEqual({ block: 'code_block' });
  });

  test('an unknown block value reads as a paragraph, as in note.rs', () => {
    expect(loroLineToQuill({ block: 'table_row' })).toEqual({});
    expect(loroLineToQuill({ block: 'h7' })).toEqual({});
  });

  test('lang and indent mean nothing alone', () => {
    expect(loroLineToQuill({ lang: 'rust' })).toEqual({});
    expect(loroLineToQuill({ indent: 0 })).toEqual({});
  });

  test("indent deeper than Quill's eight levels shows at eight", () => {
    expect(loroLineToQuill({ block: 'bullet', indent: 12 })).toEqual({ list: 'bullet', indent: 8 });
  });

  test('inline marks on a line terminator are dropped (neither side renders them)', () => {
    const q = loroDeltaToQuill([{ insert: 'a\n', attributes: { bold: true, block: 'h1' } }]);
    expect(q).toEqual([
      { insert: 'a', attributes: { bold: true } },
      { insert: '\n', attributes: { header: 1 } },
    ]);
  });
});

describe('inline formats', () => {
  test.each(INLINE)('%s keeps its name and value both ways', (_name, attrs) => {
    expect(loroDeltaToQuill([{ insert: 'x', attributes: attrs }])).toEqual([{ insert: 'x', attributes: attrs }]);
    expect(quillDeltaToLoro([{ insert: 'x', attributes: attrs }])).toEqual([{ insert: 'x', attributes: attrs }]);
  });

  test('line marks on ordinary characters are dropped for Quill', () => {
    expect(loroDeltaToQuill([{ insert: 'ab', attributes: { block: 'h1', bold: true } }])).toEqual([
      { insert: 'ab', attributes: { bold: true } },
    ]);
  });
});

describe('changes (retains)', () => {
  test('null removes a Quill format, mapped to removing the Loro mark', () => {
    expect(quillDeltaToLoro([{ retain: 3, attributes: { bold: null } }])).toEqual([
      { retain: 3, attributes: { bold: null } },
    ]);
    expect(quillDeltaToLoro([{ retain: 3, attributes: { link: null, italic: null, code: null } }])).toEqual([
      { retain: 3, attributes: { link: null, italic: null, code: null } },
    ]);
    expect(quillAttrsToLoro({ header: null }, false)).toEqual({ block: null });
    expect(quillAttrsToLoro({ list: null }, false)).toEqual({ block: null });
    expect(quillAttrsToLoro({ blockquote: null }, false)).toEqual({ block: null });
    expect(quillAttrsToLoro({ indent: null }, false)).toEqual({ indent: null });
  });

  test('leaving a code block also removes its language', () => {
    expect(quillAttrsToLoro({ 'code-block': null }, false)).toEqual({ block: null, lang: null });
    expect(quillAttrsToLoro({ 'code-block': null, header: 2 }, false)).toEqual({ block: 'h2', lang: null });
  });

  test('switching block type: the new type wins over the removed one, in any key order', () => {
    expect(quillAttrsToLoro({ header: null, list: 'bullet' }, false)).toEqual({ block: 'bullet' });
    expect(quillAttrsToLoro({ list: 'ordered', header: null }, false)).toEqual({ block: 'ordered' });
    expect(quillAttrsToLoro({ list: null, 'code-block': 'go' }, false)).toEqual({ block: 'code_block', lang: 'go' });
    // Code block to plain code block: the old language goes.
    expect(quillAttrsToLoro({ 'code-block': 'plain' }, false)).toEqual({ block: 'code_block', lang: null });
  });

  test('false means off, as Quill sometimes reports it', () => {
    expect(quillAttrsToLoro({ bold: false, blockquote: false }, false)).toEqual({ bold: null, block: null });
  });

  test('an insert never carries a null', () => {
    const ops = quillDeltaToLoro([{ insert: '\n', attributes: { 'code-block': 'plain', bold: null } }]);
    expect(ops).toEqual([{ insert: '\n', attributes: { block: 'code_block' } }]);
  });

  test('a Loro block change replaces whatever block format Quill showed', () => {
    expect(loroDeltaToQuill([{ retain: 4 }, { retain: 1, attributes: { block: 'bullet', indent: 2 } }])).toEqual([
      { retain: 4 },
      {
        retain: 1,
        attributes: { header: null, list: 'bullet', blockquote: null, 'code-block': null, indent: 2 },
      },
    ]);
    expect(loroDeltaToQuill([{ retain: 1, attributes: { block: null } }])).toEqual([
      { retain: 1, attributes: { header: null, list: null, blockquote: null, 'code-block': null } },
    ]);
    expect(loroDeltaToQuill([{ retain: 2, attributes: { bold: null } }])).toEqual([
      { retain: 2, attributes: { bold: null } },
    ]);
  });

  test("with the doc's state, a line change becomes each line's full format", () => {
    // The doc after the change: "ab\n" is a python code line, "c\n" a paragraph.
    const state: DeltaOp[] = [
      { insert: 'ab' },
      { insert: '\n', attributes: { block: 'code_block', lang: 'python' } },
      { insert: 'c' },
      { insert: '\n' },
    ];
    const resolve = (s: number, e: number) => slice(state, s, e);
    // A `lang` change alone: only the state says the line is code.
    expect(loroDeltaToQuill([{ retain: 2 }, { retain: 1, attributes: { lang: 'python' } }], resolve)).toEqual([
      { retain: 2 },
      { retain: 1, attributes: { header: null, list: null, blockquote: null, 'code-block': 'python', indent: null } },
    ]);
    // A range mark over text and terminators: text untouched, each '\n' gets its format.
    expect(loroDeltaToQuill([{ retain: 5, attributes: { block: null, italic: true } }], resolve)).toEqual([
      { retain: 2, attributes: { italic: true } },
      { retain: 1, attributes: { header: null, list: null, blockquote: null, 'code-block': 'python', indent: null } },
      { retain: 1, attributes: { italic: true } },
      { retain: 1, attributes: { header: null, list: null, blockquote: null, 'code-block': null, indent: null } },
    ]);
  });
});

describe('soft line breaks', () => {
  test('U+2028 is a softbreak embed in Quill, and back', () => {
    const loro: DeltaOp[] = [{ insert: 'a\u2028b\u2028\u2028c\n' }];
    const quill = loroDeltaToQuill(loro);
    expect(quill).toEqual([
      { insert: 'a' },
      { insert: { softbreak: true } },
      { insert: 'b' },
      { insert: { softbreak: true } },
      { insert: { softbreak: true } },
      { insert: 'c\n' },
    ]);
    expect(quillDeltaToLoro(quill)).toEqual(loro);
  });

  test('a break inside bold text keeps the marks both ways', () => {
    const loro: DeltaOp[] = [{ insert: 'x\u2028y', attributes: { bold: true } }];
    const quill = loroDeltaToQuill(loro);
    expect(quill[1]).toEqual({ insert: { softbreak: true }, attributes: { bold: true } });
    expect(quillDeltaToLoro(quill)).toEqual(loro);
  });
});

describe('unknown marks', () => {
  test('are kept on text and on line terminators, both ways', () => {
    const loro: DeltaOp[] = [
      { insert: 'u', attributes: { underline: true, bold: true } },
      { insert: '\n', attributes: { block: 'h2', align: 'center' } },
    ];
    const quill = loroDeltaToQuill(loro);
    expect(quill).toEqual([
      { insert: 'u', attributes: { underline: true, bold: true } },
      { insert: '\n', attributes: { header: 2, align: 'center' } },
    ]);
    expect(quillDeltaToLoro(quill)).toEqual(loro);
  });

  test('are kept in changes, including their removal', () => {
    expect(quillDeltaToLoro([{ retain: 2, attributes: { strike: true, comment: null } }])).toEqual([
      { retain: 2, attributes: { strike: true, comment: null } },
    ]);
    expect(loroDeltaToQuill([{ retain: 2, attributes: { strike: null } }])).toEqual([
      { retain: 2, attributes: { strike: null } },
    ]);
  });
});

describe('the note encoding\'s mark styles', () => {
  test('are exactly those of note.rs, with the same expand types', () => {
    // The encoding requires every peer to configure every key alike; a key missing here
    // takes Loro's default and spreads where note.rs says it must not.
    const rust = readFileSync(new URL('../../../crates/weft-core/src/note.rs', import.meta.url), 'utf8');
    const table = rust.slice(rust.indexOf('const STYLES'), rust.indexOf('];', rust.indexOf('const STYLES')));
    const fromRust = Object.fromEntries(
      [...table.matchAll(/\("(\w+)", ExpandType::(\w+)\)/g)].map((m) => [m[1], { expand: (m[2] ?? '').toLowerCase() }]),
    );
    expect(Object.keys(fromRust).length).toBeGreaterThan(6);
    expect(NOTE_STYLES).toEqual(fromRust);
  });

  test('an imported line\'s kept source never spreads to text typed on the next line', () => {
    const doc = new LoroDoc();
    doc.configTextStyle(NOTE_STYLES as never);
    const t = doc.getText('body');
    t.insert(0, 'Kept\n');
    t.mark({ start: 4, end: 5 }, 'src', '0123456789abcdef 1 Kept\n');
    t.insert(5, 'typed');
    doc.commit();
    const typed = (t.toDelta() as DeltaOp[]).find((op) => 'insert' in op && op.insert === 'typed');
    expect(typed).toBeDefined();
    expect((typed as { attributes?: Attrs }).attributes?.['src']).toBeUndefined();
  });
});

describe('whole notes through a real Loro text', () => {
  function richNote(): LoroDoc {
    const doc = new LoroDoc();
    doc.configTextStyle(NOTE_STYLES as never);
    const t = doc.getText('body');
    t.insert(0, 'Title\nSome bold and a link 😀\nitem\nsub\nfn main() {\n}\nquote\u2028two\n');
    const at = (s: string) => t.toString().indexOf(s);
    const nl = (s: string) => at(s) + s.length;
    t.mark({ start: nl('Title'), end: nl('Title') + 1 }, 'block', 'h1');
    t.mark({ start: at('bold'), end: at('bold') + 4 }, 'bold', true);
    t.mark({ start: at('link'), end: at('link') + 4 }, 'link', 'https://weft.app');
    t.mark({ start: nl('item'), end: nl('item') + 1 }, 'block', 'bullet');
    t.mark({ start: nl('sub'), end: nl('sub') + 1 }, 'block', 'checked');
    t.mark({ start: nl('sub'), end: nl('sub') + 1 }, 'indent', 1);
    for (const line of ['fn main() {', '\n}']) {
      const p = t.toString().indexOf(line + '\n') + line.length;
      t.mark({ start: p, end: p + 1 }, 'block', 'code_block');
      t.mark({ start: p, end: p + 1 }, 'lang', 'rust');
    }
    t.mark({ start: nl('two'), end: nl('two') + 1 }, 'block', 'quote');
    doc.commit();
    return doc;
  }

  test('Loro → Quill → Loro rebuilds the same note', () => {
    const a = richNote();
    const quill = loroDeltaToQuill(a.getText('body').toDelta() as DeltaOp[]);
    const b = new LoroDoc();
    b.configTextStyle(NOTE_STYLES as never);
    b.getText('body').applyDelta(quillDeltaToLoro(quill) as never);
    expect(b.getText('body').toDelta()).toEqual(a.getText('body').toDelta());
    expect(b.getText('body').toString()).toContain('quote\u2028two');
  });

  test('what Quill receives: one op per line terminator, positions in UTF-16 units', () => {
    const quill = loroDeltaToQuill(richNote().getText('body').toDelta() as DeltaOp[]);
    // The attributes of every line terminator, in order.
    const lines = quill.flatMap((op) =>
      'insert' in op && typeof op.insert === 'string' && op.insert.includes('\n')
        ? [...op.insert].filter((c) => c === '\n').map(() => op.attributes)
        : [],
    );
    expect(quill.every((op) => !('insert' in op) || op.insert === '\n' || !String(op.insert).includes('\n') || !op.attributes)).toBe(true);
    expect(lines).toEqual([
      { header: 1 },
      undefined,
      { list: 'bullet' },
      { list: 'checked', indent: 1 },
      { 'code-block': 'rust' },
      { 'code-block': 'rust' },
      { blockquote: true },
    ]);
    // Same length as the Loro text: an embed (the soft break) counts one, like U+2028.
    const length = quill.reduce((n, op) => n + ('insert' in op ? (typeof op.insert === 'string' ? op.insert.length : 1) : 0), 0);
    expect(length).toBe(richNote().getText('body').length);
    expect(quill).toContainEqual({ insert: { softbreak: true } });
  });
});

/** The part [s, e) of a delta state, as LoroText.sliceDelta returns it. */
function slice(state: DeltaOp[], s: number, e: number): DeltaOp[] {
  const out: DeltaOp[] = [];
  let pos = 0;
  for (const op of state) {
    if (!('insert' in op) || typeof op.insert !== 'string') continue;
    const a = Math.max(s, pos);
    const b = Math.min(e, pos + op.insert.length);
    if (a < b) out.push({ insert: op.insert.slice(a - pos, b - pos), ...(op.attributes ? { attributes: op.attributes } : {}) });
    pos += op.insert.length;
  }
  return out;
}
