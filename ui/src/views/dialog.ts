// Modal dialogs on <dialog>: focus is kept inside, Escape closes, the page behind is inert.
import './dialogs.css';
import { button, h } from '../dom';

export interface Dialog {
  el: HTMLDialogElement;
  body: HTMLElement;
  close(): void;
}

export function openDialog(opts: {
  title: string;
  testid: string;
  wide?: boolean;
  onClose?(): void;
}): Dialog {
  const titleId = `dlg-${opts.testid}`;
  const body = h('div', { class: 'dialog-body' });
  const closeButton = button({ class: 'icon-button', 'aria-label': 'Close' }, () => close(), '×');
  const el = h(
    'dialog',
    { class: opts.wide ? 'dialog wide' : 'dialog', 'data-testid': opts.testid, 'aria-labelledby': titleId },
    h('div', { class: 'dialog-head' }, h('h2', { id: titleId }, opts.title), closeButton),
    body,
  );
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    if (el.open) el.close();
    el.remove();
    opts.onClose?.();
  };
  el.addEventListener('close', close);
  // A click on the backdrop lands on the dialog element itself.
  el.addEventListener('click', (ev) => {
    if (ev.target === el) close();
  });
  document.body.append(el);
  el.showModal();
  return { el, body, close };
}
