// The two attribute vocabularies of a note line, and the mapping between them.
//
// Loro side (the stored encoding, crates/weft-core/src/note.rs module docs): one LoroText
// `body`, Quill-style lines each ending in '\n'; the block type is a mark on the '\n'
// (`block`: h1..h6, bullet, ordered, check, checked, quote, code_block; `indent` integer;
// `lang` string); inline marks `bold`, `italic`, `code`, `link`.
//
// Quill side (Quill 2 formats): `header: 1..6`, `list: bullet|ordered|unchecked|checked`,
// `blockquote: true`, `code-block: lang|'plain'`, `indent: 1..8`; inline formats use the
// same names as Loro.
//
// Both speak Quill deltas with positions in UTF-16 code units (loro-crdt's JS API counts
// UTF-16 too), so only attributes are translated: lengths and positions pass unchanged.
//
// U+2028 (a line break inside a block, Shift+Enter) is the character in Loro and a
// `softbreak` embed in Quill (index.ts renders it as a <br>). Keeping the character in
// Quill would be simpler, but WebKitGTK does not break the line at U+2028 (checked in
// WebKitGTK 2.50 with `white-space: pre-wrap`: it renders as nothing), so "a⏎b" would
// show as "ab". An embed is one position long, like the character, so positions still
// map one to one; only inserted strings are split around it.
//
// Pure: no DOM, no Loro, no Quill at run time, so it is tested in plain node.

/** Attributes of a delta op. In a retain, `null` removes a format. */
export type Attrs = Record<string, unknown>;

/** One op of a Quill-style delta (the shape both Loro and Quill use). */
export type DeltaOp =
  | { insert: string | Record<string, unknown>; attributes?: Attrs }
  | { retain: number | Record<string, unknown>; attributes?: Attrs }
  | { delete: number };

/**
 * Mark keys and how typing at their boundary behaves (note.rs `STYLES`). Loro requires
 * every peer to use one expand type per key, so the editor's doc is configured with
 * exactly these; a key missing here cannot be written by this peer.
 */
export const NOTE_STYLES = {
  bold: { expand: 'after' },
  italic: { expand: 'after' },
  code: { expand: 'none' },
  link: { expand: 'none' },
  wikilink: { expand: 'none' },
  embed: { expand: 'none' },
  raw: { expand: 'none' },
  block: { expand: 'none' },
  indent: { expand: 'none' },
  lang: { expand: 'none' },
  callout: { expand: 'none' },
  fold: { expand: 'none' },
  // A chunk's Markdown source as imported (note.rs "Source kept as written"): it must
  // never spread to text typed beside its line end, or a line typed in the app would
  // carry another chunk's source.
  src: { expand: 'none' },
} as const;

/** Configures a Loro doc with the note's mark styles (idempotent). Type-only use of
 *  loro-crdt, so this module still loads without it. */
export function configureNoteDoc<D extends { configTextStyle(styles: typeof NOTE_STYLES): void }>(doc: D): D {
  doc.configTextStyle(NOTE_STYLES);
  return doc;
}

/** Quill's block formats: a line has at most one of them. */
export const QUILL_BLOCK_KEYS = ['header', 'list', 'blockquote', 'code-block'] as const;

/** The line break inside a block (note.rs). */
export const SOFT_BREAK = '\u2028';
/** Quill's embed for it: `{ insert: { softbreak: true } }`. */
export const SOFT_BREAK_EMBED = 'softbreak';

/** Quill formats the editor registers (its `formats` whitelist). */
export const QUILL_FORMATS = [
  SOFT_BREAK_EMBED,
  'bold',
  'italic',
  'code',
  'link',
  'header',
  'list',
  'blockquote',
  'code-block',
  'indent',
] as const;

/** Quill's indent attributor accepts 1..8 only (formats/indent.js whitelist). */
export const QUILL_MAX_INDENT = 8;

const LORO_LINE_KEYS = new Set(['block', 'indent', 'lang']);
const INLINE_KEYS = new Set(['bold', 'italic', 'code', 'link']);
/** Inline formats whose only meaningful value is `true`: `false` means "off". */
const BOOLEAN_KEYS = new Set(['bold', 'italic', 'code']);

