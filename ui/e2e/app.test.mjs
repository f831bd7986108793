// What a user does in the window, end to end: typing a rich note, restarting, typed record
// fields, pairing a second device that edits the open note while the user types, history,
// trash, renaming a folder, a tree of thousands of documents, search; and the CLI beside the window. Each check reads what a user would see
// (the window's DOM, screenshots) or what the store then holds (the `weft` CLI).
//   scripts/with-keyring.sh node --test ui/e2e/
// The harness (Xvfb, tauri-driver, the WebDriver client) is harness.mjs. One Xvfb and one
// tauri-driver serve every test here; each test opens the app on its own workspace home.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import util from 'node:util';
import { Desktop, KEY, Processes, WEFT, quietHome, until, weft, weftAsync, weftMessages, weftWith } from './harness.mjs';

const EDITOR = '[data-testid="note-editor"]';
// Every wait inside is bounded (WAIT_MS); this bounds a test that hangs between waits.
const T = { timeout: 120_000 };

/** The note editor's text as the user sees it (block elements become lines). */
async function editorText(d) {
  return d.execute(`return document.querySelector('${EDITOR}')?.innerText ?? null`);
}

async function saveState(d) {
  return d.attribute(await d.find('[data-testid="editor"] .weft-editor'), 'data-save-state');
}

/** Runs `f` again while the element it used was replaced by a redraw (a save redraws rows). */
async function fresh(f) {
  for (let i = 0; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (i > 30 || !/stale element/.test(e.message)) throw e;
      await sleep(50);
    }
  }
}

/**
 * Polls `read` until it returns `expected` (deep equality); on timeout, fails with the
 * last value against the expected one, so the message shows what was there instead.
 */
async function eventually(what, read, expected) {
  let last;
  try {
    await until(what, async () => {
      last = await read();
      return util.isDeepStrictEqual(last, expected) ? true : undefined;
    });
  } catch (e) {
    assert.deepEqual(last, expected, e.message);
  }
}

/** The tree row of the document titled `title` (top level). */
function rowOf(title) {
  return `[data-testid="tree-row"][data-path="${title}"]`;
}

/** New note or record from the sidebar: the button, then the name typed into the inline input. */
async function createDoc(d, kind, title) {
  await d.click(await d.waitFor(`[data-testid="new-${kind}"]`));
  await d.waitFor('[data-testid="new-name"]');
  // The input is focused with "Untitled" selected; a user types over it. Typed as keys at
  // the focus: WebDriver's Element Send Keys refocuses it, and leaving it creates the doc.
  await d.ctrl('a');
  await d.keys(title + KEY.enter);
  await until(`the ${kind} “${title}” to open`, async () => {
    const input = await d.find(`[data-testid="${kind}-pane"] [data-testid="doc-title"]`);
    return (await d.property(input, 'value')) === title ? true : undefined;
  });
}

