#!/usr/bin/env node
// The window's figures, measured in the real app: the RELEASE `weft` binary in
// WebKitGTK under Xvfb, driven over WebDriver with the harness of the window tests
// (ui/e2e/harness.mjs). Node's own modules only.
//
//   1. cold start to first paint with workspaces of 1,000, 10,000 and 100,000 documents
//      (notes and a tenth records in two levels of folders, 50 documents a folder, as
//      crates/weft-cli/benches/scale.rs makes them, imported with `weft import`): from
//      just before the WebDriver session is requested (tauri-driver spawns the app for
//      it) to the page's `weft:first-paint` mark (ui/src/main.ts), as (timeOrigin +
//      mark) − spawn time; and the memory of the app once it shows the workspace: the
//      resident set of the `weft` process and of WebKit's web process, which holds the
//      page. Each size's figures are printed beside the 1,000-document ones;
//   2. opening the 260k-edit automerge-paper note (made with its history by
//      crates/weft-engine/examples/seed_paper.rs): a click on its tree row to the first
//      frame painted with the first screenful of text, and to the one with the whole
//      text (the editor shows a long note in steps, ui/src/editor/binding.ts), with
//      the steps of the editor's mount from its `weft:editor:*` marks (index.ts);
//   3. keystroke to screen in the middle of that note and of a small one: from the
//      keydown (a capturing listener) to the next animation frame after the editor's
//      DOM changed (MutationObserver + requestAnimationFrame), and to the end of that
//      frame's rendering.
//
// Run it inside scripts/with-keyring.sh: the app opens keyring workspaces without
// asking, and the workspaces are made with the keyring. `make bench-window` builds what
// it needs and does that.
//   scripts/with-keyring.sh node ui/bench/window.mjs [--runs 5] [--keys 200] [--only cold,open,keys]
//     [--sizes 1000,10000,100000]
// WEFT_BIN overrides the app (default <target>/release/weft), WEFT_SEED_PAPER the seeding
// example (default <target>/release/examples/seed_paper), WEFT_TRACE the trace.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';

const REPO = resolve(import.meta.dirname, '../..');
const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    keys: { type: 'string', default: '200' },
    only: { type: 'string', default: 'cold,open,keys' },
    sizes: { type: 'string', default: '1000,10000,100000' },
  },
});
const RUNS = Math.max(1, Number(args.runs));
const KEYS = Math.max(10, Number(args.keys));
const ONLY = new Set(args.only.split(','));
const SIZES = args.sizes.split(',').map(Number);

const TARGET = JSON.parse(
  execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], { cwd: REPO, encoding: 'utf8' }),
).target_directory;
// The harness reads WEFT_BIN when it loads: set it first, so the app is the release one.
process.env.WEFT_BIN ??= join(TARGET, 'release', 'weft');
const SEED_PAPER = process.env.WEFT_SEED_PAPER ?? join(TARGET, 'release', 'examples', 'seed_paper');
const TRACE = process.env.WEFT_TRACE ?? resolve(REPO, 'testdata/traces/automerge-paper.json.gz');
const { Desktop, until, quietHome, weft, WEFT } = await import('../e2e/harness.mjs');

const PAPER_PATH = 'Papers/automerge-paper';
const SMALL_PATH = 'Papers/Small note';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.round((s.length - 1) * p)];
}
const ms = (x, width = 0) => `${x.toFixed(x < 10 ? 1 : 0)} ms`.padStart(width);
const rowCss = (path) => `[data-testid="tree-row"][data-path="${path.replace(/"/g, '\\"')}"]`;

// --- seeding ------------------------------------------------------------------------

/**
 * `n` Markdown notes and JSON records (every tenth) in two levels of folders, 50
 * documents a folder, as crates/weft-cli/benches/scale.rs lays them out. Returns how
 * many folders the tree shows.
 */
function writeDocuments(dir, n) {
  const topics = Math.max(1, Math.floor(n / 50));
  for (let f = 0; f < topics; f++) mkdirSync(join(dir, `Area ${Math.floor(f / 10)}`, `Topic ${f}`), { recursive: true });
  for (let i = 0; i < n; i++) {
    const f = i % topics;
    const folder = join(dir, `Area ${Math.floor(f / 10)}`, `Topic ${f}`);
    if (i % 10 === 9) {
      const json = { title: `Record ${i}`, n: i, tags: ['bench', `t${i % 7}`], done: i % 2 === 0, notes: 'x'.repeat(80) };
      writeFileSync(join(folder, `Record ${i}.json`), JSON.stringify(json, null, 2));
    } else {
      const md =
        `# Note ${i}\n\nSome *text* for note ${i}, with a [link](https://example.org/${i}) and **bold** words.\n\n` +
        `- first item\n- second item\n- [ ] a task\n\n> a quote\n`;
      writeFileSync(join(folder, `Note ${i}.md`), md);
    }
  }
  return topics + Math.ceil(topics / 10);
}

