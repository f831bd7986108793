// "Add a device": a fresh invite code, to paste on the other device (Join a workspace,
// or `weft join CODE`) or to scan as a QR code.
import { createInvite, type Invite } from '../api';
import { button, h } from '../dom';
import { qrDataUrl } from '../qr';
import { openDialog } from './dialog';
import { alertBox, alertText } from './toast';

async function copy(text: string, fallback: HTMLTextAreaElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // The clipboard API needs a permission the webview may not grant; selecting the
    // text and the old copy command work without one.
    fallback.focus();
    fallback.select();
    if (!document.execCommand('copy')) throw new Error('copy refused');
  }
}

export function openPairing(): void {
  const dialog = openDialog({ title: 'Add a device', testid: 'pairing' });
  const content = h('div', { class: 'pairing', 'aria-live': 'polite' });
  dialog.body.append(content);

  const show = (invite: Invite): void => {
    const code = h('textarea', {
      class: 'invite-code',
      'data-testid': 'invite-code',
      readonly: true,
      rows: '4',
      spellcheck: 'false',
      'aria-label': 'Invite code',
    });
    code.value = invite.code;
    code.addEventListener('focus', () => code.select());
    const copied = h('span', { class: 'muted', role: 'status' });
    const copyButton = button({ class: 'primary', 'data-testid': 'copy-invite' }, () => {
      copy(invite.code, code)
        .then(() => copied.replaceChildren('Copied.'))
        .catch(() => copied.replaceChildren(alertText('Could not copy: select the code and copy it by hand.')));
    }, 'Copy');
    // Upper case: QR's alphanumeric mode holds the code in fewer modules (a smaller,
    // easier scan), and the code reads the same in either case (`weft invite` does the same).
    const url = qrDataUrl(invite.code.toUpperCase());
    const qr = url
      ? h('img', { class: 'qr', 'data-testid': 'invite-qr', src: url, alt: 'QR code of the invite code', width: '240', height: '240' })
      : h('p', { class: 'muted' }, 'The code is too long for a QR code: copy it instead.');
    const again = button({}, () => void load(), 'New code');
    content.replaceChildren(
      h(
        'p',
        {},
        'On the other device, open Weft and choose ',
        h('strong', {}, 'Join a workspace'),
        ', then paste this code or scan it. From a terminal: ',
        h('code', {}, 'weft join CODE'),
        '.',
      ),
      h('div', { class: 'invite' }, qr, h('div', { class: 'invite-text' }, code, h('div', { class: 'actions start' }, copyButton, copied))),
      h(
        'p',
        { class: 'warning small', 'data-testid': 'invite-warning' },
        `This code gives full access to "${invite.name}": anyone who has it can read and change everything in it. Treat it like a password and give it only to your own devices.`,
      ),
      h('div', { class: 'actions' }, again),
    );
  };

  const load = async (): Promise<void> => {
    content.replaceChildren(h('p', { class: 'muted', 'aria-busy': 'true' }, 'Making an invite…'));
    try {
      show(await createInvite());
    } catch (e) {
      const retry = button({}, () => void load(), 'Try again');
      content.replaceChildren(alertBox(e), h('div', { class: 'actions' }, retry));
    }
  };
  void load();
}
