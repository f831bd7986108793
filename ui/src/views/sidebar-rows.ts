// Drawing the sidebar tree: a row per folder and document, the name field of a new item
// where it goes, the roving tabindex, and the Trash button's count.
import { replaceInChunks } from './chunked';
import { itemOf } from '../dnd';
import { button, h } from '../dom';
import { buildTree, flatten, folderKey, rowKey, trashed, type Row } from '../tree';
import { indented } from './brand';
import { pathText, sameItem, type Creating, type SidebarCtx } from './sidebar-model';

export function renderTree(c: SidebarCtx): void {
  if (c.renaming !== null || c.creating !== null || c.dragging !== null) {
    c.deferred = true;
    return;
  }
  drawTree(c);
}

export function drawTree(c: SidebarCtx): void {
  const { app, list, creating } = c;
  c.deferred = false;
  const hadFocus = list.contains(document.activeElement);
  c.rows = flatten(buildTree(app.docs(), app.folders()), c.collapsed);
  if (c.selected !== null && !c.rows.some((r) => rowKey(r) === c.selected)) c.selected = null;
  // The tree's rows, with the name input of a new item where it goes. Rows are made
  // as they are attached (chunked.ts), so they read the open document then.
  type Item = { row: Row } | { create: Creating; depth: number };
  const items: Item[] = [];
  if (creating && creating.folder.length === 0) items.push({ create: creating, depth: 0 });
  for (const row of c.rows) {
    items.push({ row });
    if (creating && row.type === 'folder' && folderKey(creating.folder) === row.node.key) {
      items.push({ create: creating, depth: row.depth + 1 });
    }
  }
  replaceInChunks(
    list,
    items,
    (it) => ('row' in it ? rowElement(c, it.row, app.openId()) : newItemRow(c, it.create, it.depth)),
    creating !== null || c.renaming !== null,
  );
  if (c.rows.length === 0 && !creating) {
    list.append(h('li', { class: 'tree-empty muted', role: 'none' }, 'Nothing here yet.'));
  }
  const inTrash = trashed(app.allDocs()).length;
  c.trashButton.replaceChildren(
    h('span', { class: 'icon trash', 'aria-hidden': 'true' }),
    inTrash > 0 ? `Trash (${inTrash})` : 'Trash',
  );
  // Roving tabindex: one row is in the tab order, the selected one or the first. A
  // selected row not attached yet takes it when it is made (rowElement).
  const current =
    list.querySelector<HTMLElement>('[aria-selected="true"]') ??
    (c.selected === null ? list.querySelector<HTMLElement>('[data-testid="tree-row"]') : null);
  current?.setAttribute('tabindex', '0');
  const input = list.querySelector<HTMLInputElement>('input');
  if (input) {
    input.focus();
    input.select();
  } else if (hadFocus) current?.focus();
}

function rowElement(c: SidebarCtx, row: Row, openId: string | null): HTMLElement {
  const { act } = c;
  const key = rowKey(row);
  const isSelected = key === c.selected;
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
      act.toggle(row.node.key);
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
      c.renaming === key ? act.renameInput(row) : h('span', { class: 'tree-label' }, row.node.name),
      h('span', { class: 'tree-count', 'aria-label': `${row.count} documents` }, String(row.count)),
    );
  } else {
    const { doc } = row;
    const label =
      c.renaming === key ? act.renameInput(row) : h('span', { class: 'tree-label' }, doc.title === '' ? 'Untitled' : doc.title);
    const trash = button(
      {
        class: 'row-action',
        tabindex: '-1',
        'data-testid': 'trash-doc',
        'aria-label': `Move “${doc.title}” to the trash`,
        title: 'Move to the trash (Delete)',
      },
      (ev) => {
        ev.stopPropagation();
        void act.trash(row);
      },
      h('span', { class: 'icon trash', 'aria-hidden': 'true' }),
    );
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
  if (c.cut && sameItem(c.cut, itemOf(row))) li.classList.add('cut');
  indented(li, row.depth);
  li.addEventListener('click', () => act.activate(row));
  li.addEventListener('dblclick', (ev) => {
    if (row.type === 'doc') {
      ev.preventDefault();
      act.startRename(row);
    }
  });
  li.addEventListener('contextmenu', (ev) => {
    ev.preventDefault();
    act.select(key, false);
    act.showMenu(row, { x: ev.clientX, y: ev.clientY });
  });
  li.addEventListener('dragstart', (ev) => act.startDrag(row, li, ev));
  li.addEventListener('dragend', () => act.endDrag());
  return li;
}

/** The row of a new item: its kind's icon and the field its name is typed into. */
function newItemRow(c: SidebarCtx, creating: Creating, depth: number): HTMLElement {
  return indented(
    h(
      'li',
      { class: 'tree-row creating', role: 'none' },
      h('span', { class: 'twisty none', 'aria-hidden': 'true' }),
      h('span', { class: `icon ${creating.kind}`, 'aria-hidden': 'true' }),
      c.act.newNameInput(creating),
    ),
    depth,
  );
}
