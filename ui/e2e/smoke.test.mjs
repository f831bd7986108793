// The window opens what is there: an existing workspace's documents, the empty screen
// that creates one (keys in the keyring), the passphrase screen. The harness (Xvfb,
// tauri-driver, the WebDriver client) is harness.mjs.
//   scripts/with-keyring.sh node --test ui/e2e/

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Desktop, quietHome, weft, weftWith } from './harness.mjs';

const T = { timeout: 120_000 };

describe('the Weft window', { concurrency: false }, () => {
  let desk;

  before(async () => {
    desk = await Desktop.start();
  });

  after(async () => {
    await desk?.stop();
  });

  test('lists the documents of an existing workspace', T, async () => {
    const home = quietHome(desk.dir('existing'));
    weft(home, 'init', '--name', 'Test');
    weft(home, 'new', 'note', 'Hello world', '--folder', 'Inbox');
    weft(home, 'new', 'record', 'Reading list');

    await desk.withApp(home, async (d) => {
      assert.equal(await d.cmd('GET', '/title'), 'Weft');
      await d.waitFor('[data-testid="doc-list"]');
      const titles = await d.texts('[data-testid="doc-row"] .doc-title');
      assert.deepEqual(titles.toSorted(), ['Hello world', 'Reading list']);
      assert.deepEqual(await d.texts('[data-testid="folder-row"] .name'), ['Inbox']);
      assert.equal(await d.text(await d.find('[data-testid="workspace-name"]')), 'Test');
      const kinds = await d.texts('[data-testid="doc-row"] .kind');
      assert.deepEqual(kinds.toSorted(), ['Note', 'Record']);
      await d.screenshot('workspace.png');

      // Collapsing the folder hides the note inside it, not the record at the top.
      await d.click(await d.find('[data-testid="folder-row"] button'));
      assert.deepEqual(await d.texts('[data-testid="doc-row"] .doc-title'), ['Reading list']);
    });
  });

  test('creates a workspace from the empty screen, keys in the keyring', T, async () => {
    const home = quietHome(desk.dir('fresh'));
    await desk.withApp(home, async (d) => {
      const form = await d.waitFor('[data-testid="no-workspace"]');
      assert.match(await d.text(form), /No workspace yet/);
      await d.screenshot('no-workspace.png');
      await d.type(await d.find('#ws-name'), 'From the window');
      await d.click(await d.find('[data-testid="no-workspace"] button[type="submit"]'));
      await d.waitFor('[data-testid="empty"]');
      assert.equal(await d.text(await d.find('[data-testid="workspace-name"]')), 'From the window');
    });
    // The CLI opens what the window made, with the key the window put in the keyring.
    weft(home, 'new', 'note', 'Written by the CLI');
    await desk.withApp(home, async (d) => {
      await d.waitFor('[data-testid="doc-list"]');
      assert.deepEqual(await d.texts('[data-testid="doc-row"] .doc-title'), ['Written by the CLI']);
    });
  });

  test('asks for the passphrase of a workspace whose keys are in a file', T, async () => {
    const home = quietHome(desk.dir('locked'));
    const pass = { WEFT_PASSPHRASE: 'open sesame' };
    weftWith(pass, home, 'init', '--name', 'Locked', '--passphrase');
    weftWith(pass, home, 'new', 'note', 'Secret plans');

    await desk.withApp(home, async (d) => {
      await d.waitFor('[data-testid="locked"]');
      const input = await d.find('#ws-pass');
      const submit = await d.find('[data-testid="locked"] button[type="submit"]');
      await d.type(input, 'not it');
      await d.click(submit);
      const error = await d.waitFor('[data-testid="locked"] .error');
      assert.equal(await d.attribute(error, 'data-code'), 'wrong_passphrase');
      await d.screenshot('locked.png');

      await d.type(input, 'open sesame');
      await d.click(submit);
      await d.waitFor('[data-testid="doc-list"]');
      assert.deepEqual(await d.texts('[data-testid="doc-row"] .doc-title'), ['Secret plans']);
      assert.equal(await d.text(await d.find('[data-testid="workspace-name"]')), 'Locked');
    });
  });
});
