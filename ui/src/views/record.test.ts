// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RecordView } from '../api';

const api = vi.hoisted(() => ({
  getRecord: vi.fn(),
  setRecordField: vi.fn(),
  patchRecord: vi.fn(),
  docHolders: vi.fn(),
  unreadableChanges: vi.fn(),
  renameDoc: vi.fn(),
  history: vi.fn(),
  previewVersion: vi.fn(),
  restoreVersion: vi.fn(),
}));
vi.mock('../api', async (orig) => ({ ...(await orig<typeof import('../api')>()), ...api }));

import { ApiError } from '../api';
import { recordPane } from './record';
import { docSummary, fakeApp, settle } from './testing';

const doc = docSummary('Book', [], 'record', 'rec1');
let view: RecordView;

function mount(): HTMLElement {
  const pane = recordPane(fakeApp([doc]), doc);
  document.body.replaceChildren(pane.el);
  return pane.el;
}

const row = (el: HTMLElement, name: string): HTMLElement =>
  el.querySelector<HTMLElement>(`[data-testid="field"][data-name="${name}"]`)!;

function change(control: HTMLInputElement | HTMLSelectElement, value: string): void {
  control.value = value;
  control.dispatchEvent(new Event('change', { bubbles: true }));
}

beforeEach(() => {
  view = {
    json: {
      title: 'Dune',
      pages: 412,
      read: false,
      'a/b': 'slash',
      status: 'doing',
      $fields: { status: { type: 'select', options: ['todo', 'doing', 'done'] } },
    },
    conflicts: [{ pointer: '/status', values: ['doing', 'done'] }],
  };
  api.getRecord.mockImplementation(async () => structuredClone(view));
  api.setRecordField.mockResolvedValue(undefined);
  api.patchRecord.mockResolvedValue(undefined);
  api.docHolders.mockResolvedValue([]);
  api.unreadableChanges.mockResolvedValue([]);
});
afterEach(() => vi.clearAllMocks());

