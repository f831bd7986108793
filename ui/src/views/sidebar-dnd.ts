// Drag and drop in the sidebar: a row is dragged onto a folder (or next to a document,
// into its folder), or onto the root area to the top level. What may go where is
// ../dnd.ts; the move itself is sidebar-actions.ts.
import { canMove, dropTarget, itemOf } from '../dnd';
import { folderKey, type Row } from '../tree';
import { drawnRows, pathText, rowOf, type SidebarCtx } from './sidebar-model';

/** A row's dragstart. */
export function startDrag(c: SidebarCtx, row: Row, li: HTMLElement, ev: DragEvent): void {
  if (c.renaming !== null || c.creating !== null) {
    ev.preventDefault();
    return;
  }
  c.dragging = itemOf(row);
  // WebKit starts a drag only when there is data; the item itself stays here,
  // since dragover handlers may not read it.
  ev.dataTransfer?.setData('text/plain', row.type === 'doc' ? row.doc.path : pathText(row.node.path));
  if (ev.dataTransfer) ev.dataTransfer.effectAllowed = 'move';
  li.classList.add('dragging');
  c.el.classList.add('drag-active');
}

export function endDrag(c: SidebarCtx, redraw = true): void {
  c.dragging = null;
  markDrop(c, null);
  c.el.classList.remove('drag-active');
  for (const li of c.list.querySelectorAll('.dragging')) li.classList.remove('dragging');
  if (redraw && c.deferred) c.act.draw();
}

/** Listens for drops on the tree's box (the rows and the root area under them). */
export function wireDrop(c: SidebarCtx): void {
  const { box } = c;
  box.addEventListener('dragover', (ev) => {
    if (!c.dragging) return;
    const target = dropTarget(rowAt(c, ev.target));
    if (!canMove(c.dragging, target).ok) {
      markDrop(c, null);
      return;
    }
    ev.preventDefault();
    if (ev.dataTransfer) ev.dataTransfer.dropEffect = 'move';
    markDrop(c, target);
  });
  box.addEventListener('dragleave', (ev) => {
    if (!box.contains(ev.relatedTarget as Node | null)) markDrop(c, null);
  });
  box.addEventListener('drop', (ev) => {
    if (!c.dragging) return;
    ev.preventDefault();
    const item = c.dragging;
    const target = dropTarget(rowAt(c, ev.target));
    c.act.endDrag(false);
    void c.act.move(item, target);
  });
}

function rowAt(c: SidebarCtx, target: EventTarget | null): Row | undefined {
  const li = (target as HTMLElement | null)?.closest?.('[data-testid="tree-row"]') ?? null;
  return rowOf(c, li);
}

function markDrop(c: SidebarCtx, target: string[] | null): void {
  const key = target === null ? null : folderKey(target);
  if (key === c.dropKey) return;
  c.dropKey = key;
  for (const li of c.list.querySelectorAll('.drop-target')) li.classList.remove('drop-target');
  c.box.classList.toggle('drop-root', target !== null && target.length === 0);
  // Rows drawn later read `dropKey` when made (sidebar-rows.ts).
  if (target && target.length > 0) {
    for (const [row, li] of drawnRows(c)) {
      if (row.type === 'folder' && row.node.key === key) li.classList.add('drop-target');
    }
  }
}
