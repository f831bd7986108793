// The window: one screen per workspace state (missing, locked, open), plus loading
// and error screens. State lives here; api.ts talks to the shell; tree.ts and
// format.ts are the pure parts.
import './style.css';
import {
  ApiError,
  createWorkspace,
  listDocuments,
  toApiError,
  unlockWorkspace,
  workspaceStatus,
  type DocSummary,
  type WorkspaceView,
} from './api';
import { h } from './dom';
import { formatFull, formatUpdated } from './format';
import { buildTree, flatten, type Row } from './tree';
// Small enough for Vite to inline as a data: URL, which the CSP allows for images.
import iconUrl from '../../icons/128x128.png';

const root = document.getElementById('app') as HTMLElement;
const collapsed = new Set<string>();

function show(...children: Node[]): void {
  root.replaceChildren(...children);
}

function brand(): HTMLElement {
  return h('span', { class: 'brand' }, h('img', { class: 'mark', src: iconUrl, alt: '' }), 'Weft');
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
  show(h('header', {}, brand()), h('main', { class: 'centered' }, form));
  name.select();
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
        // `keys`: the passphrase did not open the key file; let the user retype it.
        if (err.code === 'keys') pass.select();
        slot.replaceChildren(errorNote(err));
      });
  });
  show(h('header', {}, brand()), h('main', { class: 'centered' }, form));
  pass.focus();
}

function kindLabel(kind: DocSummary['kind']): string {
  return kind === 'note' ? 'Note' : 'Record';
}

// Indentation goes through the CSSOM: the CSP (tauri.conf.json) forbids inline
// style attributes, but not styles set from script.
function indented<T extends HTMLElement>(el: T, depth: number): T {
  el.style.setProperty('--depth', String(depth));
  return el;
}

function rowElement(row: Row, now: Date, rerender: () => void): HTMLElement {
  if (row.type === 'folder') {
    const toggle = indented(
      h(
        'button',
        { type: 'button', class: 'folder', 'aria-expanded': String(row.expanded) },
        h('span', { class: 'chevron', 'aria-hidden': 'true' }),
        h('span', { class: 'name' }, row.node.name),
        h('span', { class: 'count' }, String(row.count)),
      ),
      row.depth,
    );
    toggle.addEventListener('click', () => {
      if (collapsed.has(row.node.key)) collapsed.delete(row.node.key);
      else collapsed.add(row.node.key);
      rerender();
    });
    return h('li', { class: 'row folder-row', 'data-testid': 'folder-row' }, toggle);
  }
  const { doc } = row;
  return h(
    'li',
    { class: 'row doc-row', 'data-testid': 'doc-row', 'data-doc-id': doc.id, title: doc.path },
    indented(
      h(
        'span',
        { class: 'title' },
        h('span', { class: `icon ${doc.kind}`, 'aria-hidden': 'true' }),
        h('span', { class: 'doc-title' }, doc.title),
      ),
      row.depth,
    ),
    h('span', { class: `kind ${doc.kind}` }, kindLabel(doc.kind)),
    h('time', { datetime: doc.updated, title: formatFull(doc.updated) }, formatUpdated(doc.updated, now)),
  );
}

function workspace(view: Extract<WorkspaceView, { state: 'open' }>, docs: DocSummary[]): void {
  const tree = buildTree(docs);
  const list = h('ul', { class: 'doc-list', 'data-testid': 'doc-list', 'aria-label': 'Documents' });
  const render = (): void => {
    const now = new Date();
    list.replaceChildren(...flatten(tree, collapsed).map((r) => rowElement(r, now, render)));
  };
  render();
  const count = `${docs.length} ${docs.length === 1 ? 'document' : 'documents'}`;
  const body =
    docs.length === 0
      ? h(
          'section',
          { class: 'empty', 'data-testid': 'empty' },
          h('h2', {}, 'No documents yet'),
          h('p', { class: 'muted' }, 'Create one from a terminal: ', h('code', {}, 'weft new note "Title"')),
        )
      : h(
          'section',
          { class: 'docs' },
          h(
            'div',
            { class: 'row head', 'aria-hidden': 'true' },
            h('span', {}, 'Title'),
            h('span', {}, 'Kind'),
            h('span', {}, 'Updated'),
          ),
          list,
        );
  show(
    h(
      'header',
      {},
      brand(),
      h('span', { class: 'ws-name', 'data-testid': 'workspace-name', title: view.home }, view.name),
      h('span', { class: 'spacer' }),
      h('span', { class: 'muted' }, count),
    ),
    h('main', {}, body),
  );
}

async function opened(view: WorkspaceView): Promise<void> {
  switch (view.state) {
    case 'missing':
      missing(view);
      return;
    case 'locked':
      locked(view);
      return;
    case 'open':
      loading('Loading documents…');
      workspace(view, await listDocuments());
      return;
  }
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
