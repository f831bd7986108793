// The sidebar: the workspace tree (folders, notes, records) with create, rename, move
// (drag and drop, or cut and paste from the keyboard), move to the trash, and a way
// into the Trash view. The rules of what goes where are in ../tree.ts and ../dnd.ts;
// the parts of the sidebar are the sidebar-*.ts modules (sidebar-model.ts lists them),
// wired together here.
import './sidebar.css';
import { button, h } from '../dom';
import type { App } from './app';
import { cutRow, move, paste, showMenu, trash } from './sidebar-actions';
import { endDrag, startDrag, wireDrop } from './sidebar-dnd';
import { activate, onTreeKey, select, setOpen, toggle } from './sidebar-keys';
import { KIND_NAMES, type Item, type NewKind, sameItem, type SidebarActions, type SidebarCtx } from './sidebar-model';
import { itemOf } from '../dnd';
import { rowKey } from '../tree';
import { newNameInput, renameInput, startCreate, startRename } from './sidebar-naming';
import { TREE_ROW_PX, drawTree, itemElement, renderTree } from './sidebar-rows';
import { virtualList } from './virtual-list';

export type { NewKind } from './sidebar-model';

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

export function createSidebar(app: App): Sidebar {
  const list = h('ul', {
    class: 'tree',
    role: 'tree',
    'data-testid': 'tree',
    'aria-label': 'Workspace',
    // Holds the focus when the focused row scrolls out of the drawn window.
    tabindex: '-1',
  });
  const rootZone = h(
    'div',
    { class: 'tree-root-drop', 'data-testid': 'tree-root', 'aria-hidden': 'true' },
    'Drop here to move to the top level',
  );
  const box = h('div', { class: 'tree-box' }, list, rootZone);

  const newButton = (kind: NewKind, label: string): HTMLButtonElement =>
    button(
      { class: `tool new-${kind}`, 'data-testid': `new-${kind}`, title: `New ${KIND_NAMES[kind]} in the selected folder` },
      () => act.startCreate(kind),
      h('span', { class: `icon ${kind}`, 'aria-hidden': 'true' }),
      label,
    );
  const trashButton = button({ class: 'tool trash-view', 'data-testid': 'trash-view' }, () => void app.showTrash());

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

  const act: SidebarActions = {
    draw: () => drawTree(c),
    render: () => renderTree(c),
    select: (key, focus) => select(c, key, focus),
    activate: (row) => activate(c, row),
    toggle: (key) => toggle(c, key),
    startCreate: (kind, folder) => startCreate(c, kind, folder),
    startRename: (row) => startRename(c, row),
    newNameInput: (creating) => newNameInput(c, creating),
    renameInput: (row) => renameInput(c, row),
    showMenu: (row, at) => showMenu(c, row, at),
    cutRow: (row) => cutRow(c, row),
    paste: (target) => paste(c, target),
    move: (item, target) => move(c, item, target),
    trash: (row) => trash(c, row),
    startDrag: (row, li, ev) => startDrag(c, row, li, ev),
    endDrag: (redraw) => endDrag(c, redraw),
  };
  const c: SidebarCtx = {
    app,
    act,
    el,
    list,
    box,
    trashButton,
    view: virtualList<Item>({
      list,
      scroller: () => box,
      rowHeight: TREE_ROW_PX,
      make: (item) => itemElement(c, item),
      // A dragged row and a name being typed stay on the page while scrolled away.
      keep: (item) =>
        item.type === 'create' || (c.dragging !== null && sameItem(c.dragging, itemOf(item))) || c.renaming === rowKey(item),
    }),
    collapsed: new Set(),
    rows: [],
    keys: null,
    createAt: -1,
    selected: null,
    renaming: null,
    creating: null,
    dragging: null,
    cut: null,
    deferred: false,
    dropKey: null,
  };

  list.addEventListener('keydown', (ev) => onTreeKey(c, ev));
  wireDrop(c);

  return {
    el,
    render: act.render,
    startCreate: (kind) => act.startCreate(kind),
    setOpen: (id) => setOpen(c, id),
  };
}
