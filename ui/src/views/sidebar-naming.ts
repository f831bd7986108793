// Naming in the sidebar: a new note, record or folder is named in a field in the tree
// where it will go; a row is renamed in place (F2, a double click, the menu). The field
// is inline-name.ts.
import { createFolder, createNote, createRecord, renameDoc, renameFolder } from '../api';
import { folderForNew, folderKey, renameFolderKeys, rowKey, type Row } from '../tree';
import { inlineNameInput } from './inline-name';
import { KIND_NAMES, focusSelected, revealKey, selectedRow, unfold, type Creating, type NewKind, type SidebarCtx } from './sidebar-model';

/** Starts naming a new item in `folder`, by default the selected row's. */
export function startCreate(c: SidebarCtx, kind: NewKind, folder?: string[]): void {
  if (c.renaming !== null) return;
  const where = folder ?? folderForNew(selectedRow(c));
  // Show the input inside the folder: open it and its parents.
  unfold(c, where);
  c.creating = { kind, folder: where };
  c.act.draw();
}

export function newNameInput(c: SidebarCtx, creating: Creating): HTMLInputElement {
  const { app } = c;
  const { kind, folder } = creating;
  return inlineNameInput({
    testid: 'new-name',
    label: `Name of the new ${KIND_NAMES[kind]}${folder.length ? ` in ${folder.join(' / ')}` : ''}`,
    value: kind === 'folder' ? 'New folder' : 'Untitled',
    cancel: () => {
      c.creating = null;
      c.act.draw();
      focusSelected(c);
    },
    commit: async (name) => {
      c.creating = null;
      try {
        if (kind === 'folder') {
          const path = [...folder, name];
          await createFolder(path);
          c.selected = `folder:${folderKey(path)}`;
          await app.refresh();
          focusSelected(c);
        } else {
          const doc = kind === 'note' ? await createNote(name, folder) : await createRecord(name, folder);
          c.selected = `doc:${doc.id}`;
          await app.refresh();
          // Where the new document is in the tree, however far down.
          revealKey(c, c.selected);
          // Named with Enter: what is typed next goes into the new document.
          await app.open(doc.id, { focus: true });
        }
      } catch (e) {
        app.fail(e, `Could not create the ${KIND_NAMES[kind]} “${name}”`);
        c.act.draw();
      }
    },
  });
}

export function startRename(c: SidebarCtx, row: Row): void {
  if (c.creating !== null) return;
  c.selected = rowKey(row);
  c.renaming = rowKey(row);
  c.act.draw();
}

export function renameInput(c: SidebarCtx, row: Row): HTMLInputElement {
  const { app } = c;
  const current = row.type === 'doc' ? row.doc.title : row.node.name;
  const cancel = (): void => {
    c.renaming = null;
    c.act.draw();
    focusSelected(c);
  };
  return inlineNameInput({
    testid: 'rename-input',
    label: row.type === 'doc' ? `New title for “${current}”` : `New name for the folder “${current}”`,
    value: current,
    cancel,
    commit: async (title) => {
      if (title === current) {
        cancel();
        return;
      }
      c.renaming = null;
      try {
        if (row.type === 'doc') {
          await renameDoc(row.doc.id, title);
        } else {
          await renameFolder(row.node.path, title);
          // The folder keeps its place, its selection and whether it was folded.
          const to = [...row.node.path.slice(0, -1), title];
          if (c.selected === rowKey(row)) c.selected = `folder:${folderKey(to)}`;
          renameFolderKeys(c.collapsed, row.node.path, to);
        }
        await app.refresh();
      } catch (e) {
        app.fail(e, `Could not rename “${current}”`);
        c.act.draw();
      }
      focusSelected(c);
    },
  });
}
