// Selection, folding and the keyboard in the sidebar tree: arrows as in a file manager
// (../tree.ts `navigate`), Enter opens, F2 renames, Delete trashes, Ctrl+X / Ctrl+V
// move, the Menu key (or Shift+F10) opens the context menu.
import { dropTarget } from '../dnd';
import { rowKey, navigate, type Row } from '../tree';
import { drawnRows, indexOfKey, revealKey, type SidebarCtx } from './sidebar-model';

export function select(c: SidebarCtx, key: string | null, focus = true): void {
  c.selected = key;
  // The row may not be drawn (End, a long ArrowDown, a scroll away): scroll to it,
  // which draws it, so it can take the focus.
  const target = focus ? revealKey(c, key) : undefined;
  for (const [row, li] of drawnRows(c)) {
    const on = rowKey(row) === key;
    li.setAttribute('aria-selected', String(on));
    li.setAttribute('tabindex', on ? '0' : '-1');
  }
  target?.focus({ preventScroll: true });
}

/** Marks the open document without a redraw (a redraw between the two clicks of a
 *  double click would lose the second). Rows drawn later read it when made. */
export function setOpen(c: SidebarCtx, id: string | null): void {
  for (const [row, li] of drawnRows(c)) {
    const on = row.type === 'doc' && row.doc.id === id;
    li.classList.toggle('open', on);
    if (on) li.setAttribute('aria-current', 'page');
    else li.removeAttribute('aria-current');
  }
}

export function toggle(c: SidebarCtx, key: string): void {
  if (c.collapsed.has(key)) c.collapsed.delete(key);
  else c.collapsed.add(key);
  c.act.render();
}

export function activate(c: SidebarCtx, row: Row): void {
  if (c.renaming !== null) return;
  c.act.select(rowKey(row));
  if (row.type === 'folder') c.act.toggle(row.node.key);
  else void c.app.open(row.doc.id);
}

/** The tree list's keydown. */
export function onTreeKey(c: SidebarCtx, ev: KeyboardEvent): void {
  if ((ev.target as HTMLElement).tagName === 'INPUT') return;
  const { act, rows } = c;
  const index = indexOfKey(c, c.selected);
  const row = rows[index];
  const mod = ev.ctrlKey || ev.metaKey;
  const action = navigate(rows, index, ev.key);
  if (action) {
    ev.preventDefault();
    if (action.type === 'select') {
      const target = rows[action.index];
      if (target) act.select(rowKey(target));
    } else if (action.type === 'expand') {
      c.collapsed.delete(action.key);
      act.render();
    } else {
      c.collapsed.add(action.key);
      act.render();
    }
    return;
  }
  if (!row) return;
  if (ev.key === 'Enter' || ev.key === ' ') {
    ev.preventDefault();
    act.activate(row);
  } else if (ev.key === 'F2') {
    ev.preventDefault();
    act.startRename(row);
  } else if (ev.key === 'Delete' || (ev.key === 'Backspace' && ev.metaKey)) {
    ev.preventDefault();
    void act.trash(row);
  } else if (mod && ev.key.toLowerCase() === 'x') {
    ev.preventDefault();
    act.cutRow(row);
  } else if (mod && ev.key.toLowerCase() === 'v') {
    ev.preventDefault();
    void act.paste(dropTarget(row));
  } else if (ev.key === 'Escape' && c.cut) {
    c.cut = null;
    act.render();
  } else if (ev.key === 'ContextMenu' || (ev.shiftKey && ev.key === 'F10')) {
    ev.preventDefault();
    const r = (ev.target as HTMLElement).getBoundingClientRect();
    act.showMenu(row, { x: r.left + 24, y: r.bottom });
  }
}
