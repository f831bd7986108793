// Settings: this device's name, the relays, where the data lives, and the theme.
import { addRelay, getSettings, removeRelay, setDeviceName, type Settings } from '../api';
import { h } from '../dom';
import type { App } from './app';
import { openDialog } from './dialog';
import { alertBox, alertText } from './toast';

export function openSettings(app: App): void {
  const dialog = openDialog({ title: 'Settings', testid: 'settings', wide: true });
  const content = h('div', { class: 'settings' });
  dialog.body.append(content);

  const draw = (s: Settings): void => {
    // Device name
    const name = h('input', { id: 'device-name', 'data-testid': 'device-name', autocomplete: 'off', required: true });
    name.value = s.device_name;
    const nameNote = h('div', { role: 'status' });
    const nameSave = h('button', { type: 'submit' }, 'Save');
    const nameForm = h(
      'form',
      { class: 'setting', 'data-testid': 'device-name-form' },
      h('label', { for: 'device-name' }, 'Device name'),
      h('div', { class: 'inline' }, name, nameSave),
      h('p', { class: 'muted small' }, 'Other devices show this name; they see a change when they next connect.'),
      nameNote,
    );
    nameForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const v = name.value.trim();
      if (v === '') {
        nameNote.replaceChildren(alertText('A device needs a name.'));
        return;
      }
      nameSave.disabled = true;
      setDeviceName(v)
        .then(() => {
          nameNote.replaceChildren(h('p', { class: 'muted' }, 'Saved.'));
          void app.sync.refresh();
        })
        .catch((e: unknown) => nameNote.replaceChildren(alertBox(e)))
        .finally(() => {
          nameSave.disabled = false;
        });
    });

    // Relays
    const relayError = h('div', {});
    const relayItems = s.relays.map((addr) => {
      const remove = h(
        'button',
        { type: 'button', 'data-testid': 'remove-relay', 'aria-label': `Remove relay ${addr}` },
        'Remove',
      );
      remove.addEventListener('click', () => {
        remove.disabled = true;
        removeRelay(addr)
          .then(reload)
          .catch((e: unknown) => {
            remove.disabled = false;
            relayError.replaceChildren(alertBox(e));
          });
      });
      return h('li', { 'data-testid': 'relay' }, h('code', { class: 'addr' }, addr), remove);
    });
    const addr = h('input', {
      id: 'relay-addr',
      'data-testid': 'relay-addr',
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: '/dns4/relay.example.org/tcp/4001/p2p/12D3Koo…',
    });
    const add = h('button', { type: 'submit', 'data-testid': 'add-relay' }, 'Add relay');
    const relayForm = h(
      'form',
      { class: 'setting', 'data-testid': 'relays' },
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
      relayError,
    );
    relayForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const v = addr.value.trim();
      if (v === '') {
        relayError.replaceChildren(alertText('Enter the relay’s address, ending in /p2p/ and its id.'));
        return;
      }
      add.disabled = true;
      addRelay(v)
        .then(reload)
        .catch((e: unknown) => {
          // Refused addresses stay in the field, to correct them.
          add.disabled = false;
          relayError.replaceChildren(alertBox(e));
          addr.focus();
        });
    });

    content.replaceChildren(
      nameForm,
      relayForm,
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
