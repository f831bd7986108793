// The sidebar: the workspace tree (folders, notes, records) with create, rename, move
// (drag and drop, or cut and paste from the keyboard), move to the trash, and a way
// into the Trash view. The rules of what goes where are in ../tree.ts and ../dnd.ts.
import { attachRest, replaceInChunks } from './chunked';
import './sidebar.css';
import {
  createFolder,
  createNote,
  createRecord,
  moveDoc,
  moveFolder,
  renameDoc,
  renameFolder,
  restoreDoc,
  trashDoc,
  type DocKind,
} from '../api';
import { canMove, describeTarget, dropTarget, itemOf, type MoveItem } from '../dnd';
import { h } from '../dom';
import { buildTree, flatten, folderForNew, folderKey, navigate, renameFolderKeys, rowKey, trashed, type Row } from '../tree';
import type { App } from './app';
import { indented } from './brand';
import { openMenu, type MenuItem } from './menu';
import { showInfo } from './toast';

export type NewKind = DocKind | 'folder';

export interface Sidebar {
  el: HTMLElement;
  /** Redraws from the app's documents and folders (deferred while a name is typed or
   *  something is dragged, so neither is cut off by a sync). */
  render(): void;
  /** Starts creating a note, record or folder in the selected folder. */
  startCreate(kind: NewKind): void;
  /** Highlights the open document's row. */
  setOpen(id: string | null): void;
}

const KIND_NAMES: Record<NewKind, string> = { note: 'note', record: 'record', folder: 'folder' };

const REFUSALS = {
  'same-place': 'It is already there.',
  'into-itself': 'A folder cannot go into itself or a folder inside it.',
} as const;

function pathText(path: readonly string[]): string {
  return path.join('/');
}