/** A workspace of `n` documents (see writeDocuments). */
function seedWorkspace(desktop, n) {
  const src = desktop.dir(`docs-${n}-src`);
  const folders = writeDocuments(src, n);
  const home = quietHome(join(desktop.scratch, `docs-${n}`));
  weft(home, 'init', '--name', `${n} documents`);
  const t = Date.now();
  weft(home, 'import', src);
  return { home, folders, importMs: Date.now() - t };
}

function seedPaper(desktop) {
  const home = quietHome(join(desktop.scratch, 'paper'));
  const out = execFileSync(SEED_PAPER, [home], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, WEFT_TRACE: TRACE },
  });
  return { home, seeded: out.trim() };
}

/** What the editor shows for the note: its text without line terminators. */
function paperTextLength() {
  const trace = JSON.parse(gunzipSync(readFileSync(TRACE)).toString('utf8'));
  const end = trace.endContent;
  return end.length - (end.match(/\n/g) ?? []).length;
}

// --- in the page --------------------------------------------------------------------

/**
 * The sidebar tree once it is drawn: how many rows are elements, and how many the list
 * stands for (its padding is the rows not drawn, virtual-list.ts).
 */
const TREE_PROBE = `
  const list = document.querySelector('[data-testid="tree"]');
  const rows = list.querySelectorAll('[data-testid="tree-row"]').length;
  const height = parseFloat(getComputedStyle(list).getPropertyValue('--row-height'));
  const pad = (parseFloat(list.style.paddingTop) || 0) + (parseFloat(list.style.paddingBottom) || 0);
  return { drawn: rows, total: rows + Math.round(pad / height), elements: document.getElementsByTagName('*').length };`;

const FIRST_PAINT_PROBE = `
  if (window.__weftFirstPaint === undefined) return null;
  const at = (name) => performance.getEntriesByName(name)[0]?.startTime ?? null;
  return {
    paint: window.__weftFirstPaint,
    origin: window.__weftTimeOrigin,
    opened: at('weft:start:opened'),
    received: at('weft:start:received'),
    listed: at('weft:start:listed'),
    mounted: at('weft:start:mounted'),
    frame: at('weft:start:frame'),
    rows: document.querySelectorAll('[data-testid="tree-row"]').length,
  };`;

/**
 * Arms the open measurement: the first pointer/mouse/click event (capturing) starts it;
 * every animation frame then checks how much text the editor holds. A frame that finds
 * the first screenful (FIRST_SCREEN characters, or the whole note if shorter) and the
 * frame that finds all \`arguments[0]\` characters are each timed from their rAF
 * callback to a message posted from it, which is delivered after that frame's paint.
 */
const FIRST_SCREEN = 2000;
const ARM_OPEN = `
  const want = arguments[0];
  const first = Math.min(want, ${FIRST_SCREEN});
  const m = (window.__benchOpen = { start: null, first: null, firstPainted: null, frame: null, painted: null });
  const onStart = () => { if (m.start === null) m.start = performance.now(); };
  for (const t of ['pointerdown', 'mousedown', 'click']) document.addEventListener(t, onStart, { capture: true, once: true });
  const painted = (key) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => { m[key] = performance.now(); };
    ch.port2.postMessage(null);
  };
  const tick = () => {
    const root = document.querySelector('[data-testid="note-editor"]');
    const have = m.start !== null && root ? root.textContent.length : 0;
    if (have >= first && m.first === null) { m.first = performance.now(); painted('firstPainted'); }
    if (have >= want) { m.frame = performance.now(); painted('painted'); }
    else requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  return true;`;

/** The open's figures, once the frame is painted and the editor is mounted. */
const OPEN_RESULT = `
  const m = window.__benchOpen;
  if (!m || m.painted === null || m.firstPainted === null || !window.__weftEditor) return null;
  const marks = {};
  for (const e of performance.getEntriesByType('mark')) {
    if (e.name.startsWith('weft:editor:') && e.startTime >= m.start) {
      marks[e.name.slice(12)] = e.startTime;
      if (e.detail && e.detail.bytes !== undefined) marks.bytes = e.detail.bytes;
    }
  }
  if (marks.mounted === undefined) return null;
  return { ...m, marks };`;

