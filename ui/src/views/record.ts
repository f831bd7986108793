// The main pane for a record: one row per field with an editor for its type, saved on
// change; Add field and Remove field; a conflict badge and a picker of the concurrent
// values where devices wrote a field at the same time. Types, parsing and pointers are
// in ../fields.ts.
import { getRecord, patchRecord, setRecordField, type Conflict, type DocSummary, type RecordView } from '../api';
import { button, h } from '../dom';
import {
  FIELD_TYPES,
  TYPE_LABELS,
  addFieldPatch,
  displayValue,
  fieldsOf,
  inputText,
  otherConflicts,
  parseInput,
  parsePointer,
  removeFieldPatch,
  saveOps,
  type Field,
  type FieldType,
} from '../fields';
import type { App } from './app';
import { busy, form } from './form';
import { docFrame, type DocPaneOptions } from './note';
import { mayTakeFocus, type Pane } from './pane';
import { alertBox, alertText } from './toast';

interface Editor {
  el: HTMLElement;
  /** The control that gets focus and the label. */
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  /** The input as text, what parseInput takes. */
  read(): string;
}

let ids = 0;

function editorFor(field: Field, id: string): Editor {
  const text = inputText(field.type, field.value);
  switch (field.type) {
    case 'checkbox': {
      const c = h('input', { type: 'checkbox', id, class: 'field-check' });
      c.checked = field.value === true;
      return { el: c, control: c, read: () => String(c.checked) };
    }
    case 'select': {
      const s = h(
        'select',
        { id },
        h('option', { value: '' }, '—'),
        ...field.options.map((o) => h('option', { value: o }, o)),
      );
      s.value = text;
      return { el: s, control: s, read: () => s.value };
    }
    case 'list':
    case 'json': {
      const lines = Math.max(2, Math.min(8, text.split('\n').length + (field.type === 'list' ? 1 : 0)));
      const t = h('textarea', {
        id,
        rows: String(lines),
        spellcheck: field.type === 'list' ? 'true' : 'false',
        placeholder: field.type === 'list' ? 'One item per line' : undefined,
        'aria-describedby': `${id}-hint`,
      });
      t.value = text;
      const hint = h('span', { id: `${id}-hint`, class: 'field-hint muted' }, field.type === 'list' ? 'One item per line' : 'JSON');
      return { el: h('div', { class: 'field-multi' }, t, hint), control: t, read: () => t.value };
    }
    case 'date': {
      const d = h('input', { type: 'date', id, placeholder: 'YYYY-MM-DD' });
      d.value = text;
      return { el: d, control: d, read: () => d.value };
    }
    case 'number': {
      // Not type=number: its value is "" for anything that is not a number, so "abc"
      // could not be told from an empty field and would silently clear it.
      const n = h('input', { type: 'text', inputmode: 'decimal', id, autocomplete: 'off' });
      n.value = text;
      return { el: n, control: n, read: () => n.value };
    }
    case 'text': {
      const t = h('input', { type: 'text', id, autocomplete: 'off' });
      t.value = text;
      return { el: t, control: t, read: () => t.value };
    }
  }
}

interface FieldRow {
  el: HTMLElement;
  editor: Editor;
  /** What the editor showed when drawn: a row whose input differs is being edited. */
  shown: string;
}

function conflictLabel(field: Field | null, c: Conflict): string {
  const tokens = parsePointer(c.pointer);
  if (field && c.pointer === field.pointer) return field.name;
  return tokens.join(' › ');
}

