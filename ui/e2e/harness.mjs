// The harness of the real-window tests: WebKitGTK under Xvfb, driven over WebDriver
// (tauri-driver in front of Debian's WebKitWebDriver). Node's own test runner and fetch
// only, so it needs no npm packages. Every test file imports it.
//
// Run the tests inside scripts/with-keyring.sh (`make test` does): the app keeps workspace
// keys in the Secret Service, which needs a session bus and an unlocked keyring.
//   scripts/with-keyring.sh node --test ui/e2e/
// WEFT_BIN overrides the binary (default: <cargo target dir>/debug/weft, CARGO_TARGET_DIR
// honoured).
// Screenshots land in target/ui-screenshots/.

import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const REPO = resolve(import.meta.dirname, '../..');
export const SHOTS = join(REPO, 'target', 'ui-screenshots');
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf'; // the W3C WebDriver element key
// Upper bound for a condition (the window showing something, a sync arriving); a slow
// CI machine is far below it.
export const WAIT_MS = 30_000;

/** WebDriver's codes for the keys that are not characters (W3C WebDriver, "Keys"). */
export const KEY = {
  null: '\uE000',
  backspace: '\uE003',
  tab: '\uE004',
  enter: '\uE007',
  shift: '\uE008',
  control: '\uE009',
  escape: '\uE00C',
  end: '\uE010',
  home: '\uE011',
  delete: '\uE017',
  f2: '\uE032',
};

function weftBinary() {
  if (process.env.WEFT_BIN) return resolve(process.env.WEFT_BIN);
  // Cargo's own rule, without the seconds `cargo metadata` takes.
  if (process.env.CARGO_TARGET_DIR) return resolve(REPO, process.env.CARGO_TARGET_DIR, 'debug', 'weft');
  const meta = JSON.parse(
    execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], {
      cwd: REPO,
      encoding: 'utf8',
    }),
  );
  return join(meta.target_directory, 'debug', 'weft');
}

export const WEFT = weftBinary();