/**
 * Records keystroke latency: keydown (capturing) → first mutation of the editor's DOM →
 * its next rAF callback (\`raf\`), and the end of that frame's rendering (\`painted\`).
 */
const ARM_KEYS = `
  const rec = (window.__benchKeys = { samples: [], pending: null });
  const root = document.querySelector('[data-testid="note-editor"]');
  document.addEventListener('keydown', () => { rec.pending = { t: performance.now(), seen: false }; }, true);
  new MutationObserver(() => {
    const p = rec.pending;
    if (!p || p.seen) return;
    p.seen = true;
    requestAnimationFrame(() => {
      const raf = performance.now() - p.t;
      const ch = new MessageChannel();
      ch.port1.onmessage = () => rec.samples.push({ raf, painted: performance.now() - p.t });
      ch.port2.postMessage(null);
    });
  }).observe(root, { subtree: true, childList: true, characterData: true });
  return true;`;

/** Puts the caret in the middle of the note (in the paragraph holding arguments[0], if given). */
const CARET_MIDDLE = `
  const q = window.__weftEditor.quill;
  const text = q.getText();
  const at = arguments[0] ? text.indexOf(arguments[0]) : -1;
  const index = at >= 0 ? at : Math.floor(text.length / 2);
  q.focus();
  q.setSelection(index, 0, 'api');
  return index;`;

// --- the measurements ---------------------------------------------------------------

/** kB of resident memory of `pid` (VmRSS), 0 if it is gone. */
function rssKb(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The processes under `pid` with their names (WebKit's web and network processes). */
function descendants(pid) {
  const out = [];
  const byParent = new Map();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || !existsSync(`/proc/${e}/stat`)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const name = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      if (!byParent.has(ppid)) byParent.set(ppid, []);
      byParent.get(ppid).push({ pid: Number(e), name });
    } catch {
      // It ended meanwhile.
    }
  }
  const walk = (p) => {
    for (const c of byParent.get(p) ?? []) {
      out.push(c);
      walk(c.pid);
    }
  };
  walk(pid);
  return out;
}

/** The app's memory: the `weft` process, WebKit's web process(es), and all of them. */
function appMemory(desktop) {
  const pids = desktop.windows().map((w) => desktop.windowPid(w)).filter((p) => p > 0);
  let app = 0;
  let web = 0;
  let all = 0;
  for (const pid of pids) {
    app += rssKb(pid);
    all += rssKb(pid);
    for (const c of descendants(pid)) {
      const kb = rssKb(c.pid);
      all += kb;
      // The kernel keeps 15 characters of a name: WebKitWebProcess is "WebKitWebProces".
      if (/^WebKitWebProces/.test(c.name)) web += kb;
    }
  }
  return { app: app / 1024, web: web / 1024, all: all / 1024 };
}

const mb = (x, width = 0) => `${x.toFixed(0)} MB`.padStart(width);
const ratio = (x, ref) => `${(x / ref).toFixed(2)}x`;

/** First paint and memory of a workspace of `n` documents, RUNS times after a warm-up. */
async function coldStart(desktop, n) {
  const { home, folders, importMs } = seedWorkspace(desktop, n);
  const runs = [];
  // Run 0 warms the page cache (and, for the first size, starts tauri-driver); it is
  // reported, not counted.
  for (let run = 0; run <= RUNS; run++) {
    const spawned = Date.now();
    const d = await desktop.open(home);
    try {
      const p = await until('the first paint mark', () => d.execute(FIRST_PAINT_PROBE).then((v) => v ?? undefined), 120_000);
      if (p.rows === 0) throw new Error('the first paint showed no tree rows');
      const tree = await d.execute(TREE_PROBE);
      // The tree stands for every folder and document, though only a window is drawn.
      if (tree.total !== n + folders) throw new Error(`the tree stands for ${tree.total} rows, not ${n + folders}`);
      // Memory once the window has settled (the editor preloaded, the sync status in).
      await sleep(1500);
      runs.push({
        total: p.origin + p.paint - spawned,
        page: p.origin - spawned,
        opened: p.opened,
        received: p.received - p.opened,
        decoded: p.listed - p.received,
        mount: p.mounted - p.listed,
        toFrame: p.frame - p.mounted,
        frame: p.paint - p.frame,
        drawn: tree.drawn,
        elements: tree.elements,
        ...appMemory(desktop),
      });
    } finally {
      await desktop.close(d);
    }
  }
  const [warm, ...measured] = runs;
  const med = (k) => median(measured.map((r) => r[k]));
  const out = {};
  for (const k of Object.keys(warm)) out[k] = med(k);
  return { n, folders, importMs, warm, measured, ...out };
}

