#!/usr/bin/env node
// How long opening a large note takes in the editor, outside the webview:
//   1. builds a note from a real keystroke trace (automerge-paper: 259,778 single-char
//      edits, 104,852 chars at the end) replayed into a loro-crdt LoroText, one commit
//      per keystroke as the editor makes them, then formats it (headings, list items,
//      code lines, italic/bold spans) so the delta is not one plain run;
//   2. times what mountNoteEditor does with the store's snapshot: `new LoroDoc()` +
//      `import(snapshot)`, `toDelta()`, the attribute mapping to Quill (attrs.ts), and,
//      with --quill, `quill.setContents()` in happy-dom (a DOM emulation: the order of
//      magnitude, not WebKit's layout cost).
//
//   node bench/open-note.mjs [--runs 7] [--quill] [--save-snapshot FILE]
//   WEFT_TRACE=path/to/trace.json.gz overrides the trace.

import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { LoroDoc } from 'loro-crdt';
import { transformSync } from 'esbuild';

const UI = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    quill: { type: 'boolean', default: false },
    'save-snapshot': { type: 'string' },
  },
});
const RUNS = Math.max(1, Number(args.runs));
const TRACE = process.env.WEFT_TRACE ?? resolve(UI, '../testdata/traces/automerge-paper.json.gz');

// attrs.ts is TypeScript with no imports: strip the types and load it.
const tmp = mkdtempSync(join(tmpdir(), 'weft-bench-'));
const attrsJs = join(tmp, 'attrs.mjs');
writeFileSync(
  attrsJs,
  transformSync(readFileSync(join(UI, 'src/editor/attrs.ts'), 'utf8'), { loader: 'ts', format: 'esm' }).code,
);
const { NOTE_STYLES, loroDeltaToQuill } = await import(pathToFileURL(attrsJs).href);
rmSync(tmp, { recursive: true, force: true });

const ms = (t) => `${t.toFixed(1)} ms`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function newDoc() {
  const doc = new LoroDoc();
  doc.configTextStyle(NOTE_STYLES);
  return doc;
}

// --- 1. the note --------------------------------------------------------------------

const trace = JSON.parse(gunzipSync(readFileSync(TRACE)).toString('utf8'));
let t0 = performance.now();
const src = newDoc();
const text = src.getText('body');
if (trace.startContent) text.insert(0, trace.startContent);
for (const txn of trace.txns) {
  for (const [pos, del, ins] of txn.patches) {
    if (del > 0) text.delete(pos, del);
    if (ins) text.insert(pos, ins);
  }
  src.commit();
}
const replayMs = performance.now() - t0;
if (text.toString() !== trace.endContent) throw new Error('replay does not give endContent');
if (!trace.endContent.endsWith('\n')) text.insert(text.length, '\n');

// Rich text: line blocks on the terminators, inline marks on LaTeX spans.
const s = text.toString();
let lineStart = 0;
let marks = 0;
for (let i = s.indexOf('\n'); i !== -1; lineStart = i + 1, i = s.indexOf('\n', lineStart)) {
  const line = s.slice(lineStart, i);
  const block = line.startsWith('\\section')
    ? 'h2'
    : line.startsWith('\\subsection')
      ? 'h3'
      : /^\s*\\item/.test(line)
        ? 'bullet'
        : line.startsWith('%')
          ? 'code_block'
          : null;
  if (block) {
    text.mark({ start: i, end: i + 1 }, 'block', block);
    if (block === 'code_block') text.mark({ start: i, end: i + 1 }, 'lang', 'latex');
    marks++;
  }
}
for (const [re, key] of [
  [/\\emph\{[^}\n]*\}/g, 'italic'],
  [/\\textbf\{[^}\n]*\}/g, 'bold'],
  [/\\texttt\{[^}\n]*\}/g, 'code'],
  [/\\url\{[^}\n]*\}/g, 'link'],
]) {
  for (const m of s.matchAll(re)) {
    text.mark({ start: m.index, end: m.index + m[0].length }, key, key === 'link' ? m[0].slice(5, -1) : true);
    marks++;
  }
}
src.commit();

