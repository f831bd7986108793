// Forms of the dialogs and panes (Settings, a record's Add field), and buttons that run
// something that can fail (Remove, Restore, a conflict's choice). Every one of them
// says what was refused or what failed inline, where it happened: nothing the shell
// refuses is swallowed, and nothing is sent twice while it runs.
import { h, type Attrs, type Child } from '../dom';
import { alertBox, alertText } from './toast';

export interface FormSpec {
  /** The form's attributes (class, data-testid, aria-label). */
  attrs: Attrs;
  /** The submit button's text, and its attributes. */
  submit: string;
  submitAttrs?: Attrs;
  /** The message slot's attributes (role="status" where it says "Saved."). */
  messageAttrs?: Attrs;
  /** The form's children, given its submit button and the slot for its messages. */
  layout(submit: HTMLButtonElement, message: HTMLElement): Child[];
  /**
   * What a submit does. A string refuses it: the text is shown, nothing is sent. A
   * promise is the work: the button is disabled until it settles and a failure is shown
   * in the slot. `undefined`: nothing to do.
   */
  onSubmit(): string | Promise<unknown> | undefined;
  /** After a failure is shown: the focus to the field to correct, say. */
  onError?(e: unknown): void;
}

export interface Form {
  el: HTMLFormElement;
  /** Replaces the message slot's content ("Saved."). */
  say(...nodes: Child[]): void;
}

export function form(spec: FormSpec): Form {
  const submit = h('button', { ...spec.submitAttrs, type: 'submit' }, spec.submit);
  const message = h('div', spec.messageAttrs ?? {});
  const say = (...nodes: Child[]): void => message.replaceChildren(...nodes.filter((n): n is Node | string => !!n));
  const el = h('form', spec.attrs, ...spec.layout(submit, message));
  el.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (submit.disabled) return;
    const outcome = spec.onSubmit();
    if (outcome === undefined) return;
    if (typeof outcome === 'string') {
      say(alertText(outcome));
      return;
    }
    say();
    submit.disabled = true;
    outcome
      .catch((e: unknown) => {
        say(alertBox(e));
        spec.onError?.(e);
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
  return { el, say };
}

/**
 * Runs `work` with `buttons` disabled. A failure enables them again and goes to
 * `onError`; after a success they stay disabled, since the view that holds them is
 * drawn again with what changed.
 */
export function busy(
  buttons: HTMLButtonElement | readonly HTMLButtonElement[],
  work: () => Promise<unknown>,
  onError: (e: unknown) => void,
): void {
  const all: readonly HTMLButtonElement[] = buttons instanceof HTMLButtonElement ? [buttons] : buttons;
  for (const b of all) b.disabled = true;
  // Runs `work` now; a throw is a failure like a rejection.
  new Promise((ok) => ok(work())).catch((e: unknown) => {
    for (const b of all) b.disabled = false;
    onError(e);
  });
}