async function coldStarts(desktop) {
  const results = [];
  for (const n of SIZES) {
    const r = await coldStart(desktop, n);
    results.push(r);
    const ref = results[0];
    const vs = (k) => (r === ref ? 'reference' : `${ratio(r[k], ref[k])} the ${ref.n.toLocaleString('en')}`);
    const docs = `${n.toLocaleString('en')} docs`.padStart(12);
    console.log(`window: cold start to first paint (${docs})   median ${ms(r.total, 6)}  (${vs('total')}; goal < 1 s)`);
    console.log(
      `window: memory once shown        (${docs})   weft ${mb(r.app, 6)}, WebKit web process ${mb(r.web, 6)}, ` +
        `with WebKit's other processes ${mb(r.all, 6)}  (${vs('all')})`,
    );
    console.log(
      `  runs ${r.measured.map((x) => x.total.toFixed(0)).join(', ')} ms; first run ${r.warm.total.toFixed(0)} ms; ` +
        `${n.toLocaleString('en')} docs in ${r.folders} folders imported in ${(r.importMs / 1000).toFixed(1)} s; ` +
        `${r.drawn} of the tree's ${(n + r.folders).toLocaleString('en')} rows drawn, ${r.elements} elements on the page`,
    );
    console.log(
      `  median steps: spawn → page start ${ms(r.page)}, page → workspace open ${ms(r.opened)}, ` +
        `the list (list_tree: the engine, JSON, IPC, parse) ${ms(r.received)}, its documents made ${ms(r.decoded)}, ` +
        `building the tree and the overview ${ms(r.mount)}, then to the first frame ${ms(r.toFrame)} ` +
        `(WebKit styles and lays out new DOM in a task before the frame), the frame's paint ${ms(r.frame)}`,
    );
  }
}

/** Opens the note at `path` by clicking its row; returns the figures (see OPEN_RESULT). */
async function openByClick(d, path, textLength) {
  await d.execute(ARM_OPEN, textLength);
  await d.click(await d.find(rowCss(path)));
  return until(`the note ${path} to open`, () => d.execute(OPEN_RESULT).then((v) => v ?? undefined), 60_000);
}

async function toOverview(d) {
  await d.click(await d.find('[data-testid="workspace-name"]'));
  await d.waitGone('[data-testid="note-pane"]');
  await sleep(300);
}

/** What the editor's marks name: the step that ends at each mark. */
const STEP_NAMES = {
  open: 'click → editor code',
  quill: 'new Quill',
  ipc: 'open_note IPC (rest of the wait)',
  import: 'LoroDoc import',
  toDelta: 'first delta (Loro builds its text state)',
  map: 'map to Quill',
  setContents: 'setContents',
  mounted: 'rest of mount (sync start)',
  loaded: 'rest of the note (idle chunks)',
};

function steps(r) {
  const k = r.marks;
  const out = {
    firstScreen: r.firstPainted - r.start,
    total: r.painted - r.start,
    // style, layout and paint of the frames that showed the first screen, and all
    firstFrame: r.firstPainted - r.first,
    lastFrame: r.painted - r.frame,
    bytes: k.bytes,
  };
  // The editor's steps in the order they happened (ties, within the 1 ms resolution of
  // WebKit's clock, in pipeline order), each from the previous mark.
  const order = Object.keys(STEP_NAMES);
  let prev = r.start;
  for (const [name, at] of Object.entries(k)
    .filter(([n]) => n in STEP_NAMES)
    .sort((a, b) => a[1] - b[1] || order.indexOf(a[0]) - order.indexOf(b[0]))) {
    out[`step:${name}`] = at - prev;
    prev = at;
  }
  return out;
}