const LIST_TO_QUILL: Record<string, string> = {
  bullet: 'bullet',
  ordered: 'ordered',
  check: 'unchecked',
  checked: 'checked',
};
const LIST_TO_LORO: Record<string, string> = {
  bullet: 'bullet',
  ordered: 'ordered',
  unchecked: 'check',
  checked: 'checked',
};

const PLAIN = 'plain';

function isRemoval(v: unknown): boolean {
  return v === null || v === undefined || v === false;
}

/** Keys neither side interprets: kept as they are in both directions. */
function isForeign(key: string, known: Set<string>): boolean {
  return !known.has(key) && !INLINE_KEYS.has(key);
}

/**
 * The Quill block format of a Loro `block` value (with its line's `lang`), or
 * undefined for a paragraph, which includes unknown `block` values (note.rs reads
 * those as paragraphs too).
 */
export function loroBlockToQuill(block: unknown, lang?: unknown): Attrs | undefined {
  if (typeof block !== 'string') return undefined;
  const h = /^h([1-6])$/.exec(block);
  if (h) return { header: Number(h[1]) };
  const list = LIST_TO_QUILL[block];
  if (list !== undefined) return { list };
  if (block === 'quote') return { blockquote: true };
  if (block === 'code_block') {
    return { 'code-block': typeof lang === 'string' && lang !== '' ? lang : PLAIN };
  }
  return undefined;
}

/** Quill's indent for a Loro `indent` value (absent for 0, clamped to Quill's 1..8). */
function indentToQuill(v: unknown): number | undefined {
  if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
  const n = Math.trunc(v);
  return n >= 1 ? Math.min(n, QUILL_MAX_INDENT) : undefined;
}

/**
 * Full Quill attributes of a '\n' whose Loro attributes are `a` (the whole state, as
 * in `toDelta()`). Inline marks on a '\n' are dropped: neither side renders them.
 */
export function loroLineToQuill(a: Attrs | undefined): Attrs {
  const out: Attrs = {};
  if (!a) return out;
  for (const [k, v] of Object.entries(a)) {
    if (isForeign(k, LORO_LINE_KEYS)) out[k] = v;
  }
  const block = loroBlockToQuill(a['block'], a['lang']);
  if (block) Object.assign(out, block);
  const indent = indentToQuill(a['indent']);
  if (indent !== undefined) out['indent'] = indent;
  return out;
}

/**
 * Quill attributes of text (not '\n') whose Loro attributes are `a`: inline marks as
 * they are; line marks are dropped, as note.rs ignores them on other characters.
 * Works for full states and for retain changes (`null` kept).
 */
export function loroInlineToQuill(a: Attrs | undefined): Attrs {
  const out: Attrs = {};
  if (!a) return out;
  for (const [k, v] of Object.entries(a)) {
    if (!LORO_LINE_KEYS.has(k)) out[k] = v;
  }
  return out;
}

/**
 * A line's complete Quill format as a retain change: the formats it has, and `null`
 * for every other line format so that whatever Quill showed before is replaced.
 */
export function loroLineToQuillChange(a: Attrs | undefined): Attrs {
  const out: Attrs = { header: null, list: null, blockquote: null, 'code-block': null, indent: null };
  return Object.assign(out, loroLineToQuill(a));
}

/**
 * Loro attributes for Quill attributes `q`: of an insert (`forInsert`: full state, no
 * nulls in the result) or of a retain (a change: `null` removes).
 */
