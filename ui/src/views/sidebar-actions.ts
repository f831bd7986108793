// What can be done to a row of the sidebar: its context menu, cut and paste, a move
// (which drag and drop ends in too) and the trash. The rules of what goes where are
// ../dnd.ts.
import { moveDoc, moveFolder, restoreDoc, trashDoc } from '../api';
import { canMove, describeTarget, dropTarget, itemOf, type MoveItem } from '../dnd';
import { folderKey, rowKey, type Row } from '../tree';
import { openMenu, type MenuItem } from './menu';
import { focusSelected, revealKey, unfold, type Point, type SidebarCtx } from './sidebar-model';
import { showInfo } from './toast';

const REFUSALS = {
  'same-place': 'It is already there.',
  'into-itself': 'A folder cannot go into itself or a folder inside it.',
} as const;

export function showMenu(c: SidebarCtx, row: Row, at: Point): void {
  const { act, app } = c;
  const li = c.list.querySelector<HTMLElement>('[aria-selected="true"]') ?? undefined;
  const target = dropTarget(row);
  const items: MenuItem[] = [];
  if (row.type === 'doc') items.push({ label: 'Open', run: () => void app.open(row.doc.id) });
  items.push({ label: 'Rename (F2)', testid: 'menu-rename', run: () => act.startRename(row) });
  items.push({ label: `New note here`, run: () => act.startCreate('note', target) });
  items.push({ label: `New folder here`, run: () => act.startCreate('folder', target) });
  items.push({ label: 'Cut (Ctrl+X)', testid: 'menu-cut', run: () => act.cutRow(row) });
  if (c.cut) {
    items.push({
      label: `Paste into ${describeTarget(target)}`,
      testid: 'menu-paste',
      disabled: !canMove(c.cut, target).ok,
      run: () => void act.paste(target),
    });
  }
  items.push({ label: 'Move to the top level', disabled: !canMove(itemOf(row), []).ok, run: () => void act.move(itemOf(row), []) });
  if (row.type === 'doc') {
    items.push({ label: 'Move to the trash (Delete)', testid: 'menu-trash', danger: true, run: () => void act.trash(row) });
  }
  openMenu(items, at, row.type === 'doc' ? row.doc.title : row.node.name, li);
}

export function cutRow(c: SidebarCtx, row: Row): void {
  c.cut = itemOf(row);
  showInfo(`Cut “${row.type === 'doc' ? row.doc.title : row.node.name}”: select a folder and press Ctrl+V to move it there.`);
  c.act.render();
}

export async function paste(c: SidebarCtx, target: string[]): Promise<void> {
  if (!c.cut) return;
  const item = c.cut;
  const verdict = canMove(item, target);
  if (!verdict.ok) {
    showInfo(REFUSALS[verdict.reason]);
    return;
  }
  c.cut = null;
  await c.act.move(item, target);
}

export async function move(c: SidebarCtx, item: MoveItem, target: string[]): Promise<void> {
  const verdict = canMove(item, target);
  if (!verdict.ok) return;
  unfold(c, target);
  try {
    if (item.type === 'doc') {
      await moveDoc(item.id, target);
      c.selected = `doc:${item.id}`;
    } else {
      await moveFolder(item.path, target);
      const name = item.path[item.path.length - 1] ?? '';
      c.selected = `folder:${folderKey([...target, name])}`;
    }
  } catch (e) {
    const what = item.type === 'doc' ? `“${item.title}”` : `the folder “${item.path.join(' / ')}”`;
    c.app.fail(e, `Could not move ${what} to ${describeTarget(target)}`);
  }
  await c.app.refresh();
  // The moved item's new place, however far down.
  revealKey(c, c.selected);
}

export async function trash(c: SidebarCtx, row: Row): Promise<void> {
  const { app } = c;
  if (row.type !== 'doc') {
    showInfo('A folder goes away once it is empty and no longer listed; move its documents to the trash first.');
    return;
  }
  const { doc } = row;
  // The row after it keeps the keyboard where it was.
  const index = c.rows.indexOf(row);
  const next = c.rows[index + 1] ?? c.rows[index - 1];
  try {
    await trashDoc(doc.id);
  } catch (e) {
    app.fail(e, `Could not move “${doc.title}” to the trash`);
    return;
  }
  c.selected = next ? rowKey(next) : null;
  if (app.openId() === doc.id) await app.open(null);
  await app.refresh();
  focusSelected(c);
  showInfo(`Moved “${doc.title}” to the trash.`, {
    label: 'Undo',
    run: () => {
      restoreDoc(doc.id)
        .then(() => app.refresh())
        .catch((e: unknown) => app.fail(e, `Could not restore “${doc.title}”`));
    },
  });
}