describe('the record editor', () => {
  it('shows one row per field with an editor for its type, $fields hidden', async () => {
    const el = mount();
    await settle();
    const rows = [...el.querySelectorAll<HTMLElement>('[data-testid="field"]')];
    expect(rows.map((r) => `${r.dataset.name}:${r.dataset.type}`)).toEqual([
      'title:text',
      'pages:number',
      'read:checkbox',
      'a/b:text',
      'status:select',
    ]);
    expect(row(el, 'read').querySelector<HTMLInputElement>('input')!.type).toBe('checkbox');
    expect(row(el, 'status').querySelector('select')!.value).toBe('doing');
  });

  it('says in its header which changes could not be read, and nothing when all could', async () => {
    let el = mount();
    await settle();
    expect(el.querySelector<HTMLElement>('[data-testid="unreadable"]')!.hidden).toBe(true);
    const message = '2 changes from laptop could not be read (made by a newer version, or damaged)';
    api.unreadableChanges.mockResolvedValue([
      { device: 'dev', name: 'laptop', this_device: false, changes: 2, message },
    ]);
    el = mount();
    await settle();
    const line = el.querySelector<HTMLElement>('[data-testid="unreadable"]')!;
    expect(line.hidden).toBe(false);
    expect(line.textContent).toBe(message);
    expect(el.querySelectorAll('[data-testid="field"]').length).toBe(5);
  });

  it('refuses a non-number in a number field inline, naming the field, and saves nothing', async () => {
    const el = mount();
    await settle();
    const input = row(el, 'pages').querySelector('input')!;
    change(input, 'lots');
    await settle();
    const alert = row(el, 'pages').querySelector('[role="alert"]');
    expect(alert?.textContent).toContain('“pages”');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(api.setRecordField).not.toHaveBeenCalled();
    expect(api.patchRecord).not.toHaveBeenCalled();

    change(input, '500');
    await settle();
    expect(api.setRecordField).toHaveBeenCalledExactlyOnceWith('rec1', '/pages', 500);
    expect(row(el, 'pages').querySelector('[role="alert"]')).toBeNull();
  });

  it('saves under an escaped pointer and a checkbox as a boolean', async () => {
    const el = mount();
    await settle();
    change(row(el, 'a/b').querySelector('input')!, 'new');
    const box = row(el, 'read').querySelector('input')!;
    box.checked = true;
    box.dispatchEvent(new Event('change', { bubbles: true }));
    await settle();
    expect(api.setRecordField.mock.calls).toEqual([
      ['rec1', '/a~1b', 'new'],
      ['rec1', '/read', true],
    ]);
  });

  it('marks a conflict and resolves it with the value picked', async () => {
    const el = mount();
    await settle();
    const status = row(el, 'status');
    expect(status.querySelector('[data-testid="conflict-badge"]')?.textContent).toBe('conflict');
    const choices = [...status.querySelectorAll<HTMLButtonElement>('[data-testid="conflict-value"]')];
    expect(choices.map((b) => b.textContent)).toEqual(['doing', 'done']);
    view.conflicts = [];
    view.json.status = 'done';
    choices[1]!.click();
    await settle();
    expect(api.setRecordField).toHaveBeenCalledExactlyOnceWith('rec1', '/status', 'done');
    expect(el.querySelector('[data-testid="conflict-badge"]')).toBeNull();
  });

  it('removes a field with its type in one patch', async () => {
    const el = mount();
    await settle();
    row(el, 'status').querySelector<HTMLButtonElement>('[data-testid="remove-field"]')!.click();
    await settle();
    expect(api.patchRecord).toHaveBeenCalledExactlyOnceWith('rec1', [
      { op: 'remove', path: '/status' },
      { op: 'remove', path: '/$fields/status' },
    ]);
  });

  it('asks a new select for options before adding it', async () => {
    const el = mount();
    await settle();
    const form = el.querySelector<HTMLFormElement>('[data-testid="add-field"]')!;
    el.querySelector<HTMLInputElement>('[data-testid="field-name"]')!.value = 'priority';
    change(el.querySelector<HTMLSelectElement>('[data-testid="field-type"]')!, 'select');
    expect(el.querySelector<HTMLElement>('.add-options')!.hidden).toBe(false);
    form.requestSubmit();
    await settle();
    expect(form.querySelector('[role="alert"]')?.textContent).toBe('The select “priority” needs at least one option.');
    expect(api.patchRecord).not.toHaveBeenCalled();
    el.querySelector<HTMLInputElement>('[data-testid="field-options"]')!.value = 'low, high';
    form.requestSubmit();
    await settle();
    expect(api.patchRecord).toHaveBeenCalledExactlyOnceWith('rec1', [
      { op: 'add', path: '/priority', value: null },
      { op: 'add', path: '/$fields/priority', value: { type: 'select', options: ['low', 'high'] } },
    ]);
  });

  it('shows the shell’s refusal on the field and keeps what was typed', async () => {
    api.setRecordField.mockRejectedValueOnce(new ApiError('invalid_value', 'the record is read-only'));
    const el = mount();
    await settle();
    const input = row(el, 'title').querySelector('input')!;
    change(input, 'Dune Messiah');
    await settle();
    expect(row(el, 'title').querySelector('[role="alert"]')?.textContent).toBe('the record is read-only');
    expect(row(el, 'title').querySelector('input')!.value).toBe('Dune Messiah');
  });

  it('keeps unsaved input when another device changes the record', async () => {
    const app = fakeApp([doc]);
    const pane = recordPane(app, doc);
    document.body.replaceChildren(pane.el);
    await settle();
    const input = row(pane.el, 'title').querySelector('input')!;
    input.focus();
    input.value = 'typing…';
    view.json.pages = 999;
    pane.docsChanged?.(['rec1']);
    await settle();
    expect(row(pane.el, 'title').querySelector('input')!.value).toBe('typing…');
    expect(row(pane.el, 'pages').querySelector('input')!.value).toBe('999');
  });
});