/** Runs the `weft` CLI against a workspace home, with extra `env`; returns its stdout. */
export function weftWith(env, home, ...args) {
  return execFileSync(WEFT, ['--home', home, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
}

export function weft(home, ...args) {
  return weftWith({}, home, ...args);
}

/** `weft` for its messages: what it says on stderr (confirmations, summaries), not its data. */
export function weftMessages(home, ...args) {
  const r = spawnSync(WEFT, ['--home', home, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`weft ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stderr;
}

/**
 * `weft` without blocking the event loop (the test keeps typing meanwhile): resolves
 * with stdout (or, with `want` 'stderr', its messages), rejects with stderr on a
 * non-zero exit. `input` goes to stdin.
 */
export function weftAsync(env, home, args, input, want = 'stdout') {
  return new Promise((ok, fail) => {
    const child = execFile(
      WEFT,
      ['--home', home, ...args],
      { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 },
      (err, stdout, stderr) => {
        if (err) {
          err.message += `\nweft ${args.join(' ')}\nstdout: ${stdout}\nstderr: ${stderr}`;
          fail(err);
        } else ok(want === 'stderr' ? stderr : stdout);
      },
    );
    child.stdin.end(input ?? '');
  });
}

/**
 * Makes `home` (created if missing) a workspace home whose node never leaves this
 * machine: any free port, no mDNS (multicast would reach the host's real network).
 * The app reads `<home>/weft.toml` as `weft daemon` does.
 */
export function quietHome(home, extra = '') {
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'weft.toml'), `[net]\nport = 0\nmdns = false\n${extra}`);
  return home;
}

/** Whether process `pid` still runs. */
export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/** Polls `probe` until it returns a value other than undefined, or fails after `ms`. */
export async function until(what, probe, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
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
export class Processes {
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
export async function startXvfb(procs) {
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
export class Driver {
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

  /** Elements matching `css` inside element `el`. */
  async findAllIn(el, css) {
    const els = await this.cmd('POST', `/element/${el}/elements`, { using: 'css selector', value: css });
    return els.map((e) => e[ELEMENT]);
  }

  async findIn(el, css) {
    return (await this.cmd('POST', `/element/${el}/element`, { using: 'css selector', value: css }))[ELEMENT];
  }

  /** Waits until `css` matches an element and returns it. */
  waitFor(css) {
    return until(`an element matching ${css}`, () => this.find(css));
  }

  /** Waits until `css` matches nothing. */
  waitGone(css) {
    return until(`no element matching ${css}`, async () => ((await this.findAll(css)).length === 0 ? true : undefined));
  }

  text(el) {
    return this.cmd('GET', `/element/${el}/text`);
  }

  attribute(el, name) {
    return this.cmd('GET', `/element/${el}/attribute/${name}`);
  }

  property(el, name) {
    return this.cmd('GET', `/element/${el}/property/${name}`);
  }

  async texts(css) {
    return Promise.all((await this.findAll(css)).map((el) => this.text(el)));
  }

  click(el) {
    return this.cmd('POST', `/element/${el}/click`, {});
  }

  /** Clears a form control and types `text` into it. */
  async type(el, text) {
    await this.cmd('POST', `/element/${el}/clear`, {});
    return this.cmd('POST', `/element/${el}/value`, { text });
  }

  /** Element Send Keys: focuses `el` and types `text` (KEY codes allowed) where its caret is. */
  sendKeys(el, text) {
    return this.cmd('POST', `/element/${el}/value`, { text });
  }

  /** Presses `key` with Ctrl held (a shortcut), at whatever has the focus. */
  ctrl(key) {
    return this.cmd('POST', '/actions', {
      actions: [
        {
          type: 'key',
          id: 'keyboard',
          actions: [
            { type: 'keyDown', value: KEY.control },
            { type: 'keyDown', value: key },
            { type: 'keyUp', value: key },
            { type: 'keyUp', value: KEY.control },
          ],
        },
      ],
    });
  }

  /** Types `text` at whatever has the focus (Perform Actions, one key at a time). */
  keys(text) {
    const actions = [];
    for (const ch of text) actions.push({ type: 'keyDown', value: ch }, { type: 'keyUp', value: ch });
    return this.cmd('POST', '/actions', { actions: [{ type: 'key', id: 'keyboard', actions }] });
  }

  execute(script, ...args) {
    return this.cmd('POST', '/execute/sync', { script, args });
  }

  async screenshot(name) {
    // Data-URL images decode asynchronously: wait for them, or the shot misses the logo.
    await until('images to load', async () =>
      (await this.execute('return [...document.images].every((i) => i.complete)')) ? true : undefined,
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

// Sends WM_DELETE_WINDOW (what a window manager's close button sends) to the X windows
// given as arguments. Through libX11 with ctypes: Debian 12's xdotool (3.20160805) has no
// command that sends it (windowclose destroys the window, windowkill kills the client),
// and without a window manager nothing else would.
const CLOSE_WINDOWS_PY = `
import ctypes, sys
x = ctypes.cdll.LoadLibrary('libX11.so.6')
x.XOpenDisplay.restype = ctypes.c_void_p
x.XOpenDisplay.argtypes = [ctypes.c_char_p]
x.XInternAtom.restype = ctypes.c_ulong
x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
x.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
x.XFlush.argtypes = [ctypes.c_void_p]
x.XCloseDisplay.argtypes = [ctypes.c_void_p]
class ClientMessage(ctypes.Structure):
    _fields_ = [('type', ctypes.c_int), ('serial', ctypes.c_ulong), ('send_event', ctypes.c_int),
                ('display', ctypes.c_void_p), ('window', ctypes.c_ulong), ('message_type', ctypes.c_ulong),
                ('format', ctypes.c_int), ('l', ctypes.c_long * 5), ('pad', ctypes.c_long * 12)]
d = x.XOpenDisplay(None)
if not d:
    sys.exit('cannot open the display')
protocols = x.XInternAtom(d, b'WM_PROTOCOLS', 0)
delete = x.XInternAtom(d, b'WM_DELETE_WINDOW', 0)
for w in sys.argv[1:]:
    e = ClientMessage(type=33, window=int(w), message_type=protocols, format=32)  # 33: ClientMessage
    e.l[0] = delete
    x.XSendEvent(d, int(w), 0, 0, ctypes.byref(e))
x.XFlush(d)
x.XCloseDisplay(d)
`;

/**
 * One Xvfb and one tauri-driver for a test file, and a scratch directory; each app is a
 * WebDriver session on it (`weft --home H` is the application). An extra `env` for the
 * app (GTK_THEME) gets its own tauri-driver, since the app inherits the driver's
 * environment.
 */
export class Desktop {
  procs = new Processes();
  #drivers = new Map();
  scratch;
  display;

  static async start() {
    assert.ok(existsSync(WEFT), `no weft binary at ${WEFT}: run \`make build\` first`);
    assert.ok(process.env.DBUS_SESSION_BUS_ADDRESS, 'run this inside scripts/with-keyring.sh');
    const d = new Desktop();
    d.scratch = mkdtempSync(join(tmpdir(), 'weft-e2e-'));
    d.display = await startXvfb(d.procs);
    return d;
  }

  /** The environment of apps and of commands that must see this display. */
  env(extra = {}) {
    // One locale for every run: WebKit lays out a date input's fields by it (C: MM/DD/YYYY),
    // and the tests type dates field by field.
    const env = { ...process.env, DISPLAY: this.display, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', ...extra };
    delete env.WAYLAND_DISPLAY;
    return env;
  }

  /** A fresh directory under the scratch dir. */
  dir(name) {
    const p = join(this.scratch, name);
    mkdirSync(p, { recursive: true });
    return p;
  }

  async #driverBase(extra) {
    const key = JSON.stringify(extra);
    if (!this.#drivers.has(key)) {
      const start = (async () => {
        const port = await freePort();
        const nativePort = await freePort();
        const driver = this.procs.start(
          `tauri-driver ${key}`,
          'tauri-driver',
          ['--port', String(port), '--native-port', String(nativePort), '--native-driver', '/usr/bin/WebKitWebDriver'],
          { env: this.env(extra) },
        );
        const base = `http://127.0.0.1:${port}`;
        await until('tauri-driver to listen', async () => {
          if (driver.exitCode !== null) throw new Error(`tauri-driver exited with ${driver.exitCode}`);
          const status = await Driver.request(base, 'GET', '/status');
          return status.ready ? true : undefined;
        });
        return base;
      })();
      this.#drivers.set(key, start);
    }
    return this.#drivers.get(key);
  }

  /** Opens the app on workspace `home` (a new WebDriver session). */
  async open(home, extraEnv = {}) {
    const base = await this.#driverBase(extraEnv);
    const created = await Driver.request(base, 'POST', '/session', {
      capabilities: { alwaysMatch: { 'tauri:options': { application: WEFT, args: ['--home', home] } } },
    });
    const d = new Driver(base, created.sessionId);
    d.home = home;
    return d;
  }

  /** Ids of the top-level windows titled "Weft" on this display (`xdotool search`). */
  windows() {
    try {
      return execFileSync('xdotool', ['search', '--name', '^Weft$'], { env: this.env(), encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.trim() !== '');
    } catch (e) {
      // xdotool exits 1 when nothing matches.
      if (e.status === 1) return [];
      throw e;
    }
  }

  /** The process that owns X window `w` (_NET_WM_PID, which GTK sets). */
  windowPid(w) {
    return Number(execFileSync('xdotool', ['getwindowpid', w], { env: this.env(), encoding: 'utf8' }).trim());
  }

  /**
   * Closes the app the way a user does: its window gets WM_DELETE_WINDOW (the close
   * button), Tauri's exit handler stops the node (snapshots written, peers told), and the
   * process exits by itself. Ending the WebDriver session alone would not do: the driver
   * SIGKILLs the browser process it started, so the app's exit path would never run.
   */
  async close(driver) {
    const wins = this.windows();
    const pids = new Set(wins.map((w) => this.windowPid(w)).filter((pid) => pid > 0));
    try {
      if (wins.length > 0) execFileSync('python3', ['-c', CLOSE_WINDOWS_PY, ...wins], { env: this.env() });
      for (const pid of pids) {
        await until(`the app (pid ${pid}) to exit after its window was closed`, () => (alive(pid) ? undefined : true));
      }
    } finally {
      await driver.quit().catch(() => {});
    }
  }

  /**
   * Opens the app on `home`, runs `body(driver)`, closes it. The app must then exit by
   * itself (a hang on the way out fails the test); after a failure it is killed.
   */
  async withApp(home, body, extraEnv = {}) {
    let driver;
    try {
      driver = await this.open(home, extraEnv);
      const result = await body(driver);
      const d = driver;
      driver = undefined;
      await this.close(d);
      return result;
    } catch (e) {
      e.message += `\n${this.procs.logs()}`;
      throw e;
    } finally {
      if (driver) await this.close(driver).catch(() => {});
    }
  }

  async stop() {
    await this.procs.stopAll();
    if (this.scratch) rmSync(this.scratch, { recursive: true, force: true });
  }
}