t0 = performance.now();
const snapshot = src.export({ mode: 'snapshot' });
const exportMs = performance.now() - t0;
if (args['save-snapshot']) writeFileSync(args['save-snapshot'], snapshot);

console.log(`trace: ${trace.txns.length} keystrokes replayed in ${ms(replayMs)} (one commit each)`);
console.log(
  `note: ${text.length} UTF-16 units, ${s.split('\n').length - 1} lines, ${marks} marks; ` +
    `snapshot ${(snapshot.length / 1024).toFixed(0)} KiB (export ${ms(exportMs)})`,
);

// --- 2. opening it --------------------------------------------------------------------

let quillSetContents;
if (args.quill) quillSetContents = await quillHarness();

const rows = { import: [], toDelta: [], map: [], setContents: [], total: [] };
let deltaOps = 0;
let quillOps = 0;
for (let run = 0; run < RUNS; run++) {
  const a = performance.now();
  const doc = newDoc();
  doc.import(snapshot);
  const b = performance.now();
  const delta = doc.getText('body').toDelta();
  const c = performance.now();
  const mapped = loroDeltaToQuill(delta);
  const d = performance.now();
  let e = d;
  if (quillSetContents) {
    quillSetContents(mapped);
    e = performance.now();
    rows.setContents.push(e - d);
  }
  rows.import.push(b - a);
  rows.toDelta.push(c - b);
  rows.map.push(d - c);
  rows.total.push(e - a);
  deltaOps = delta.length;
  quillOps = mapped.length;
  doc.free();
}

console.log(`runs: ${RUNS} (median, min)`);
for (const [name, xs] of Object.entries(rows)) {
  if (xs.length === 0) continue;
  console.log(`  ${name.padEnd(12)} ${ms(median(xs)).padStart(10)} ${ms(Math.min(...xs)).padStart(10)}`);
}
console.log(`  (${deltaOps} Loro delta ops → ${quillOps} Quill ops)`);
if (args.quill) console.log('  setContents ran in happy-dom, not WebKit: layout and paint are not in it.');

/** Quill 2 in a happy-dom window; returns a function that sets the editor's contents. */
async function quillHarness() {
  const { Window } = await import('happy-dom');
  const win = new Window({ url: 'http://localhost/' });
  globalThis.window = win;
  for (const k of Object.getOwnPropertyNames(win)) {
    if (!(k in globalThis)) {
      try {
        globalThis[k] = win[k];
      } catch {
        // read-only globals of node: keep node's
      }
    }
  }
  globalThis.document = win.document;
  const { default: Quill } = await import('quill/core.js');
  const formats = {
    'formats/header': (await import('quill/formats/header.js')).default,
    'formats/list': (await import('quill/formats/list.js')).default,
    'formats/blockquote': (await import('quill/formats/blockquote.js')).default,
    'formats/code-block': (await import('quill/formats/code.js')).default,
    'formats/code': (await import('quill/formats/code.js')).Code,
    'formats/bold': (await import('quill/formats/bold.js')).default,
    'formats/italic': (await import('quill/formats/italic.js')).default,
    'formats/link': (await import('quill/formats/link.js')).default,
    'formats/indent': (await import('quill/formats/indent.js')).default,
  };
  Quill.register(formats, true);
  const el = win.document.createElement('div');
  win.document.body.append(el);
  const quill = new Quill(el, {
    formats: ['bold', 'italic', 'code', 'link', 'header', 'list', 'blockquote', 'code-block', 'indent'],
  });
  return (ops) => {
    quill.setContents(ops, 'api');
    if (quill.getLength() < 1000) throw new Error('setContents did not take');
  };
}
