import { describe, expect, it } from 'vitest';
import type { Device, Holder } from './api';
import { deviceName, holdersText, statusDetail, statusText } from './sync';

describe('the status indicator', () => {
  it('reads Synced, Syncing N changes or Offline', () => {
    expect(statusText({ state: 'synced', pending: 0 })).toBe('Synced');
    expect(statusText({ state: 'syncing', pending: 3 })).toBe('Syncing 3 changes');
    expect(statusText({ state: 'syncing', pending: 1 })).toBe('Syncing 1 change');
    expect(statusText({ state: 'syncing', pending: 0 })).toBe('Syncing');
    expect(statusText({ state: 'offline', pending: 7 })).toBe('Offline');
  });

  it('counts connected devices and relays apart, offline ones not at all', () => {
    const dev = (via: Device['via'], relay = false): Device => ({
      id: 'x', name: 'x', via, relay, last_sync_ms: null, in_sync: false,
    });
    expect(statusDetail({ devices: [dev('lan'), dev('offline'), dev('direct', true)], relays: [] })).toBe(
      'Connected to 1 device and 1 relay',
    );
    expect(statusDetail({ devices: [], relays: [] })).toBe('Connected to 0 devices');
  });
});

describe('who holds the latest changes', () => {
  const holder = (name: string, latest: boolean, this_device = false): Holder => ({
    device: `${name}-0123456789`, name, this_device, latest, last_sync_ms: null,
  });

  it('names this device first, then the others, then those behind', () => {
    expect(holdersText([holder('laptop', true), holder('me', true, true), holder('phone', false)])).toBe(
      'Latest on: this device, laptop; behind: phone',
    );
  });

  it('says when this device is the one behind', () => {
    expect(holdersText([holder('laptop', true), holder('me', false, true)])).toBe(
      'Latest on: laptop; behind: this device',
    );
    expect(holdersText([holder('me', false, true)])).toBe('Behind: this device');
    expect(holdersText([])).toBe('');
  });

  it('uses the start of the id for a device that announced no name', () => {
    expect(holdersText([holder('', true)])).toBe('Latest on: device -0123456');
    expect(deviceName({ name: '', id: 'abcdef0123456789' })).toBe('device abcdef01');
  });
});
