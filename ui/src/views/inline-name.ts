// The name typed in place in a tree row: a new note, record or folder, or a new name for
// one (F2, a double click, the menu). Enter or leaving the field commits it; Escape, or
// a name left empty, cancels. Either happens once: the field is drawn away after it.
import { h } from '../dom';

export interface InlineNameOptions {
  testid: string;
  /** The accessible name ("Name of the new note in Work"). */
  label: string;
  /** The text it starts with, all of it selected by whoever focuses it. */
  value: string;
  /** Escape, or the name left empty. */
  cancel(): void;
  /** The name, trimmed; the field is disabled meanwhile. Reports its own failures. */
  commit(name: string): Promise<void>;
}

export function inlineNameInput(opts: InlineNameOptions): HTMLInputElement {
  const input = h('input', {
    class: 'tree-input',
    'data-testid': opts.testid,
    'aria-label': opts.label,
    value: opts.value,
    autocomplete: 'off',
    spellcheck: 'false',
  });
  let done = false;
  const finish = (commit: boolean): void => {
    if (done) return;
    done = true;
    const name = input.value.trim();
    if (!commit || name === '') {
      opts.cancel();
      return;
    }
    input.disabled = true;
    void opts.commit(name);
  };
  input.addEventListener('keydown', (ev) => {
    // Keys typed into the name are not the tree's (arrows, F2, Delete) nor the window's.
    ev.stopPropagation();
    if (ev.key === 'Enter') {
      ev.preventDefault();
      finish(true);
    } else if (ev.key === 'Escape') {
      ev.preventDefault();
      finish(false);
    }
  });
  // A click into the field is not a click on its row (open, rename).
  input.addEventListener('click', (ev) => ev.stopPropagation());
  input.addEventListener('dblclick', (ev) => ev.stopPropagation());
  input.addEventListener('blur', () => finish(true));
  return input;
}
