import { describe, expect, it } from 'vitest';
import type { DocSummary } from './api';
import { buildTree, flatten, folderKey, type Row } from './tree';

let n = 0;
function doc(title: string, folder: string[] = [], kind: DocSummary['kind'] = 'note'): DocSummary {
  n += 1;
  const id = n.toString(16).padStart(32, '0');
  const path = [...folder, title].join('/');
  const t = '2026-11-01T10:00:00.000Z';
  return { id, kind, title, folder, path, deleted: false, created: t, updated: t };
}

function labels(rows: Row[]): string[] {
  return rows.map((r) =>
    r.type === 'folder'
      ? `${'  '.repeat(r.depth)}[${r.node.name}] ${r.count}${r.expanded ? '' : ' +'}`
      : `${'  '.repeat(r.depth)}${r.doc.title}`,
  );
}

describe('document tree', () => {
  const docs = [
    doc('Reading list', [], 'record'),
    doc('Hello world', ['Inbox']),
    doc('idea 10', ['Inbox']),
    doc('idea 9', ['Inbox']),
    doc('Plan', ['Work', 'Q4']),
    doc('apple', []),
    doc('Standup', ['Work']),
  ];

  it('shows folders before documents, each sorted as a person sorts them', () => {
    expect(labels(flatten(buildTree(docs), new Set()))).toEqual([
      '[Inbox] 3',
      '  Hello world',
      '  idea 9',
      '  idea 10',
      '[Work] 2',
      '  [Q4] 1',
      '    Plan',
      '  Standup',
      'apple',
      'Reading list',
    ]);
  });

  it('hides the contents of a collapsed folder but still counts them', () => {
    const rows = flatten(buildTree(docs), new Set([folderKey(['Work'])]));
    expect(labels(rows)).toEqual([
      '[Inbox] 3',
      '  Hello world',
      '  idea 9',
      '  idea 10',
      '[Work] 2 +',
      'apple',
      'Reading list',
    ]);
  });

  it('keeps folders apart whose names would collide if joined with a slash', () => {
    const tree = buildTree([doc('x', ['a/b', 'c']), doc('y', ['a', 'b/c'])]);
    expect(labels(flatten(tree, new Set([folderKey(['a', 'b/c'])])))).toEqual([
      '[a] 1',
      '  [b/c] 1 +',
      '[a/b] 1',
      '  [c] 1',
      '    x',
    ]);
  });

  it('lists nothing for an empty workspace', () => {
    expect(flatten(buildTree([]), new Set())).toEqual([]);
  });
});
