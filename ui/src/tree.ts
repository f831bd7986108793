// Folder tree of a workspace's documents, and its flattening into the rows the list
// shows. Pure, so the ordering rules are unit-tested (tree.test.ts).
import type { DocSummary } from './api';

export interface FolderNode {
  name: string;
  /** Folder path from the root; [] for the root. */
  path: string[];
  /** Stable key for the folder's collapsed state. */
  key: string;
  folders: FolderNode[];
  docs: DocSummary[];
}

export type Row =
  | { type: 'folder'; node: FolderNode; depth: number; expanded: boolean; count: number }
  | { type: 'doc'; doc: DocSummary; depth: number };

const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });

// "\u0000" cannot appear in a folder name typed by a person, so keys never collide
// the way "a/b" + "c" and "a" + "b/c" would with a "/" join.
export function folderKey(path: readonly string[]): string {
  return path.join('\u0000');
}

function newFolder(path: string[]): FolderNode {
  return { name: path[path.length - 1] ?? '', path, key: folderKey(path), folders: [], docs: [] };
}

/** Groups documents into their folders; folders and documents sorted by name. */
export function buildTree(docs: readonly DocSummary[]): FolderNode {
  const root = newFolder([]);
  const byKey = new Map<string, FolderNode>([[root.key, root]]);
  for (const doc of docs) {
    let node = root;
    for (let i = 0; i < doc.folder.length; i++) {
      const path = doc.folder.slice(0, i + 1);
      const key = folderKey(path);
      let child = byKey.get(key);
      if (!child) {
        child = newFolder(path);
        byKey.set(key, child);
        node.folders.push(child);
      }
      node = child;
    }
    node.docs.push(doc);
  }
  const sort = (node: FolderNode): void => {
    node.folders.sort((a, b) => collator.compare(a.name, b.name));
    node.docs.sort((a, b) => collator.compare(a.title, b.title) || a.id.localeCompare(b.id));
    node.folders.forEach(sort);
  };
  sort(root);
  return root;
}

/** Documents in a folder and all its subfolders. */
export function countDocs(node: FolderNode): number {
  return node.docs.length + node.folders.reduce((n, f) => n + countDocs(f), 0);
}

/** The visible rows: folders first at each level, a collapsed folder's contents hidden. */
export function flatten(root: FolderNode, collapsed: ReadonlySet<string>): Row[] {
  const rows: Row[] = [];
  const walk = (node: FolderNode, depth: number): void => {
    for (const folder of node.folders) {
      const expanded = !collapsed.has(folder.key);
      rows.push({ type: 'folder', node: folder, depth, expanded, count: countDocs(folder) });
      if (expanded) walk(folder, depth + 1);
    }
    for (const doc of node.docs) rows.push({ type: 'doc', doc, depth });
  };
  walk(root, 0);
  return rows;
}