export function quillAttrsToLoro(q: Attrs | undefined, forInsert: boolean): Attrs {
  const out: Attrs = {};
  if (!q) return out;
  let blockSet: { block: string; lang: string | null } | undefined;
  let blockRemoved = false;
  let codeRemoved = false;
  for (const [k, v] of Object.entries(q)) {
    switch (k) {
      case 'header': {
        const n = typeof v === 'number' ? v : Number(v);
        if (isRemoval(v) || !(n >= 1 && n <= 6)) blockRemoved = true;
        else blockSet ??= { block: `h${Math.trunc(n)}`, lang: null };
        break;
      }
      case 'list': {
        const list = typeof v === 'string' ? LIST_TO_LORO[v] : undefined;
        if (list === undefined) blockRemoved = true;
        else blockSet ??= { block: list, lang: null };
        break;
      }
      case 'blockquote':
        if (isRemoval(v)) blockRemoved = true;
        else blockSet ??= { block: 'quote', lang: null };
        break;
      case 'code-block':
        if (isRemoval(v)) {
          blockRemoved = true;
          codeRemoved = true;
        } else {
          // `true` is what Quill's plain code block reports; 'plain' what the
          // language-keeping one reports for "no language".
          const lang = typeof v === 'string' && v !== '' && v !== PLAIN ? v : null;
          // A code block wins over a leftover format in the same op.
          blockSet = { block: 'code_block', lang };
        }
        break;
      case 'indent': {
        const n = typeof v === 'number' ? v : typeof v === 'string' ? parseInt(v, 10) : NaN;
        out['indent'] = Number.isFinite(n) && n >= 1 ? Math.trunc(n) : null;
        break;
      }
      default:
        if (BOOLEAN_KEYS.has(k)) out[k] = isRemoval(v) ? null : true;
        else if (k === 'link') out[k] = isRemoval(v) || v === '' ? null : v;
        else out[k] = v; // not ours: passed through untouched
    }
  }
  if (blockSet) {
    out['block'] = blockSet.block;
    // `lang` only means something on code lines: it is written for them, and
    // cleared when a line leaves a code block; other block changes leave it alone.
    if (blockSet.block === 'code_block' || codeRemoved) out['lang'] = blockSet.lang;
  } else if (blockRemoved) {
    out['block'] = null;
    if (codeRemoved) out['lang'] = null;
  }
  if (forInsert) {
    for (const k of Object.keys(out)) if (out[k] === null) delete out[k];
  }
  return out;
}

function withAttrs<T extends DeltaOp>(op: T, attrs: Attrs): T {
  if (Object.keys(attrs).length > 0) return { ...op, attributes: attrs };
  const { attributes: _drop, ...rest } = op as T & { attributes?: Attrs };
  return rest as T;
}

/**
 * Splits an inserted string at its '\n's and U+2028s, so that text, line terminators and
 * soft breaks can carry different attributes or become embeds.
 */
function splitLines(s: string): string[] {
  return s.split(/(\n|\u2028)/).filter((p) => p !== '');
}

function isSoftBreakEmbed(insert: unknown): boolean {
  return typeof insert === 'object' && insert !== null && SOFT_BREAK_EMBED in insert;
}

/** Appends `op`, merging it into the previous op when both are alike. */
function push(out: DeltaOp[], op: DeltaOp): void {
  const last = out[out.length - 1];
  if (last && 'insert' in op && 'insert' in last) {
    if (typeof op.insert === 'string' && typeof last.insert === 'string' && sameAttrs(op.attributes, last.attributes)) {
      out[out.length - 1] = withAttrs({ insert: last.insert + op.insert }, last.attributes ?? {});
      return;
    }
  } else if (last && 'retain' in op && 'retain' in last) {
    if (typeof op.retain === 'number' && typeof last.retain === 'number' && sameAttrs(op.attributes, last.attributes)) {
      out[out.length - 1] = withAttrs({ retain: last.retain + op.retain }, last.attributes ?? {});
      return;
    }
  } else if (last && 'delete' in op && 'delete' in last) {
    out[out.length - 1] = { delete: last.delete + op.delete };
    return;
  }
  out.push(op);
}

function sameAttrs(a: Attrs | undefined, b: Attrs | undefined): boolean {
  const ka = a ? Object.keys(a) : [];
  const kb = b ? Object.keys(b) : [];
  if (ka.length !== kb.length) return false;
  return ka.every((k) => b !== undefined && k in b && a?.[k] === b[k]);
}

/**
 * The current text and attributes of `[start, end)` of the Loro text, as `sliceDelta`
 * returns them. Lets a retain that changed a line mark be turned into the line's full
 * Quill format (a `lang` change alone says nothing about whether the line is code).
 */
