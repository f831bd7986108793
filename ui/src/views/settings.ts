// Settings: this device's name, the relays, where the data lives, and the theme.
import { addRelay, getSettings, removeRelay, setDeviceName, type Settings } from '../api';
import { button, h } from '../dom';
import type { App } from './app';
import { openDialog } from './dialog';
import { busy, form } from './form';
import { alertBox } from './toast';

export function openSettings(app: App): void {
  const dialog = openDialog({ title: 'Settings', testid: 'settings', wide: true });
  const content = h('div', { class: 'settings' });
  dialog.body.append(content);

  const draw = (s: Settings): void => {
    // Device name
    const name = h('input', { id: 'device-name', 'data-testid': 'device-name', autocomplete: 'off', required: true });
    name.value = s.device_name;
    const nameForm = form({
      attrs: { class: 'setting', 'data-testid': 'device-name-form' },
      submit: 'Save',
      messageAttrs: { role: 'status' },
      layout: (save, note) => [
        h('label', { for: 'device-name' }, 'Device name'),
        h('div', { class: 'inline' }, name, save),
        h('p', { class: 'muted small' }, 'Other devices show this name; they see a change when they next connect.'),
        note,
      ],
      onSubmit: () => {
        const v = name.value.trim();
        if (v === '') return 'A device needs a name.';
        return setDeviceName(v).then(() => {
          nameForm.say(h('p', { class: 'muted' }, 'Saved.'));
          void app.sync.refresh();
        });
      },
    });

    // Relays
    const relayItems = s.relays.map((addr) => {
      const remove = button(
        { 'data-testid': 'remove-relay', 'aria-label': `Remove relay ${addr}` },
        () => busy(remove, () => removeRelay(addr).then(reload), (e) => relayForm.say(alertBox(e))),
        'Remove',
      );
      return h('li', { 'data-testid': 'relay' }, h('code', { class: 'addr' }, addr), remove);
    });
    const addr = h('input', {
      id: 'relay-addr',
      'data-testid': 'relay-addr',
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: '/dns4/relay.example.org/tcp/4001/p2p/12D3Koo…',
    });
    const relayForm = form({
      attrs: { class: 'setting', 'data-testid': 'relays' },
      submit: 'Add relay',
      submitAttrs: { 'data-testid': 'add-relay' },
      layout: (add, message) => [
        h('h3', {}, 'Relays'),
        h(
          'p',
          { class: 'muted small' },
          'A relay (weft-relay) keeps the encrypted changes so devices that are never online together still sync. It cannot read them.',
        ),
        relayItems.length === 0
          ? h('p', { class: 'muted' }, 'No relay.')
          : h('ul', { class: 'relay-list', 'data-testid': 'relay-list' }, ...relayItems),
        h('label', { for: 'relay-addr' }, 'Relay address'),
        h('div', { class: 'inline' }, addr, add),
        // A refused address, or a removal that failed.
        message,
      ],
      onSubmit: () => {
        const v = addr.value.trim();
        if (v === '') return 'Enter the relay’s address, ending in /p2p/ and its id.';
        return addRelay(v).then(reload);
      },
      // Refused addresses stay in the field, to correct them.
      onError: () => addr.focus(),
    });

    content.replaceChildren(
      nameForm.el,
      relayForm.el,
      h(
        'section',
        { class: 'setting' },
        h('h3', {}, 'Data location'),
        h('p', {}, h('code', { 'data-testid': 'home' }, s.home)),
        h(
          'p',
          { class: 'muted small' },
          'To use another location, start Weft with ',
          h('code', {}, 'WEFT_HOME=/path/to/dir'),
          ' set, or as ',
          h('code', {}, 'weft --home /path/to/dir'),
          '.',
        ),
      ),
      h(
        'section',
        { class: 'setting' },
        h('h3', {}, 'Theme'),
        h('p', { class: 'muted small' }, 'Weft follows your system’s light or dark appearance.'),
      ),
    );
  };

  async function reload(): Promise<void> {
    try {
      draw(await getSettings());
      void app.sync.refresh();
    } catch (e) {
      content.replaceChildren(alertBox(e));
    }
  }
  content.replaceChildren(h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading…'));
  void reload();
}