async function openNote(desktop, paper, textLength) {
  await desktop.withApp(paper.home, async (d) => {
    await d.waitFor(rowCss(PAPER_PATH));
    // A person looks at the window for a moment before the first click; the window
    // loads the editor in that moment (preloadEditor, ui/src/views/note.ts).
    await sleep(1000);
    const loaded = await d.execute(
      "return performance.getEntriesByName('weft:preload:editor').length > 0",
    );
    const results = [];
    for (let run = 0; run <= RUNS; run++) {
      const r = await openByClick(d, PAPER_PATH, textLength);
      if (process.env.WEFT_BENCH_DEBUG) console.error('open', JSON.stringify(r)); // raw marks
      results.push(steps(r));
      await toOverview(d);
    }
    const [first, ...rest] = results;
    const med = {};
    for (const k of Object.keys(first)) med[k] = median(rest.map((r) => r[k]).filter((v) => v !== undefined));
    console.log(
      `window: open the 260k-edit note, click to first screen painted   median ${ms(med.firstScreen, 6)}  (goal < 200 ms)`,
    );
    console.log(
      `window: open the 260k-edit note, click to whole text painted     median ${ms(med.total, 6)}`,
    );
    console.log(
      `  runs ${rest.map((r) => `${r.firstScreen.toFixed(0)}/${r.total.toFixed(0)}`).join(', ')} ms (first screen/whole); ` +
        `first open, 1 s after the window showed (editor module ${loaded ? 'preloaded' : 'NOT preloaded'}) ${first.firstScreen.toFixed(0)}/${first.total.toFixed(0)} ms; ` +
        `snapshot ${(med.bytes / 1024).toFixed(0)} KiB`,
    );
    const parts = Object.entries(med)
      .filter(([k]) => k.startsWith('step:'))
      .map(([k, v]) => `${STEP_NAMES[k.slice(5)]} ${ms(v)}`);
    console.log(`  median steps: ${parts.join(', ')}`);
    console.log(
      `  the frames' paint: first screen ${ms(med.firstFrame)}, whole text ${ms(med.lastFrame)} ` +
        `(WebKit lays new DOM out in a task of its own before the frame: layout falls in the steps above)`,
    );
  });
}

async function keystrokes(d, path, anchor) {
  await d.waitFor(rowCss(path));
  await d.execute(ARM_OPEN, 1);
  await d.click(await d.find(rowCss(path)));
  await until(`the note ${path} to open`, () => d.execute(OPEN_RESULT).then((v) => v ?? undefined), 60_000);
  // Typing starts once the whole note is in the editor (a long one loads in steps).
  await until('the whole note in the editor', async () =>
    (await d.execute('const e = window.__weftEditor; return !!e && e.quill.getLength() >= e.doc.getText("body").length'))
      ? true
      : undefined,
  );
  await d.execute(CARET_MIDDLE, anchor);
  await sleep(500);
  await d.execute(ARM_KEYS);
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (let i = 0; i < KEYS; i++) {
    await d.keys(letters[i % letters.length]);
    // One keystroke at a time: the next waits until this one's frame is recorded.
    await until('the keystroke to show', async () =>
      (await d.execute('return window.__benchKeys.samples.length')) > i ? true : undefined,
    );
    await sleep(20);
  }
  const samples = await d.execute('return window.__benchKeys.samples');
  await toOverview(d);
  return samples;
}

async function typing(desktop, paper) {
  await desktop.withApp(paper.home, async (d) => {
    const big = await keystrokes(d, PAPER_PATH, null);
    const small = await keystrokes(d, SMALL_PATH, 'well away');
    const line = (label, xs, note) => {
      const raf = xs.map((x) => x.raf);
      const painted = xs.map((x) => x.painted);
      console.log(
        `window: keystroke to next frame, ${label}  p50 ${ms(percentile(raf, 0.5), 6)}  p95 ${ms(percentile(raf, 0.95), 6)}  ` +
          `(frame painted: p50 ${ms(percentile(painted, 0.5))}, p95 ${ms(percentile(painted, 0.95))}; ${xs.length} keys${note})`,
      );
    };
    line('260k-edit note', big, '');
    line('small note    ', small, '; reference');
  });
}

// --- main -----------------------------------------------------------------------------

const desktop = await Desktop.start();
try {
  const [l1, l5] = loadavg();
  console.log(
    `== window: release app (${WEFT.replace(TARGET, '<target>')}), WebKitGTK under Xvfb, over WebDriver; ` +
      `load average ${l1.toFixed(1)} / ${l5.toFixed(1)} (1 / 5 min) on ${cpus().length} cores ==`,
  );
  if (ONLY.has('cold')) await coldStarts(desktop);
  if (ONLY.has('open') || ONLY.has('keys')) {
    const paper = seedPaper(desktop);
    console.log(`  ${paper.seeded.replace(desktop.scratch, '<scratch>')}`);
    if (ONLY.has('open')) await openNote(desktop, paper, paperTextLength());
    if (ONLY.has('keys')) await typing(desktop, paper);
  }
} catch (e) {
  e.message += `\n${desktop.procs.logs()}`;
  throw e;
} finally {
  await desktop.stop();
}