describe('Weft in a real window', { concurrency: false }, () => {
  let desk;

  before(async () => {
    desk = await Desktop.start();
  });

  after(async () => {
    await desk?.stop();
  });

  // Scenarios 1 and 2 share a workspace: the second reopens what the first typed.
  let notesHome;

  test('a note typed with a heading, bold and a list is stored as Markdown', T, async () => {
    notesHome = quietHome(desk.dir('notes'));
    weft(notesHome, 'init', '--name', 'Notes');
    await desk.withApp(notesHome, async (d) => {
      await d.waitFor('[data-testid="empty"]');
      await createDoc(d, 'note', 'Trip plan');
      await d.click(await d.waitFor(EDITOR));
      // "# " at the start of a line makes a heading, Ctrl+B bold, "- " a bulleted list.
      await d.keys(`# Packing${KEY.enter}Bring the `);
      await d.ctrl('b');
      await d.keys('passport');
      await d.ctrl('b');
      await d.keys(` and tickets.${KEY.enter}- socks${KEY.enter}boots`);

      assert.deepEqual(await d.texts(`${EDITOR} h1`), ['Packing']);
      assert.deepEqual(await d.texts(`${EDITOR} p strong`), ['passport']);
      assert.deepEqual(await d.texts(`${EDITOR} li[data-list="bullet"]`), ['socks', 'boots']);
      await until('the editor to report “saved”', async () => ((await saveState(d)) === 'saved' ? true : undefined));

      // The CLI reads the store while the app runs: the app holds the node lock (a second
      // node is refused), reads go to the shared SQLite file.
      const [win] = desk.windows();
      const pid = desk.windowPid(win);
      assert.match(weftMessages(notesHome, 'sync', '--once'), new RegExp(`another weft process \\(pid ${pid}\\) already syncs`));
      await eventually(
        'the store to have the note',
        () => weft(notesHome, 'show', 'Trip plan'),
        '# Packing\n\nBring the **passport** and tickets.\n\n- socks\n- boots\n',
      );
      await d.screenshot('note.png');
    });
  });

  test('after a restart the note is in the tree, with its formatting', T, async () => {
    assert.ok(notesHome, 'needs the workspace of the previous test');
    await desk.withApp(notesHome, async (d) => {
      await d.click(await d.waitFor(rowOf('Trip plan')));
      await until('the note to load', async () => ((await d.texts(`${EDITOR} h1`)).length === 1 ? true : undefined));
      assert.deepEqual(await d.texts(`${EDITOR} h1`), ['Packing']);
      assert.deepEqual(await d.texts(`${EDITOR} p strong`), ['passport']);
      assert.deepEqual(await d.texts(`${EDITOR} p`), ['Bring the passport and tickets.']);
      assert.deepEqual(await d.texts(`${EDITOR} li[data-list="bullet"]`), ['socks', 'boots']);
      const row = await d.find(rowOf('Trip plan'));
      assert.equal(await d.attribute(row, 'aria-current'), 'page');
    });
  });

  test('a record keeps typed fields with their JSON types; a bad number is refused inline', T, async () => {
    const home = quietHome(desk.dir('records'));
    weft(home, 'init', '--name', 'Records');
    const stored = () => JSON.parse(weft(home, 'show', 'Book'));
    const versions = () => weft(home, 'history', 'Book').trim().split('\n').length - 1;
    await desk.withApp(home, async (d) => {
      await createDoc(d, 'record', 'Book');
      const add = async (name, type, options) => {
        await d.click(await d.find('[data-testid="field-name"]'));
        await d.keys(name);
        await d.click(await d.find(`[data-testid="field-type"] option[value="${type}"]`));
        if (options) {
          await d.click(await d.find('[data-testid="field-options"]'));
          await d.keys(options);
        }
        await d.click(await d.find('[data-testid="add-field-button"]'));
        await d.waitFor(`[data-testid="field"][data-name="${name}"][data-type="${type}"]`);
      };
      await add('Title', 'text');
      await add('Pages', 'number');
      await add('Read', 'checkbox');
      await add('Due', 'date');
      await add('Status', 'select', 'todo, doing, done');
      await add('Tags', 'list');

      const control = (name) => d.find(`[data-testid="field"][data-name="${name}"] .field-value :is(input, select, textarea)`);
      /** Does `act`, then waits for the store to hold what `ok` accepts at `name`. */
      const set = async (name, act, ok) => {
        await fresh(act);
        await until(`the store to have ${name}`, () => (ok(stored()[name]) ? true : undefined));
      };
      await set('Title', async () => {
        await d.click(await control('Title'));
        await d.keys(`Dune${KEY.tab}`);
      }, (v) => v === 'Dune');
      await set('Pages', async () => {
        await d.click(await control('Pages'));
        await d.keys(`412${KEY.tab}`);
      }, (v) => v === 412);
      await set('Read', async () => d.click(await control('Read')), (v) => v === true);
      // WebKit's date input is three fields (month/day/year in the C locale); "/" moves on.
      await set('Due', async () => {
        await d.sendKeys(await control('Due'), '12/24/2026');
        await d.keys(KEY.tab);
      }, (v) => v === '2026-12-24');
      await set('Status', async () => d.click(await d.find('[data-testid="field"][data-name="Status"] option[value="doing"]')), (v) => v === 'doing');
      await set('Tags', async () => {
        await d.click(await control('Tags'));
        await d.keys(`sci-fi${KEY.enter}classic${KEY.tab}`);
      }, (v) => Array.isArray(v) && v.length === 2);

      const json = stored();
      assert.equal(json.Title, 'Dune');
      assert.equal(json.Pages, 412);
      assert.equal(json.Read, true);
      assert.equal(json.Due, '2026-12-24');
      assert.equal(json.Status, 'doing');
      assert.deepEqual(json.Tags, ['sci-fi', 'classic']);
      assert.deepEqual(json.$fields.Status, { type: 'select', options: ['todo', 'doing', 'done'] });
      assert.deepEqual(
        Object.fromEntries(Object.entries(json.$fields).map(([k, v]) => [k, v.type])),
        { Title: 'text', Pages: 'number', Read: 'checkbox', Due: 'date', Status: 'select', Tags: 'list' },
      );
      await d.screenshot('record.png');

      // "many" in the number field: an inline error at the field, and nothing saved.
      const before = versions();
      await fresh(async () => {
        await d.click(await control('Pages'));
        await d.ctrl('a');
        await d.keys(`many${KEY.tab}`);
      });
      const error = await until('the field error', async () => {
        const t = await d.text(await d.find('[data-testid="field"][data-name="Pages"] [data-testid="field-error"]'));
        return t.trim() === '' ? undefined : t;
      });
      assert.match(error, /“Pages” needs a number/);
      assert.equal(await d.attribute(await control('Pages'), 'aria-invalid'), 'true');
      assert.equal(await d.property(await control('Pages'), 'value'), 'many', 'the refused text stays to be corrected');
      // A later edit is saved: had "many" been sent, it would have landed before it.
      await fresh(async () => d.click(await control('Read')));
      await until('the checkbox to be saved', () => (stored().Read === false ? true : undefined));
      assert.equal(stored().Pages, 412);
      assert.equal(versions(), before + 1, 'only the checkbox made a version');
      await d.screenshot('record-error.png');
    });
  });

  test('a second device joins by invite and edits the open note while the user types', T, async () => {
    const home = quietHome(desk.dir('pair-a'));
    weft(home, 'init', '--name', 'Shared');
    weft(home, 'new', 'note', 'Plans');
    await weftAsync({}, home, ['edit', '--stdin', 'Plans'], 'Line one\n');
    // Device B: headless, keys in a passphrase file (the keyring is keyed by workspace, and
    // B is the same workspace on the same machine), never multicasting.
    const b = quietHome(desk.dir('pair-b'), 'device_name = "Laptop B"\n');
    const pass = { WEFT_PASSPHRASE: 'b-secret' };
    const bProcs = new Processes();
    const prepend = join(desk.scratch, 'prepend.sh');
    writeFileSync(prepend, `#!/bin/sh\n{ printf 'From B\\n\\n'; cat "$1"; } > "$1.new" && mv "$1.new" "$1"\n`);
    chmodSync(prepend, 0o755);

    try {
      await desk.withApp(home, async (d) => {
        await d.click(await d.waitFor(rowOf('Plans')));
        await until('the note to load', async () => ((await editorText(d))?.startsWith('Line one') ? true : undefined));

        await d.click(await d.find('[data-testid="add-device"]'));
        const code = await d.property(await d.waitFor('[data-testid="pairing"] [data-testid="invite-code"]'), 'value');
        assert.match(code, /^weft1-[0-9a-z]+$/i);
        await d.waitFor('[data-testid="pairing"] img[data-testid="invite-qr"]');
        await d.screenshot('pairing.png');
        const joined = await weftAsync(pass, b, ['join', code, '--passphrase', '--timeout', '30'], undefined, 'stderr');
        assert.match(joined, /synced with 1 device/);
        assert.equal(weftWith(pass, b, 'show', 'Plans'), 'Line one\n');
        await d.click(await d.find('[data-testid="pairing"] button[aria-label="Close"]'));
        await d.waitGone('[data-testid="pairing"]');

        // B stays online, like a laptop left open.
        bProcs.start('weft daemon (B)', WEFT, ['--home', b, 'daemon'], { env: { ...process.env, ...pass } });
        const status = await d.find('[data-testid="sync-status"]');
        await until('the window to show “Synced”', async () => ((await d.attribute(status, 'data-state')) === 'synced' ? true : undefined));
        assert.equal(await d.text(status), 'Synced');

        // The user types at the end of the note; B prepends a line meanwhile.
        await d.click(await d.find(EDITOR));
        await d.ctrl(KEY.end);
        let typed = '';
        let bEdit;
        let seenAt;
        for (let i = 0; i < 200 && (seenAt === undefined || i < seenAt + 6); i++) {
          const word = ` w${i}`;
          await d.keys(word);
          typed += word;
          if (i === 2) bEdit = weftAsync({ ...pass, EDITOR: prepend }, b, ['edit', 'Plans'], undefined, 'stderr');
          if (seenAt === undefined && (await editorText(d)).startsWith('From B')) seenAt = i;
        }
        assert.ok(seenAt !== undefined, 'B’s line never showed while typing');
        assert.match(await bEdit, /Saved/);
        assert.equal((await editorText(d)).trimEnd(), `From B\nLine one${typed}`);

        await until('the editor to report “saved”', async () => ((await saveState(d)) === 'saved' ? true : undefined));
        const both = `From B\n\nLine one${typed}\n`;
        await eventually('B to hold the typing', () => weftWith(pass, b, 'show', 'Plans'), both);
        assert.equal(weft(home, 'show', 'Plans'), both);

        await d.click(await d.find('[data-testid="devices-button"]'));
        // The panel redraws its rows on every status fetch: read a row in one go.
        const device = await until('B in the Devices panel', () =>
          fresh(async () => {
            const rows = await d.findAll('[data-testid="devices"] [data-testid="device"]');
            const seen = await Promise.all(rows.map(async (r) => ({ text: await d.text(r), via: await d.attribute(r, 'data-via') })));
            // "in sync" once B has acknowledged the last save.
            return seen.length > 0 && seen.every((r) => /in sync/.test(r.text)) ? seen : undefined;
          }),
        );
        assert.equal(device.length, 1);
        assert.match(device[0].text, /Laptop B/);
        assert.notEqual(device[0].via, 'offline');
        assert.equal(await d.text(status), 'Synced');
        await d.screenshot('devices.png');
      });
    } finally {
      await bProcs.stopAll();
    }
  });

  test('restores an older version from History', T, async () => {
    const home = quietHome(desk.dir('history'));
    weft(home, 'init', '--name', 'History');
    await desk.withApp(home, async (d) => {
      await createDoc(d, 'note', 'Draft');
      await d.click(await d.waitFor(EDITOR));
      await d.keys('First draft');
      await eventually('the first edit to be stored', () => weft(home, 'show', 'Draft'), 'First draft\n');
      await d.keys(' with a second thought');
      await eventually('the second edit to be stored', () => weft(home, 'show', 'Draft'), 'First draft with a second thought\n');

      await d.click(await d.find('[data-testid="history-button"]'));
      const items = await until('the versions', async () => {
        const els = await d.findAll('[data-testid="history-item"]');
        return els.length >= 2 ? els : undefined;
      });
      const count = items.length;
      // Newest first; the user looks back until the preview shows the first draft.
      let picked;
      for (const item of items.slice(1)) {
        await d.click(item);
        const text = await until('the preview', async () => {
          const n = await d.attribute(item, 'data-number');
          const head = await d.text(await d.find('[data-testid="history-preview"] h3'));
          if (!head.startsWith(`Version ${n}`)) return undefined;
          return d.text(await d.find('[data-testid="history-preview"] [data-testid="preview-text"]'));
        });
        if (text.trim() === 'First draft') {
          picked = item;
          break;
        }
      }
      assert.ok(picked, 'no version previews as “First draft”');
      assert.equal(await d.attribute(picked, 'aria-pressed'), 'true');
      await d.screenshot('history.png');

      await d.click(await d.find('[data-testid="history-preview"] [data-testid="restore-version"]'));
      await eventually('the note to show the old text', async () => (await editorText(d))?.trimEnd(), 'First draft');
      await until('history to have one more version', async () =>
        (await d.findAll('[data-testid="history-item"]')).length === count + 1 ? true : undefined,
      );
      assert.equal(weft(home, 'show', 'Draft'), 'First draft\n');
    });
  });

  test('a trashed document leaves the tree, shows in Trash, and comes back', T, async () => {
    const home = quietHome(desk.dir('trash'));
    weft(home, 'init', '--name', 'Trash');
    weft(home, 'new', 'note', 'Old idea');
    weft(home, 'new', 'record', 'Old list');
    weft(home, 'new', 'note', 'Keeper');
    const listed = () => weft(home, 'ls');
    await desk.withApp(home, async (d) => {
      await d.waitFor(rowOf('Keeper'));
      // The row's trash button (shown on the selected row)...
      await d.click(await d.find(rowOf('Old idea')));
      await d.click(await d.find(`${rowOf('Old idea')} [data-testid="trash-doc"]`));
      await d.waitGone(rowOf('Old idea'));
      // ...and the Delete key on a focused row.
      await d.click(await d.find(rowOf('Old list')));
      await d.keys(KEY.delete);
      await d.waitGone(rowOf('Old list'));
      assert.deepEqual(await d.texts('[data-testid="tree-row"]'), ['Keeper']);
      assert.doesNotMatch(listed(), /Old idea|Old list/);

      await d.click(await d.find('[data-testid="trash-view"]'));
      await d.waitFor('[data-testid="trash-row"]');
      assert.deepEqual((await d.texts('[data-testid="trash-row"] .doc-title')).toSorted(), ['Old idea', 'Old list']);
      await d.click(await d.find('[data-testid="trash-row"][data-path="Old idea"] [data-testid="restore"]'));
      await d.waitGone('[data-testid="trash-row"][data-path="Old idea"]');
      assert.deepEqual(await d.texts('[data-testid="trash-row"] .doc-title'), ['Old list']);
      await d.waitFor(rowOf('Old idea'));
      assert.deepEqual((await d.texts('[data-testid="tree-row"]')).toSorted(), ['Keeper', 'Old idea']);
      assert.match(listed(), /Old idea/);
      assert.doesNotMatch(listed(), /Old list/);
    });
  });

  test('a folder renamed with F2 keeps its documents', T, async () => {
    const home = quietHome(desk.dir('folders'));
    weft(home, 'init', '--name', 'Folders');
    weft(home, 'new', 'note', 'Plan', '--folder', 'Work/Q4');
    weft(home, 'new', 'note', 'Groceries', '--folder', 'Home');
    await desk.withApp(home, async (d) => {
      await d.waitFor(rowOf('Work/Q4/Plan'));
      await d.click(await d.find(rowOf('Work')));
      // F2 opens the name for editing with all of it selected; typing replaces it.
      // (WebDriver's Element Clear would blur the input, which commits it.)
      await d.keys(KEY.f2);
      await d.waitFor('[data-testid="rename-input"]');
      await d.keys(`Job${KEY.enter}`);
      await d.waitFor(rowOf('Job'));
      await d.waitGone(rowOf('Work'));
      // The rename is the engine's: the CLI sees it while the app runs.
      const listed = weft(home, 'ls');
      assert.match(listed, /Job\/Q4\/Plan/);
      assert.doesNotMatch(listed, /Work/);
      // A name taken beside it is refused, says why, and changes nothing.
      await d.keys(KEY.f2);
      await d.waitFor('[data-testid="rename-input"]');
      await d.keys(`Home${KEY.enter}`);
      const toast = await d.waitFor('.toast.error');
      assert.match(await d.text(toast), /already exists/);
      assert.match(weft(home, 'ls'), /Job\/Q4\/Plan/);
    });
  });

  test('a tree of 2,000 documents draws a window of rows; End reaches the last, and a change keeps the scroll', T, async () => {
    const home = quietHome(desk.dir('long'));
    weft(home, 'init', '--name', 'Long');
    const src = desk.dir('long-src');
    mkdirSync(join(src, 'Many'));
    for (let i = 0; i < 2000; i++) writeFileSync(join(src, 'Many', `Note ${String(i).padStart(4, '0')}.md`), `Note ${i}.\n`);
    weft(home, 'import', src);
    await desk.withApp(home, async (d) => {
      await d.click(await d.waitFor(rowOf('Many/Note 0000')));
      // Only the rows in and near the view are elements.
      const drawn = (await d.findAll('[data-testid="tree-row"]')).length;
      assert.ok(drawn > 5 && drawn < 200, `${drawn} tree rows drawn`);
      await d.keys(KEY.end);
      const last = await d.waitFor(rowOf('Many/Note 1999'));
      const shown = () =>
        d.execute(`
          const box = document.querySelector('.tree-box').getBoundingClientRect();
          const row = document.activeElement.getBoundingClientRect();
          return { path: document.activeElement.dataset.path, inView: row.top >= box.top && row.bottom <= box.bottom + 1,
                   scrollTop: document.querySelector('.tree-box').scrollTop };`);
      const atEnd = await shown();
      assert.deepEqual([atEnd.path, atEnd.inView], ['Many/Note 1999', true]);
      assert.equal(await d.attribute(last, 'aria-selected'), 'true');
      assert.equal(await d.find(rowOf('Many/Note 0000')).catch(() => null), null);
      // A document made from the CLI redraws the tree; the user stays where they were.
      weft(home, 'new', 'note', 'Note 1000b', '--folder', 'Many');
      // Rows drawn and rows the list's padding stands for: the folder and 2,001 notes.
      await until('the new document in the tree', async () =>
        (await d.execute(`
          const list = document.querySelector('[data-testid="tree"]');
          const pad = parseFloat(list.style.paddingTop) + parseFloat(list.style.paddingBottom);
          const height = parseFloat(getComputedStyle(list).getPropertyValue('--row-height'));
          return Math.round(pad / height) + list.querySelectorAll('[data-testid="tree-row"]').length;`)) === 2002
          ? true
          : undefined,
      );
      const after = await shown();
      assert.equal(after.scrollTop, atEnd.scrollTop);
      assert.ok(await d.find(rowOf('Many/Note 1999')));
    });
  });

  test('search finds a word of a note’s body and Enter opens the note', T, async () => {
    const home = quietHome(desk.dir('search'));
    weft(home, 'init', '--name', 'Search');
    weft(home, 'new', 'note', 'Garden');
    await weftAsync({}, home, ['edit', '--stdin', 'Garden'], 'Plant the tomatoes after the last frost.\n');
    weft(home, 'new', 'note', 'Kitchen');
    await weftAsync({}, home, ['edit', '--stdin', 'Kitchen'], 'Buy flour and yeast.\n');
    await desk.withApp(home, async (d) => {
      await d.waitFor(rowOf('Garden'));
      await d.click(await d.find('[data-testid="search"]'));
      await d.keys('tomatoes');
      const hit = await d.waitFor('[data-testid="search-result"]');
      assert.deepEqual(await d.texts('[data-testid="search-result"] .hit-title'), ['Garden']);
      assert.deepEqual(await d.texts('[data-testid="search-result"] .hit-snippet mark'), ['tomatoes']);
      const id = await d.attribute(hit, 'data-id');
      await d.screenshot('search.png');
      await d.keys(KEY.enter);
      const pane = await d.waitFor('[data-testid="note-pane"]');
      assert.equal(await d.attribute(pane, 'data-id'), id);
      await until('the note to load', async () =>
        (await editorText(d))?.trimEnd() === 'Plant the tomatoes after the last frost.' ? true : undefined,
      );
      assert.equal(await d.property(await d.find('[data-testid="doc-title"]'), 'value'), 'Garden');
    });
  });

  test('the CLI with a subcommand opens no window, even with a display', T, async () => {
    const home = quietHome(desk.dir('cli'));
    weft(home, 'init', '--name', 'CLI');
    weft(home, 'new', 'note', 'Only a line');
    assert.deepEqual(desk.windows(), [], 'a window is open before the test');
    await desk.withApp(home, async (d) => {
      await d.waitFor(rowOf('Only a line'));
      // The same query finds the app's own window, so it would find another one.
      const windows = desk.windows();
      assert.ok(windows.length > 0, 'the app’s window is not found');
      const app = desk.windowPid(windows[0]);
      assert.ok(windows.every((w) => desk.windowPid(w) === app));

      const started = Date.now();
      const cli = spawn(WEFT, ['--home', home, 'ls'], { env: desk.env(), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      cli.stdout.on('data', (c) => {
        out += c;
      });
      const seen = new Set();
      const exited = new Promise((ok) => cli.once('exit', (code) => ok(code)));
      // A CLI that opened the window would run until it was closed: give up after 10 s.
      let code;
      while (code === undefined && Date.now() - started < 10_000) {
        for (const w of desk.windows()) seen.add(w);
        code = await Promise.race([exited, sleep(20).then(() => undefined)]);
      }
      if (code === undefined) cli.kill('SIGKILL');
      const took = Date.now() - started;
      assert.equal(code, 0, `weft ls still ran after ${Date.now() - started} ms; windows: ${[...seen]}`);
      assert.match(out, /Only a line/);
      assert.ok(took < 5_000, `weft ls took ${took} ms`);
      assert.deepEqual([...seen], windows, 'a window appeared while `weft ls` ran');
      assert.deepEqual(desk.windows(), windows);
    });
    assert.deepEqual(desk.windows(), [], 'the app’s window outlived the app');
  });

  test('settings, and the dark theme the system asks for', T, async () => {
    const home = quietHome(desk.dir('look'), 'device_name = "Desk PC"\n');
    weft(home, 'init', '--name', 'Looks');
    weft(home, 'new', 'note', 'Welcome');
    await weftAsync({}, home, ['edit', '--stdin', 'Welcome'], '# Welcome\n\nA **dark** day.\n');
    const background = (d) =>
      d.execute(
        'const [r, g, b] = getComputedStyle(document.documentElement).backgroundColor.match(/\\d+/g).map(Number);' +
          'return { dark: matchMedia("(prefers-color-scheme: dark)").matches, luma: (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255 };',
      );

    await desk.withApp(home, async (d) => {
      await d.waitFor(rowOf('Welcome'));
      const light = await background(d);
      assert.equal(light.dark, false);
      assert.ok(light.luma > 0.5, `light background luma ${light.luma}`);
      await d.click(await d.find('[data-testid="settings-button"]'));
      const name = await d.waitFor('[data-testid="settings"] [data-testid="device-name"]');
      assert.equal(await d.property(name, 'value'), 'Desk PC');
      assert.equal(await d.text(await d.find('[data-testid="settings"] [data-testid="home"]')), home);
      await d.screenshot('settings.png');
    });

    await desk.withApp(
      home,
      async (d) => {
        await d.click(await d.waitFor(rowOf('Welcome')));
        await until('the note to load', async () => ((await d.texts(`${EDITOR} strong`)).length === 1 ? true : undefined));
        const dark = await background(d);
        assert.equal(dark.dark, true, 'GTK_THEME=Adwaita:dark did not reach prefers-color-scheme');
        assert.ok(dark.luma < 0.3, `dark background luma ${dark.luma}`);
        await d.screenshot('dark.png');
      },
      { GTK_THEME: 'Adwaita:dark' },
    );
  });
});
