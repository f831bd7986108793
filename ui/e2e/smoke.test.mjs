// The desktop app in a real window: WebKitGTK under Xvfb, driven over WebDriver
// (tauri-driver in front of Debian's WebKitWebDriver). Node's own test runner and
// fetch only, so it needs no npm packages.
//
// Run it inside scripts/with-keyring.sh (`make test` does): the app keeps workspace keys
// in the Secret Service, which needs a session bus and an unlocked keyring.
//   scripts/with-keyring.sh node --test ui/e2e/
// WEFT_BIN overrides the binary (default: <cargo target dir>/debug/weft).
// Screenshots land in target/ui-screenshots/.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const REPO = resolve(import.meta.dirname, '../..');
const SHOTS = join(REPO, 'target', 'ui-screenshots');
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf'; // the W3C WebDriver element key
// Upper bound for the window to show something; a slow CI machine is far below it.
const WAIT_MS = 30_000;

function weftBinary() {
  if (process.env.WEFT_BIN) return resolve(process.env.WEFT_BIN);
  const meta = JSON.parse(
    execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], {
      cwd: REPO,
      encoding: 'utf8',
    }),
  );
  return join(meta.target_directory, 'debug', 'weft');
}

const WEFT = weftBinary();

/** Runs the `weft` CLI against a workspace home, with extra `env`; returns its stdout. */
function weftWith(env, home, ...args) {
  return execFileSync(WEFT, ['--home', home, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
}

function weft(home, ...args) {
  return weftWith({}, home, ...args);
}

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/** Polls `probe` until it returns a value other than undefined, or fails after WAIT_MS. */
async function until(what, probe) {
  const deadline = Date.now() + WAIT_MS;
  let last;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await sleep(100);
  }
}

/** Processes started here, stopped by their own ids in reverse order. */
class Processes {
  #children = [];
  #logs = new Map();

  start(name, cmd, args, options = {}) {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
    const log = [];
    this.#logs.set(name, log);
    child.stderr?.on('data', (d) => log.push(d.toString()));
    child.once('error', (e) => log.push(`failed to start ${cmd}: ${e.message}\n`));
    this.#children.push(child);
    return child;
  }

  /** What the processes wrote to stderr, for a failure message. */
  logs() {
    return [...this.#logs].map(([name, l]) => `--- ${name} stderr ---\n${l.join('').slice(-4000)}`).join('\n');
  }

  async stopAll() {
    for (const child of this.#children.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.kill('SIGTERM');
      const exited = once(child, 'exit');
      const timer = sleep(5_000).then(() => child.kill('SIGKILL'));
      await Promise.race([exited, timer]);
    }
    this.#children = [];
  }
}

/** Xvfb on a display it picks itself (-displayfd), so parallel runs never collide. */
async function startXvfb(procs) {
  const xvfb = procs.start(
    'Xvfb',
    'Xvfb',
    ['-displayfd', '3', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  xvfb.stdio[3].on('data', (d) => {
    out += d.toString();
  });
  const display = await until('Xvfb to report its display', async () => {
    if (xvfb.exitCode !== null) throw new Error(`Xvfb exited with ${xvfb.exitCode}`);
    return out.includes('\n') ? `:${out.trim()}` : undefined;
  });
  return display;
}

/** A minimal W3C WebDriver client over fetch. */
class Driver {
  constructor(base, session) {
    this.base = base;
    this.session = session;
  }

  static async request(base, method, path, body) {
    const res = await fetch(base + path, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) {
      throw new Error(`${method} ${path}: ${json.value?.error}: ${json.value?.message}`);
    }
    return json.value;
  }

  /** Starts tauri-driver with `env` (the app inherits it) and opens a session on `app`. */
  static async open(procs, app, env) {
    const port = await freePort();
    const nativePort = await freePort();
    const driver = procs.start(
      'tauri-driver',
      'tauri-driver',
      ['--port', String(port), '--native-port', String(nativePort), '--native-driver', '/usr/bin/WebKitWebDriver'],
      { env },
    );
    const base = `http://127.0.0.1:${port}`;
    await until('tauri-driver to listen', async () => {
      if (driver.exitCode !== null) throw new Error(`tauri-driver exited with ${driver.exitCode}`);
      const status = await Driver.request(base, 'GET', '/status');
      return status.ready ? true : undefined;
    });
    const created = await Driver.request(base, 'POST', '/session', {
      capabilities: { alwaysMatch: { 'tauri:options': { application: app } } },
    });
    return new Driver(base, created.sessionId);
  }

  cmd(method, path, body) {
    return Driver.request(this.base, method, `/session/${this.session}${path}`, body);
  }

  async find(css) {
    return (await this.cmd('POST', '/element', { using: 'css selector', value: css }))[ELEMENT];
  }

  async findAll(css) {
    const els = await this.cmd('POST', '/elements', { using: 'css selector', value: css });
    return els.map((e) => e[ELEMENT]);
  }

  /** Waits until `css` matches an element and returns it. */
  waitFor(css) {
    return until(`an element matching ${css}`, () => this.find(css));
  }

  text(el) {
    return this.cmd('GET', `/element/${el}/text`);
  }

  attribute(el, name) {
    return this.cmd('GET', `/element/${el}/attribute/${name}`);
  }

  async texts(css) {
    return Promise.all((await this.findAll(css)).map((el) => this.text(el)));
  }

  click(el) {
    return this.cmd('POST', `/element/${el}/click`, {});
  }

  async type(el, text) {
    await this.cmd('POST', `/element/${el}/clear`, {});
    return this.cmd('POST', `/element/${el}/value`, { text });
  }

  async screenshot(name) {
    // Data-URL images decode asynchronously: wait for them, or the shot misses the logo.
    await until('images to load', async () =>
      (await this.cmd('POST', '/execute/sync', {
        script: 'return [...document.images].every((i) => i.complete)',
        args: [],
      }))
        ? true
        : undefined,
    );
    // WebKit's screenshot is the last painted frame, which can predate the DOM the
    // assertions just read: wait for two animation frames so the current one is painted.
    await this.cmd('POST', '/execute/async', {
      script:
        'const done = arguments[arguments.length - 1];' +
        'requestAnimationFrame(() => requestAnimationFrame(() => done(true)));',
      args: [],
    });
    const png = Buffer.from(await this.cmd('GET', '/screenshot'), 'base64');
    mkdirSync(SHOTS, { recursive: true });
    const file = join(SHOTS, name);
    writeFileSync(file, png);
    return file;
  }

  async quit() {
    await this.cmd('DELETE', '');
  }
}

describe('the Weft window', { concurrency: false }, () => {
  const procs = new Processes();
  let scratch;
  let display;

  before(async () => {
    assert.ok(existsSync(WEFT), `no weft binary at ${WEFT}: run \`make build\` first`);
    assert.ok(process.env.DBUS_SESSION_BUS_ADDRESS, 'run this inside scripts/with-keyring.sh');
    scratch = mkdtempSync(join(tmpdir(), 'weft-e2e-'));
    display = await startXvfb(procs);
  });

  after(async () => {
    await procs.stopAll();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** Opens the app on workspace `home`; runs `body(driver)`; always closes it. */
  async function withApp(home, body) {
    const env = { ...process.env, DISPLAY: display, WEFT_HOME: home };
    delete env.WAYLAND_DISPLAY;
    const appProcs = new Processes();
    let driver;
    try {
      driver = await Driver.open(appProcs, WEFT, env);
      await body(driver);
    } catch (e) {
      e.message += `\n${appProcs.logs()}`;
      throw e;
    } finally {
      await driver?.quit().catch(() => {});
      await appProcs.stopAll();
    }
  }

  test('lists the documents of an existing workspace', async () => {
    const home = join(scratch, 'existing');
    weft(home, 'init', '--name', 'Test');
    weft(home, 'new', 'note', 'Hello world', '--folder', 'Inbox');
    weft(home, 'new', 'record', 'Reading list');

    await withApp(home, async (d) => {
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

  test('creates a workspace from the empty screen, keys in the keyring', async () => {
    const home = join(scratch, 'fresh');
    await withApp(home, async (d) => {
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
    await withApp(home, async (d) => {
      await d.waitFor('[data-testid="doc-list"]');
      assert.deepEqual(await d.texts('[data-testid="doc-row"] .doc-title'), ['Written by the CLI']);
    });
  });

  test('asks for the passphrase of a workspace whose keys are in a file', async () => {
    const home = join(scratch, 'locked');
    const pass = { WEFT_PASSPHRASE: 'open sesame' };
    weftWith(pass, home, 'init', '--name', 'Locked', '--passphrase');
    weftWith(pass, home, 'new', 'note', 'Secret plans');

    await withApp(home, async (d) => {
      await d.waitFor('[data-testid="locked"]');
      const input = await d.find('#ws-pass');
      const submit = await d.find('[data-testid="locked"] button[type="submit"]');
      await d.type(input, 'not it');
      await d.click(submit);
      const error = await d.waitFor('[data-testid="locked"] .error');
      assert.equal(await d.attribute(error, 'data-code'), 'keys');
      await d.screenshot('locked.png');

      await d.type(input, 'open sesame');
      await d.click(submit);
      await d.waitFor('[data-testid="doc-list"]');
      assert.deepEqual(await d.texts('[data-testid="doc-row"] .doc-title'), ['Secret plans']);
      assert.equal(await d.text(await d.find('[data-testid="workspace-name"]')), 'Locked');
    });
  });
});