export function createSidebar(app: App): Sidebar {
  const collapsed = new Set<string>();
  let rows: Row[] = [];
  let selected: string | null = null;
  /** The row being renamed (its key). */
  let renaming: string | null = null;
  /** A new note/record/folder being named, and where it goes. */
  let creating: { kind: NewKind; folder: string[] } | null = null;
  let dragging: MoveItem | null = null;
  let cut: MoveItem | null = null;
  let deferred = false;

  const list = h('ul', {
    class: 'tree',
    role: 'tree',
    'data-testid': 'tree',
    'aria-label': 'Workspace',
  });
  const rootZone = h(
    'div',
    { class: 'tree-root-drop', 'data-testid': 'tree-root', 'aria-hidden': 'true' },
    'Drop here to move to the top level',
  );
  const box = h('div', { class: 'tree-box' }, list, rootZone);

  const newButton = (kind: NewKind, label: string): HTMLButtonElement => {
    const b = h(
      'button',
      { type: 'button', class: `tool new-${kind}`, 'data-testid': `new-${kind}`, title: `New ${KIND_NAMES[kind]} in the selected folder` },
      h('span', { class: `icon ${kind}`, 'aria-hidden': 'true' }),
      label,
    );
    b.addEventListener('click', () => startCreate(kind));
    return b;
  };
  const trashButton = h('button', { type: 'button', class: 'tool trash-view', 'data-testid': 'trash-view' });
  trashButton.addEventListener('click', () => void app.showTrash());

  const el = h(
    'nav',
    { class: 'sidebar', 'aria-label': 'Documents' },
    h(
      'div',
      { class: 'sidebar-tools', role: 'toolbar', 'aria-label': 'Create' },
      newButton('note', 'Note'),
      newButton('record', 'Record'),
      newButton('folder', 'Folder'),
    ),
    box,
    h('div', { class: 'sidebar-foot' }, trashButton),
  );

  const selectedRow = (): Row | undefined => rows.find((r) => rowKey(r) === selected);

  // --- rendering ---------------------------------------------------------------------

  function render(): void {
    if (renaming !== null || creating !== null || dragging !== null) {
      deferred = true;
      return;
    }
    draw();
  }

  function draw(): void {
    deferred = false;
    const hadFocus = list.contains(document.activeElement);
    rows = flatten(buildTree(app.docs(), app.folders()), collapsed);
    if (selected !== null && !rows.some((r) => rowKey(r) === selected)) selected = null;
    // The tree's rows, with the name input of a new item where it goes. Rows are made
    // as they are attached (chunked.ts), so they read the open document then.
    type Item = { row: Row } | { create: { kind: NewKind; folder: string[] }; depth: number };
    const items: Item[] = [];
    if (creating && creating.folder.length === 0) items.push({ create: creating, depth: 0 });
    for (const row of rows) {
      items.push({ row });
      if (creating && row.type === 'folder' && folderKey(creating.folder) === row.node.key) {
        items.push({ create: creating, depth: row.depth + 1 });
      }
    }
    replaceInChunks(
      list,
      items,
      (it) => ('row' in it ? rowElement(it.row, app.openId()) : createRow(it.create, it.depth)),
      creating !== null || renaming !== null,
    );
    if (rows.length === 0 && !creating) {
      list.append(h('li', { class: 'tree-empty muted', role: 'none' }, 'Nothing here yet.'));
    }
    const inTrash = trashed(app.allDocs()).length;
    trashButton.replaceChildren(
      h('span', { class: 'icon trash', 'aria-hidden': 'true' }),
      inTrash > 0 ? `Trash (${inTrash})` : 'Trash',
    );
    // Roving tabindex: one row is in the tab order, the selected one or the first. A
    // selected row not attached yet takes it when it is made (rowElement).
    const current =
      list.querySelector<HTMLElement>('[aria-selected="true"]') ??
      (selected === null ? list.querySelector<HTMLElement>('[data-testid="tree-row"]') : null);
    current?.setAttribute('tabindex', '0');
    const input = list.querySelector<HTMLInputElement>('input');
    if (input) {
      input.focus();
      input.select();
    } else if (hadFocus) current?.focus();
  }

  function rowElement(row: Row, openId: string | null): HTMLElement {
    const key = rowKey(row);
    const isSelected = key === selected;
    const common = {
      role: 'treeitem',
      'data-testid': 'tree-row',
      'aria-level': String(row.depth + 1),
      'aria-selected': String(isSelected),
      tabindex: isSelected ? '0' : '-1',
      draggable: 'true',
    };
    let li: HTMLLIElement;
    if (row.type === 'folder') {
      const twisty = h('span', { class: 'twisty', 'aria-hidden': 'true' });
      twisty.addEventListener('click', (ev) => {
        ev.stopPropagation();
        toggle(row.node.key);
      });
      li = h(
        'li',
        {
          ...common,
          class: 'tree-row folder',
          'data-id': JSON.stringify(row.node.path),
          'data-kind': 'folder',
          'data-path': pathText(row.node.path),
          'aria-expanded': String(row.expanded),
          title: pathText(row.node.path),
        },
        twisty,
        h('span', { class: 'icon folder', 'aria-hidden': 'true' }),
        renaming === key ? renameInput(row) : h('span', { class: 'tree-label' }, row.node.name),
        h('span', { class: 'tree-count', 'aria-label': `${row.count} documents` }, String(row.count)),
      );
    } else {
      const { doc } = row;
      const label =
        renaming === key ? renameInput(row) : h('span', { class: 'tree-label' }, doc.title === '' ? 'Untitled' : doc.title);
      const trash = h(
        'button',
        {
          type: 'button',
          class: 'row-action',
          tabindex: '-1',
          'data-testid': 'trash-doc',
          'aria-label': `Move “${doc.title}” to the trash`,
          title: 'Move to the trash (Delete)',
        },
        h('span', { class: 'icon trash', 'aria-hidden': 'true' }),
      );
      trash.addEventListener('click', (ev) => {
        ev.stopPropagation();
        void trash_(row);
      });
      li = h(
        'li',
        {
          ...common,
          class: `tree-row doc${doc.id === openId ? ' open' : ''}`,
          'data-id': doc.id,
          'data-kind': doc.kind,
          'data-path': doc.path,
          'aria-current': doc.id === openId ? 'page' : undefined,
          title: doc.path,
        },
        h('span', { class: 'twisty none', 'aria-hidden': 'true' }),
        h('span', { class: `icon ${doc.kind}`, 'aria-hidden': 'true' }),
        label,
        trash,
      );
    }
    if (cut && sameItem(cut, itemOf(row))) li.classList.add('cut');
    indented(li, row.depth);
    li.addEventListener('click', () => activate(row));
    li.addEventListener('dblclick', (ev) => {
      if (row.type === 'doc') {
        ev.preventDefault();
        startRename(row);
      }
    });
    li.addEventListener('contextmenu', (ev) => {
      ev.preventDefault();
      select(key, false);
      showMenu(row, { x: ev.clientX, y: ev.clientY });
    });
    li.addEventListener('dragstart', (ev) => {
      if (renaming !== null || creating !== null) {
        ev.preventDefault();
        return;
      }
      dragging = itemOf(row);
      // WebKit starts a drag only when there is data; the item itself stays here,
      // since dragover handlers may not read it.
      ev.dataTransfer?.setData('text/plain', row.type === 'doc' ? row.doc.path : pathText(row.node.path));
      if (ev.dataTransfer) ev.dataTransfer.effectAllowed = 'move';
      li.classList.add('dragging');
      el.classList.add('drag-active');
    });
    li.addEventListener('dragend', () => endDrag());
    return li;
  }

  function sameItem(a: MoveItem, b: MoveItem): boolean {
    if (a.type === 'doc' && b.type === 'doc') return a.id === b.id;
    if (a.type === 'folder' && b.type === 'folder') return folderKey(a.path) === folderKey(b.path);
    return false;
  }

  // --- selection and keyboard --------------------------------------------------------------

  function rowElements(): HTMLElement[] {
    // Same order as `rows`: the input row of a new item and the empty note are not
    // tree rows.
    return [...list.querySelectorAll<HTMLElement>('[data-testid="tree-row"]')];
  }

  function select(key: string | null, focus = true): void {
    selected = key;
    // The row may be one of those still to be attached after start (End, a long
    // ArrowDown): attach them now, so it can take the focus and scroll into view.
    attachRest(list);
    rowElements().forEach((li, i) => {
      const row = rows[i];
      const on = row !== undefined && rowKey(row) === key;
      li.setAttribute('aria-selected', String(on));
      li.setAttribute('tabindex', on ? '0' : '-1');
      if (on && focus) {
        li.focus();
        li.scrollIntoView?.({ block: 'nearest' });
      }
    });
  }

  /** Marks the open document without a redraw (a redraw between the two clicks of a
   *  double click would lose the second). */
  function setOpen(id: string | null): void {
    rowElements().forEach((li, i) => {
      const row = rows[i];
      const on = row?.type === 'doc' && row.doc.id === id;
      li.classList.toggle('open', on);
      if (on) li.setAttribute('aria-current', 'page');
      else li.removeAttribute('aria-current');
    });
  }

  function toggle(key: string): void {
    if (collapsed.has(key)) collapsed.delete(key);
    else collapsed.add(key);
    render();
  }

  function activate(row: Row): void {
    if (renaming !== null) return;
    select(rowKey(row));
    if (row.type === 'folder') toggle(row.node.key);
    else void app.open(row.doc.id);
  }

  list.addEventListener('keydown', (ev) => {
    if ((ev.target as HTMLElement).tagName === 'INPUT') return;
    const index = rows.findIndex((r) => rowKey(r) === selected);
    const row = rows[index];
    const mod = ev.ctrlKey || ev.metaKey;
    const action = navigate(rows, index, ev.key);
    if (action) {
      ev.preventDefault();
      if (action.type === 'select') {
        const target = rows[action.index];
        if (target) select(rowKey(target));
      } else if (action.type === 'expand') {
        collapsed.delete(action.key);
        render();
      } else {
        collapsed.add(action.key);
        render();
      }
      return;
    }
    if (!row) return;
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      activate(row);
    } else if (ev.key === 'F2') {
      ev.preventDefault();
      startRename(row);
    } else if (ev.key === 'Delete' || (ev.key === 'Backspace' && ev.metaKey)) {
      ev.preventDefault();
      void trash_(row);
    } else if (mod && ev.key.toLowerCase() === 'x') {
      ev.preventDefault();
      cutRow(row);
    } else if (mod && ev.key.toLowerCase() === 'v') {
      ev.preventDefault();
      void paste(dropTarget(row));
    } else if (ev.key === 'Escape' && cut) {
      cut = null;
      render();
    } else if (ev.key === 'ContextMenu' || (ev.shiftKey && ev.key === 'F10')) {
      ev.preventDefault();
      const li = ev.target as HTMLElement;
      const r = li.getBoundingClientRect();
      showMenu(row, { x: r.left + 24, y: r.bottom });
    }
  });

  function showMenu(row: Row, at: { x: number; y: number }): void {
    const li = list.querySelector<HTMLElement>('[aria-selected="true"]') ?? undefined;
    const items: MenuItem[] = [];
    if (row.type === 'doc') items.push({ label: 'Open', run: () => void app.open(row.doc.id) });
    items.push({ label: 'Rename (F2)', testid: 'menu-rename', run: () => startRename(row) });
    items.push({ label: `New note here`, run: () => startCreate('note', dropTarget(row)) });
    items.push({ label: `New folder here`, run: () => startCreate('folder', dropTarget(row)) });
    items.push({ label: 'Cut (Ctrl+X)', testid: 'menu-cut', run: () => cutRow(row) });
    if (cut) {
      items.push({
        label: `Paste into ${describeTarget(dropTarget(row))}`,
        testid: 'menu-paste',
        disabled: !canMove(cut, dropTarget(row)).ok,
        run: () => void paste(dropTarget(row)),
      });
    }
    items.push({ label: 'Move to the top level', disabled: !canMove(itemOf(row), []).ok, run: () => void move(itemOf(row), []) });
    if (row.type === 'doc') {
      items.push({ label: 'Move to the trash (Delete)', testid: 'menu-trash', danger: true, run: () => void trash_(row) });
    }
    openMenu(items, at, row.type === 'doc' ? row.doc.title : row.node.name, li);
  }

  // --- create and rename -------------------------------------------------------------------

  function startCreate(kind: NewKind, folder?: string[]): void {
    if (renaming !== null) return;
    const where = folder ?? folderForNew(selectedRow());
    // Show the input inside the folder: open it and its parents.
    for (let i = 1; i <= where.length; i++) collapsed.delete(folderKey(where.slice(0, i)));
    creating = { kind, folder: where };
    draw();
  }

  function createRow(c: { kind: NewKind; folder: string[] }, depth: number): HTMLElement {
    const input = h('input', {
      class: 'tree-input',
      'data-testid': 'new-name',
      'aria-label': `Name of the new ${KIND_NAMES[c.kind]}${c.folder.length ? ` in ${c.folder.join(' / ')}` : ''}`,
      value: c.kind === 'folder' ? 'New folder' : 'Untitled',
      autocomplete: 'off',
      spellcheck: 'false',
    });
    let done = false;
    const finish = async (commit: boolean): Promise<void> => {
      if (done) return;
      done = true;
      const name = input.value.trim();
      creating = null;
      if (!commit || name === '') {
        draw();
        focusSelected();
        return;
      }
      input.disabled = true;
      try {
        if (c.kind === 'folder') {
          const path = [...c.folder, name];
          await createFolder(path);
          selected = `folder:${folderKey(path)}`;
          await app.refresh();
        } else {
          const doc = c.kind === 'note' ? await createNote(name, c.folder) : await createRecord(name, c.folder);
          selected = `doc:${doc.id}`;
          await app.refresh();
          await app.open(doc.id);
        }
      } catch (e) {
        app.fail(e, `Could not create the ${KIND_NAMES[c.kind]} “${name}”`);
        draw();
      }
    };
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') {
        ev.preventDefault();
        void finish(true);
      } else if (ev.key === 'Escape') {
        ev.preventDefault();
        void finish(false);
      }
    });
    input.addEventListener('blur', () => void finish(true));
    return indented(
      h(
        'li',
        { class: 'tree-row creating', role: 'none' },
        h('span', { class: 'twisty none', 'aria-hidden': 'true' }),
        h('span', { class: `icon ${c.kind}`, 'aria-hidden': 'true' }),
        input,
      ),
      depth,
    );
  }

  function startRename(row: Row): void {
    if (creating !== null) return;
    selected = rowKey(row);
    renaming = rowKey(row);
    draw();
  }

  function renameInput(row: Row): HTMLInputElement {
    const current = row.type === 'doc' ? row.doc.title : row.node.name;
    const input = h('input', {
      class: 'tree-input',
      'data-testid': 'rename-input',
      'aria-label': row.type === 'doc' ? `New title for “${current}”` : `New name for the folder “${current}”`,
      value: current,
      autocomplete: 'off',
      spellcheck: 'false',
    });
    let done = false;
    const finish = async (commit: boolean): Promise<void> => {
      if (done) return;
      done = true;
      const title = input.value.trim();
      renaming = null;
      if (!commit || title === '' || title === current) {
        draw();
        focusSelected();
        return;
      }
      input.disabled = true;
      try {
        if (row.type === 'doc') {
          await renameDoc(row.doc.id, title);
        } else {
          await renameFolder(row.node.path, title);
          // The folder keeps its place, its selection and whether it was folded.
          const to = [...row.node.path.slice(0, -1), title];
          if (selected === rowKey(row)) selected = `folder:${folderKey(to)}`;
          renameFolderKeys(collapsed, row.node.path, to);
        }
        await app.refresh();
      } catch (e) {
        app.fail(e, `Could not rename “${current}”`);
        draw();
      }
      focusSelected();
    };
    input.addEventListener('keydown', (ev) => {
      ev.stopPropagation();
      if (ev.key === 'Enter') {
        ev.preventDefault();
        void finish(true);
      } else if (ev.key === 'Escape') {
        ev.preventDefault();
        void finish(false);
      }
    });
    input.addEventListener('click', (ev) => ev.stopPropagation());
    input.addEventListener('dblclick', (ev) => ev.stopPropagation());
    input.addEventListener('blur', () => void finish(true));
    return input;
  }

  function focusSelected(): void {
    list.querySelector<HTMLElement>('[aria-selected="true"]')?.focus();
  }

  // --- move and trash ----------------------------------------------------------------------

  function cutRow(row: Row): void {
    cut = itemOf(row);
    showInfo(`Cut “${row.type === 'doc' ? row.doc.title : row.node.name}”: select a folder and press Ctrl+V to move it there.`);
    render();
  }

  async function paste(target: string[]): Promise<void> {
    if (!cut) return;
    const item = cut;
    const verdict = canMove(item, target);
    if (!verdict.ok) {
      showInfo(REFUSALS[verdict.reason]);
      return;
    }
    cut = null;
    await move(item, target);
  }

  async function move(item: MoveItem, target: string[]): Promise<void> {
    const verdict = canMove(item, target);
    if (!verdict.ok) return;
    for (let i = 1; i <= target.length; i++) collapsed.delete(folderKey(target.slice(0, i)));
    try {
      if (item.type === 'doc') {
        await moveDoc(item.id, target);
        selected = `doc:${item.id}`;
      } else {
        await moveFolder(item.path, target);
        const name = item.path[item.path.length - 1] ?? '';
        selected = `folder:${folderKey([...target, name])}`;
      }
    } catch (e) {
      const what = item.type === 'doc' ? `“${item.title}”` : `the folder “${item.path.join(' / ')}”`;
      app.fail(e, `Could not move ${what} to ${describeTarget(target)}`);
    }
    await app.refresh();
  }

  async function trash_(row: Row): Promise<void> {
    if (row.type !== 'doc') {
      showInfo('A folder goes away once it is empty and no longer listed; move its documents to the trash first.');
      return;
    }
    const { doc } = row;
    // The row after it keeps the keyboard where it was.
    const index = rows.indexOf(row);
    const next = rows[index + 1] ?? rows[index - 1];
    try {
      await trashDoc(doc.id);
    } catch (e) {
      app.fail(e, `Could not move “${doc.title}” to the trash`);
      return;
    }
    selected = next ? rowKey(next) : null;
    if (app.openId() === doc.id) await app.open(null);
    await app.refresh();
    focusSelected();
    showInfo(`Moved “${doc.title}” to the trash.`, {
      label: 'Undo',
      run: () => {
        restoreDoc(doc.id)
          .then(() => app.refresh())
          .catch((e: unknown) => app.fail(e, `Could not restore “${doc.title}”`));
      },
    });
  }

  // --- drag and drop -------------------------------------------------------------------

  let dropKey: string | null = null;

  function rowAt(target: EventTarget | null): Row | undefined {
    const li = (target as HTMLElement | null)?.closest?.('[data-testid="tree-row"]');
    if (!li) return undefined;
    return rows[rowElements().indexOf(li as HTMLElement)];
  }

  function markDrop(target: string[] | null): void {
    const key = target === null ? null : folderKey(target);
    if (key === dropKey) return;
    dropKey = key;
    for (const li of list.querySelectorAll('.drop-target')) li.classList.remove('drop-target');
    box.classList.toggle('drop-root', target !== null && target.length === 0);
    if (target && target.length > 0) {
      const path = pathText(target);
      for (const li of list.querySelectorAll<HTMLElement>('[data-kind="folder"]')) {
        if (li.dataset.id === JSON.stringify(target) && li.dataset.path === path) li.classList.add('drop-target');
      }
    }
  }

  box.addEventListener('dragover', (ev) => {
    if (!dragging) return;
    const target = dropTarget(rowAt(ev.target));
    if (!canMove(dragging, target).ok) {
      markDrop(null);
      return;
    }
    ev.preventDefault();
    if (ev.dataTransfer) ev.dataTransfer.dropEffect = 'move';
    markDrop(target);
  });
  box.addEventListener('dragleave', (ev) => {
    if (!box.contains(ev.relatedTarget as Node | null)) markDrop(null);
  });
  box.addEventListener('drop', (ev) => {
    if (!dragging) return;
    ev.preventDefault();
    const item = dragging;
    const target = dropTarget(rowAt(ev.target));
    endDrag(false);
    void move(item, target);
  });

  function endDrag(redraw = true): void {
    dragging = null;
    markDrop(null);
    el.classList.remove('drag-active');
    for (const li of list.querySelectorAll('.dragging')) li.classList.remove('dragging');
    if (redraw && deferred) draw();
  }

  return {
    el,
    render,
    startCreate: (kind) => startCreate(kind),
    setOpen,
  };
}
