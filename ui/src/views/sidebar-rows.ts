// Drawing the sidebar tree: a row per folder and document, the name field of a new item
// where it goes, the roving tabindex, and the Trash button's count. The list is drawn
// as a window (virtual-list.ts): only the rows in reach are elements, so a row reads
// the sidebar's state (selection, open document, cut, drop target) when it is made.
import { itemOf } from '../dnd';
import { button, h } from '../dom';
import { flatten, folderKey, rowKey, treeOf, type Row } from '../tree';
import { indented } from './brand';
import { indexOfKey, itemIndex, pathText, sameItem, type Creating, type Item, type SidebarCtx } from './sidebar-model';

/** Every row of the tree is this tall (sidebar.css reads it as `--row-height`). */
export const TREE_ROW_PX = 28;

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
  c.rows = flatten(treeOf(app.docs(), app.folders()), c.collapsed);
  c.keys = null;
  if (c.selected !== null && indexOfKey(c, c.selected) < 0) c.selected = null;
  // The tree's rows, with the name field of a new item where it goes.
  let items: readonly Item[] = c.rows;
  c.createAt = -1;
  if (creating) {
    const parent = creating.folder.length === 0 ? -1 : indexOfKey(c, `folder:${folderKey(creating.folder)}`);
    const depth = parent < 0 ? 0 : c.rows[parent]!.depth + 1;
    c.createAt = parent + 1;
    items = [...c.rows.slice(0, c.createAt), { type: 'create', create: creating, depth }, ...c.rows.slice(c.createAt)];
  }
  c.view.set(items);
  if (c.rows.length === 0 && !creating) {
    list.append(h('li', { class: 'tree-empty muted', role: 'none' }, 'Nothing here yet.'));
  }
  const inTrash = app.allDocs().length - app.docs().length;
  c.trashButton.replaceChildren(
    h('span', { class: 'icon trash', 'aria-hidden': 'true' }),
    inTrash > 0 ? `Trash (${inTrash})` : 'Trash',
  );
  // Roving tabindex: one row is in the tab order, the selected one or the first. A
  // selected row not drawn takes it when it is made (rowElement).
  const current = c.selected === null ? c.view.element(itemIndex(c, 0)) : c.view.element(itemIndex(c, indexOfKey(c, c.selected)));
  current?.setAttribute('tabindex', '0');
  // The field of a new item or a new name is focusable at once: bring it into view.
  const field = c.createAt >= 0 ? c.view.reveal(c.createAt) : c.renaming !== null ? c.view.reveal(itemIndex(c, indexOfKey(c, c.renaming))) : undefined;
  const input = field?.querySelector('input');
  if (input) {
    input.focus();
    input.select();
  } else if (hadFocus) (current ?? list).focus({ preventScroll: true });
}

/** The element of a list item: a tree row, or the name field of a new item. */
export function itemElement(c: SidebarCtx, item: Item): HTMLElement {
  return item.type === 'create' ? newItemRow(c, item.create, item.depth) : rowElement(c, item, c.app.openId());
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
  if (c.dragging && sameItem(c.dragging, itemOf(row))) li.classList.add('dragging');
  if (row.type === 'folder' && c.dropKey === row.node.key && row.node.path.length > 0) li.classList.add('drop-target');
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