export type SliceResolver = (start: number, end: number) => DeltaOp[];

/**
 * Maps a Loro delta (a `toDelta()` state or a text event diff) to a Quill delta.
 *
 * Inserts carry full attributes and are split at '\n'. A retain that changes only
 * inline marks maps key by key. A retain that touches `block`, `indent` or `lang` needs
 * the line's resulting state: with `resolve` (positions in the document after the
 * change, which is where Loro's event positions point) each '\n' in it gets its full
 * line format; without it the change is mapped from its own keys alone, and a `lang`
 * change without `block` is dropped (no way to know whether the line is code).
 */
export function loroDeltaToQuill(delta: readonly DeltaOp[], resolve?: SliceResolver): DeltaOp[] {
  const out: DeltaOp[] = [];
  let pos = 0; // position in the resulting document
  for (const op of delta) {
    if ('insert' in op) {
      if (typeof op.insert !== 'string') {
        push(out, op); // Loro text holds no embeds; keep whatever it is rather than lose it
        pos += 1;
        continue;
      }
      for (const part of splitLines(op.insert)) {
        if (part === '\n') push(out, withAttrs({ insert: part }, loroLineToQuill(op.attributes)));
        else if (part === SOFT_BREAK) push(out, withAttrs({ insert: { [SOFT_BREAK_EMBED]: true } }, loroInlineToQuill(op.attributes)));
        else push(out, withAttrs({ insert: part }, loroInlineToQuill(op.attributes)));
      }
      pos += op.insert.length;
    } else if ('delete' in op) {
      push(out, { delete: op.delete });
    } else {
      const len = typeof op.retain === 'number' ? op.retain : 1;
      const a = op.attributes;
      const touchesLine = a !== undefined && Object.keys(a).some((k) => LORO_LINE_KEYS.has(k));
      if (!a || Object.keys(a).length === 0) {
        push(out, { retain: len });
      } else if (!touchesLine) {
        push(out, withAttrs({ retain: len }, loroInlineToQuill(a)));
      } else if (resolve) {
        const inline = loroInlineToQuill(a);
        for (const cur of resolve(pos, pos + len)) {
          if (!('insert' in cur) || typeof cur.insert !== 'string') continue;
          for (const part of splitLines(cur.insert)) {
            if (part === '\n') push(out, withAttrs({ retain: 1 }, loroLineToQuillChange(cur.attributes)));
            else push(out, withAttrs({ retain: part.length }, inline));
          }
        }
      } else {
        push(out, withAttrs({ retain: len }, loroChangeToQuill(a)));
      }
      pos += len;
    }
  }
  return out;
}

/** A retain's Loro attribute change mapped without knowing the line's state. */
export function loroChangeToQuill(a: Attrs): Attrs {
  const out = loroInlineToQuill(a);
  if ('block' in a) {
    const block = a['block'] == null ? undefined : loroBlockToQuill(a['block'], a['lang']);
    for (const k of QUILL_BLOCK_KEYS) out[k] = null;
    if (block) Object.assign(out, block);
  }
  if ('indent' in a) out['indent'] = a['indent'] == null ? null : (indentToQuill(a['indent']) ?? null);
  return out;
}

/** Maps a Quill delta (a `text-change` delta or `getContents()`) to a Loro delta. */
export function quillDeltaToLoro(delta: readonly DeltaOp[]): DeltaOp[] {
  const out: DeltaOp[] = [];
  for (const op of delta) {
    if ('insert' in op) {
      const insert = isSoftBreakEmbed(op.insert) ? SOFT_BREAK : op.insert;
      push(out, withAttrs({ insert }, quillAttrsToLoro(op.attributes, true)));
    } else if ('delete' in op) {
      push(out, { delete: op.delete });
    } else {
      push(out, withAttrs({ retain: op.retain }, quillAttrsToLoro(op.attributes, false)));
    }
  }
  // A trailing plain retain changes nothing; Loro would also pad a too-long one with '\n'.
  const last = out[out.length - 1];
  if (last && 'retain' in last && !last.attributes) out.pop();
  return out;
}
