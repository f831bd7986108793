// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';

const api = vi.hoisted(() => ({
  createInvite: vi.fn(),
  getSettings: vi.fn(),
  setDeviceName: vi.fn(),
  addRelay: vi.fn(),
  removeRelay: vi.fn(),
}));
vi.mock('../api', async (orig) => ({ ...(await orig<typeof import('../api')>()), ...api }));

import { openPairing } from './pairing';
import { openSettings } from './settings';
import { fakeApp, settle } from './testing';

afterEach(() => {
  vi.clearAllMocks();
  document.body.replaceChildren();
});

describe('Add a device', () => {
  it('shows the invite code to copy, its QR code as a data: image, and that it is a secret', async () => {
    const code = 'weft1-ABCDEFGHJKMNPQRSTVWXYZ0123456789';
    api.createInvite.mockResolvedValue({ code, name: 'Lab' });
    openPairing();
    await settle();
    const dialog = document.querySelector('[data-testid="pairing"]')!;
    expect(dialog.querySelector<HTMLTextAreaElement>('[data-testid="invite-code"]')!.value).toBe(code);
    const qr = dialog.querySelector<HTMLImageElement>('[data-testid="invite-qr"]')!;
    expect(qr.getAttribute('src')).toMatch(/^data:image\/svg\+xml;charset=utf-8,%3Csvg/);
    expect(dialog.querySelector('[data-testid="invite-warning"]')!.textContent).toMatch(/full access to "Lab"/);
    expect(dialog.querySelector('[style]')).toBeNull();
  });

  it('shows why no invite could be made', async () => {
    api.createInvite.mockRejectedValue({ code: 'not_open', message: 'the node is not running' });
    openPairing();
    await settle();
    expect(document.querySelector('[data-testid="pairing"] [role="alert"]')?.textContent).toBe('the node is not running');
  });
});

describe('Settings', () => {
  const settings = { device_name: 'laptop', home: '/home/me/.local/share/weft', relays: ['/ip4/192.0.2.1/tcp/4001/p2p/12D3KooWA'] };

  it('shows the device name, relays and the data location with how to pick another', async () => {
    api.getSettings.mockResolvedValue(settings);
    openSettings(fakeApp());
    await settle();
    const d = document.querySelector('[data-testid="settings"]')!;
    expect(d.querySelector<HTMLInputElement>('[data-testid="device-name"]')!.value).toBe('laptop');
    expect([...d.querySelectorAll('[data-testid="relay"] code')].map((c) => c.textContent)).toEqual(settings.relays);
    expect(d.querySelector('[data-testid="home"]')!.textContent).toBe(settings.home);
    expect(d.textContent).toContain('WEFT_HOME');
    expect(d.textContent).toContain('weft --home');
  });

  it('shows the message of a refused relay address and keeps it in the field', async () => {
    api.getSettings.mockResolvedValue(settings);
    api.addRelay.mockRejectedValue({ code: 'invalid_address', message: 'no /p2p/ part in /ip4/1.2.3.4/tcp/1' });
    openSettings(fakeApp());
    await settle();
    const d = document.querySelector('[data-testid="settings"]')!;
    const addr = d.querySelector<HTMLInputElement>('[data-testid="relay-addr"]')!;
    addr.value = '/ip4/1.2.3.4/tcp/1';
    d.querySelector<HTMLFormElement>('[data-testid="relays"]')!.requestSubmit();
    await settle();
    expect(api.addRelay).toHaveBeenCalledExactlyOnceWith('/ip4/1.2.3.4/tcp/1');
    expect(d.querySelector('[data-testid="relays"] [role="alert"]')?.textContent).toBe('no /p2p/ part in /ip4/1.2.3.4/tcp/1');
    expect(addr.value).toBe('/ip4/1.2.3.4/tcp/1');
  });

  it('removes a relay and saves the device name', async () => {
    api.getSettings.mockResolvedValue(settings);
    api.removeRelay.mockResolvedValue(undefined);
    api.setDeviceName.mockResolvedValue(undefined);
    openSettings(fakeApp());
    await settle();
    const d = document.querySelector('[data-testid="settings"]')!;
    d.querySelector<HTMLButtonElement>('[data-testid="remove-relay"]')!.click();
    await settle();
    expect(api.removeRelay).toHaveBeenCalledExactlyOnceWith(settings.relays[0]);
    d.querySelector<HTMLInputElement>('[data-testid="device-name"]')!.value = ' desk ';
    d.querySelector<HTMLFormElement>('[data-testid="device-name-form"]')!.requestSubmit();
    await settle();
    expect(api.setDeviceName).toHaveBeenCalledExactlyOnceWith('desk');
  });
});
