import { describe, expect, it } from 'vitest';
import { ApiError, fromTable, toApiError } from './api';

describe('toApiError', () => {
  it('keeps the code and message the shell sent', () => {
    const e = toApiError({ code: 'passphrase_required', message: 'enter the passphrase' });
    expect(e).toBeInstanceOf(ApiError);
    expect([e.code, e.message]).toEqual(['passphrase_required', 'enter the passphrase']);
  });

  it('calls anything else an ipc failure, keeping its text', () => {
    expect(toApiError('command list_docs not found')).toMatchObject({
      code: 'ipc',
      message: 'command list_docs not found',
    });
    expect(toApiError(new Error('boom'))).toMatchObject({ code: 'ipc', message: 'boom' });
    expect(toApiError({ code: 7, message: 'x' }).code).toBe('ipc');
    // A code outside the generated table is not passed on as if it were one.
    expect(toApiError({ code: 'made_up', message: 'x' }).code).toBe('internal');
  });
});

describe('fromTable', () => {
  it('makes each document of the shell’s columns, with its path, folder, kind and trash flag', () => {
    const id = (n: number) => n.toString(16).padStart(32, '0');
    const ms = Date.parse('2026-11-01T10:00:00.000Z');
    const { docs, folders } = fromTable({
      folders: [[], ['Work', 'Q4'], ['Empty']],
      ids: id(1) + id(2) + id(3),
      kinds: 'nrn',
      titles: ['Plan', 'Books', 'Old'],
      folder: [1, 0, 1],
      deleted: [2],
      updated_ms: [ms, ms + 1, ms + 2],
    });
    expect(folders).toEqual([[], ['Work', 'Q4'], ['Empty']]);
    expect(docs.map((d) => [d.id, d.kind, d.title, d.path, d.folder, d.deleted])).toEqual([
      [id(1), 'note', 'Plan', 'Work/Q4/Plan', ['Work', 'Q4'], false],
      [id(2), 'record', 'Books', 'Books', [], false],
      [id(3), 'note', 'Old', 'Work/Q4/Old', ['Work', 'Q4'], true],
    ]);
    expect(docs[0]!.updated).toBe('2026-11-01T10:00:00.000Z');
    expect(docs[1]!.updated_ms).toBe(ms + 1);
  });
});