export function recordPane(app: App, doc: DocSummary, opts: DocPaneOptions = {}): Pane {
  const list = h('div', { class: 'fields', 'data-testid': 'fields', role: 'list', 'aria-label': 'Fields' });
  const others = h('div', { class: 'other-conflicts' });
  const status = h('div', { class: 'record-status' });
  const addForm = addFieldForm();
  const body = h('div', { class: 'record-body' }, status, list, others, addForm.el);
  const frame = docFrame(app, doc, body, opts);
  let view: RecordView | null = null;
  let rows = new Map<string, FieldRow>();
  let alive = true;
  /** Opened for typing (a new record): the first field takes the focus once shown, or
   *  the name of a field to add when there is none. */
  let focusOnLoad = opts.focus === true;

  async function load(): Promise<void> {
    try {
      const next = await getRecord(doc.id);
      if (!alive) return;
      view = next;
      status.replaceChildren();
      draw();
      if (focusOnLoad) {
        focusOnLoad = false;
        if (mayTakeFocus()) (rows.values().next().value?.editor.control ?? addForm.name).focus();
      }
    } catch (e) {
      if (alive) status.replaceChildren(alertBox(e));
    }
  }

  function draw(): void {
    if (!view) return;
    const fields = fieldsOf(view.json, view.conflicts);
    const focused = [...rows].find(([, r]) => r.el.contains(document.activeElement));
    const next = new Map<string, FieldRow>();
    for (const field of fields) {
      const old = rows.get(field.name);
      // Keep a row with unsaved input (being typed, or refused as invalid): a redraw
      // for another field or another device's change must not throw it away.
      if (old && old.editor.read() !== old.shown) {
        next.set(field.name, old);
      } else {
        next.set(field.name, fieldRow(field));
      }
    }
    rows = next;
    list.replaceChildren(...[...rows.values()].map((r) => r.el));
    if (fields.length === 0) list.append(h('p', { class: 'muted', role: 'listitem' }, 'No fields yet. Add one below.'));
    if (focused && rows.get(focused[0]) !== focused[1]) rows.get(focused[0])?.editor.control.focus();

    const rest = otherConflicts(view.json, view.conflicts);
    others.replaceChildren(
      ...(rest.length === 0
        ? []
        : [h('h3', {}, 'Other conflicts'), ...rest.map((c) => conflictBox(null, c, (e) => others.append(alertBox(e))))]),
    );
  }

  function fieldRow(field: Field): FieldRow {
    const id = `field-${++ids}`;
    const editor = editorFor(field, id);
    const error = h('div', { class: 'field-error', 'data-testid': 'field-error' });
    const label = h('label', { for: id, class: 'field-name' }, field.name);
    const remove = button(
      { class: 'icon-button', 'data-testid': 'remove-field', 'aria-label': `Remove field “${field.name}”`, title: 'Remove field' },
      () => {
        if (!view) return;
        const patch = removeFieldPatch(view.json, field.name);
        busy(remove, () => patchRecord(doc.id, patch).then(load), (e) => error.replaceChildren(alertBox(e)));
      },
      '×',
    );
    const save = async (): Promise<void> => {
      const parsed = parseInput(field, editor.read());
      if (!parsed.ok) {
        editor.control.setAttribute('aria-invalid', 'true');
        error.replaceChildren(alertText(parsed.error));
        return;
      }
      editor.control.removeAttribute('aria-invalid');
      error.replaceChildren();
      const sent = editor.read();
      const ops = view ? saveOps(view.json, field, parsed.value) : { set: parsed.value };
      try {
        if ('set' in ops) await setRecordField(doc.id, field.pointer, ops.set);
        else await patchRecord(doc.id, ops.patch);
      } catch (e) {
        error.replaceChildren(alertBox(e));
        return;
      }
      // What was saved is what the row now shows; anything typed since is still dirty.
      row.shown = sent;
      await load();
      void frame.header.refreshHolders();
    };
    editor.control.addEventListener('change', () => void save());
    if (editor.control instanceof HTMLInputElement && editor.control.type !== 'checkbox') {
      editor.control.addEventListener('keydown', (ev) => {
        if (ev.key === 'Escape') {
          (ev.target as HTMLInputElement).value = row.shown;
          editor.control.removeAttribute('aria-invalid');
          error.replaceChildren();
        }
      });
    }
    const type = field.type === 'json' ? 'JSON' : TYPE_LABELS[field.type];
    const el = h(
      'div',
      {
        class: `field-row type-${field.type}${field.conflicts.length ? ' has-conflict' : ''}`,
        role: 'listitem',
        'data-testid': 'field',
        'data-name': field.name,
        'data-type': field.type,
      },
      h('div', { class: 'field-label' }, label, h('span', { class: 'field-type muted' }, type)),
      h('div', { class: 'field-value' }, editor.el),
      remove,
      field.mismatch ? h('p', { class: 'field-note muted' }, `${field.mismatch}; shown as ${type}.`) : null,
      ...field.conflicts.map((c) => conflictBox(field, c, (e) => error.replaceChildren(alertBox(e)))),
      error,
    );
    const row: FieldRow = { el, editor, shown: editor.read() };
    return row;
  }

  function conflictBox(field: Field | null, c: Conflict, onError: (e: unknown) => void): HTMLElement {
    const name = conflictLabel(field, c);
    const choices: HTMLButtonElement[] = c.values.map((v) =>
      button(
        { class: 'choice', 'data-testid': 'conflict-value' },
        () => busy(choices, () => setRecordField(doc.id, c.pointer, v).then(load), onError),
        displayValue(v),
      ),
    );
    return h(
      'div',
      { class: 'conflict-box', 'data-testid': 'conflict', 'data-pointer': c.pointer },
      h('span', { class: 'badge conflict', 'data-testid': 'conflict-badge' }, 'conflict'),
      h('span', { class: 'muted' }, `Devices wrote “${name}” at the same time. Keep:`),
      h('div', { class: 'choices', role: 'group', 'aria-label': `Values of ${name}` }, ...choices),
    );
  }

  function addFieldForm(): { el: HTMLElement; name: HTMLInputElement } {
    const n = ++ids;
    const name = h('input', { id: `new-field-${n}`, 'data-testid': 'field-name', autocomplete: 'off', placeholder: 'Name' });
    const type = h(
      'select',
      { id: `new-type-${n}`, 'data-testid': 'field-type' },
      ...FIELD_TYPES.map((t) => h('option', { value: t }, TYPE_LABELS[t])),
    );
    const options = h('input', {
      id: `new-options-${n}`,
      'data-testid': 'field-options',
      autocomplete: 'off',
      placeholder: 'todo, doing, done',
    });
    const optionsBox = h('div', { class: 'add-options', hidden: true }, h('label', { for: options.id }, 'Options (comma-separated)'), options);
    type.addEventListener('change', () => {
      optionsBox.hidden = type.value !== 'select';
      if (!optionsBox.hidden) options.focus();
    });
    const { el } = form({
      attrs: { class: 'add-field', 'data-testid': 'add-field', 'aria-label': 'Add field' },
      submit: 'Add field',
      submitAttrs: { 'data-testid': 'add-field-button' },
      layout: (submit, message) => [
        h('h3', {}, 'Add field'),
        h(
          'div',
          { class: 'add-row' },
          h('div', {}, h('label', { for: name.id }, 'Name'), name),
          h('div', {}, h('label', { for: type.id }, 'Type'), type),
          submit,
        ),
        optionsBox,
        message,
      ],
      onSubmit: () => {
        if (!view) return undefined;
        const r = addFieldPatch(view.json, { name: name.value, type: type.value as FieldType, options: options.value });
        if (!r.ok) return r.error;
        const added = name.value.trim();
        return patchRecord(doc.id, r.patch).then(async () => {
          name.value = '';
          options.value = '';
          await load();
          rows.get(added)?.editor.control.focus();
        });
      },
    });
    return { el, name };
  }

  status.replaceChildren(h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading…'));
  void load();

  return {
    el: frame.el,
    docId: doc.id,
    docsUpdated() {
      const next = app.doc(doc.id);
      if (next) frame.header.update(next);
    },
    docsChanged(changed) {
      if (!changed.includes(doc.id)) return;
      void load();
      void frame.header.refreshHolders();
      void frame.refreshHistory();
    },
    async destroy() {
      alive = false;
      frame.header.destroy();
    },
  };
}
