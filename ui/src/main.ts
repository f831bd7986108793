// The window: one screen per workspace state (missing, locked, open), plus loading
// and error screens. The open workspace is views/workspace.ts; api.ts talks to the
// shell; tree.ts, dnd.ts, fields.ts, format.ts, sync.ts and highlight.ts are the pure parts.
import './style.css';
import {
  ApiError,
  createWorkspace,
  joinWorkspace,
  fromTable,
  listTable,
  toApiError,
  unlockWorkspace,
  workspaceStatus,
  type WorkspaceView,
} from './api';
import { h } from './dom';
import { brand } from './views/brand';
import { preloadEditor } from './views/note';
import { mountWorkspace } from './views/workspace';

const root = document.getElementById('app') as HTMLElement;
/** Tears down the open workspace's listeners before another screen replaces it. */
let teardown: (() => void) | null = null;

function show(...children: Node[]): void {
  teardown?.();
  teardown = null;
  root.replaceChildren(...children);
}

function errorNote(e: ApiError): HTMLElement {
  return h(
    'p',
    { class: 'error', role: 'alert', 'data-code': e.code },
    e.message,
  );
}

function loading(text: string): void {
  show(h('main', { class: 'centered' }, h('p', { class: 'muted', 'aria-busy': 'true' }, text)));
}

function failed(e: ApiError): void {
  const retry = h('button', { type: 'button' }, 'Try again');
  retry.addEventListener('click', () => void start());
  show(
    h(
      'main',
      { class: 'centered', 'data-testid': 'error' },
      h('section', { class: 'card' }, h('h1', {}, 'Weft could not open the workspace'), errorNote(e), retry),
    ),
  );
}

function missing(view: Extract<WorkspaceView, { state: 'missing' }>): void {
  const name = h('input', {
    id: 'ws-name',
    name: 'name',
    value: 'My workspace',
    required: true,
    autocomplete: 'off',
  });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create workspace');
  const slot = h('div', {});
  const form = h(
    'form',
    { class: 'card', 'data-testid': 'no-workspace' },
    h('h1', {}, 'No workspace yet'),
    h(
      'p',
      { class: 'muted' },
      'A workspace keeps your notes and records in ',
      h('code', {}, view.home),
      '. Its keys are stored in your system keyring.',
    ),
    h('label', { for: 'ws-name' }, 'Name'),
    name,
    slot,
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    createWorkspace(name.value)
      .then(opened)
      .catch((e: unknown) => {
        const err = toApiError(e);
        submit.disabled = false;
        slot.replaceChildren(errorNote(err));
        if (err.code === 'invalid_name') name.focus();
      });
  });
  show(h('header', {}, brand()), h('main', { class: 'centered' }, h('div', { class: 'choices' }, form, joinForm())));
  name.select();
}

/** Joining the workspace of another device with the invite code it showed. */
function joinForm(): HTMLElement {
  const code = h('textarea', {
    id: 'join-code',
    name: 'code',
    'data-testid': 'join-code',
    rows: '4',
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'weft1-…',
  });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Join workspace');
  const slot = h('div', {});
  const form = h(
    'form',
    { class: 'card', 'data-testid': 'join-workspace' },
    h('h1', {}, 'Join a workspace'),
    h(
      'p',
      { class: 'muted' },
      'On a device that has the workspace, choose ',
      h('strong', {}, 'Add a device'),
      ' (or run ',
      h('code', {}, 'weft invite'),
      ') and paste the code here.',
    ),
    h('label', { for: 'join-code' }, 'Invite code'),
    code,
    slot,
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = code.value.trim();
    if (text === '') return;
    submit.disabled = true;
    // Joining reaches the other device first, which can take a while.
    slot.replaceChildren(h('p', { class: 'muted', 'aria-busy': 'true' }, 'Joining: reaching the other device…'));
    joinWorkspace(text)
      .then(opened)
      .catch((e: unknown) => {
        submit.disabled = false;
        slot.replaceChildren(errorNote(toApiError(e)));
        code.focus();
      });
  });
  return form;
}

function locked(view: Extract<WorkspaceView, { state: 'locked' }>): void {
  const pass = h('input', {
    id: 'ws-pass',
    type: 'password',
    name: 'passphrase',
    required: true,
    autocomplete: 'current-password',
  });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Unlock');
  const slot = h('div', {});
  const form = h(
    'form',
    { class: 'card', 'data-testid': 'locked' },
    h('h1', {}, 'This workspace is locked'),
    h(
      'p',
      { class: 'muted' },
      'The keys of the workspace in ',
      h('code', {}, view.home),
      ' are in a passphrase-protected file.',
    ),
    h('label', { for: 'ws-pass' }, 'Passphrase'),
    pass,
    slot,
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    unlockWorkspace(pass.value)
      .then(opened)
      .catch((e: unknown) => {
        const err = toApiError(e);
        submit.disabled = false;
        // The passphrase did not open the key file: let the user retype it.
        if (err.code === 'wrong_passphrase') pass.select();
        slot.replaceChildren(errorNote(err));
      });
  });
  show(h('header', {}, brand()), h('main', { class: 'centered' }, form));
  pass.focus();
}

async function opened(view: WorkspaceView): Promise<void> {
  switch (view.state) {
    case 'missing':
      missing(view);
      return;
    case 'locked':
      locked(view);
      return;
    case 'open': {
      loading('Loading documents…');
      // Steps of the cold-start benchmark (see markFirstPaint).
      performance.mark('weft:start:opened');
      const table = await listTable();
      performance.mark('weft:start:received');
      const list = fromTable(table);
      performance.mark('weft:start:listed');
      teardown = mountWorkspace(root, view, list);
      performance.mark('weft:start:mounted');
      markFirstPaint();
      preloadEditor();
      return;
    }
  }
}

declare global {
  interface Window {
    /** ms after `performance.timeOrigin` when the tree was first painted (ui/bench/window.mjs). */
    __weftFirstPaint?: number;
    /** `performance.timeOrigin`, the page's start in ms since the epoch, for the same bench. */
    __weftTimeOrigin?: number;
  }
}

/**
 * For the cold-start benchmark (ui/bench/window.mjs): marks the first paint of the
 * workspace's tree, once. The tree is in the DOM when mountWorkspace returns; the
 * animation frame is the one that lays it out and paints it, and the message posted
 * from it is delivered after that frame's rendering (a rAF callback alone runs before
 * layout, which for 1,000 rows is part of what the user waits for; `weft:start:frame`
 * marks the callback, so the bench shows both).
 */
function markFirstPaint(): void {
  if (window.__weftFirstPaint !== undefined) return;
  requestAnimationFrame(() => {
    performance.mark('weft:start:frame');
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      if (window.__weftFirstPaint !== undefined) return;
      performance.mark('weft:first-paint');
      window.__weftFirstPaint = performance.now();
      window.__weftTimeOrigin = performance.timeOrigin;
    };
    ch.port2.postMessage(null);
  });
}

async function start(): Promise<void> {
  loading('Opening workspace…');
  try {
    await opened(await workspaceStatus());
  } catch (e) {
    failed(toApiError(e));
  }
}

void start();
