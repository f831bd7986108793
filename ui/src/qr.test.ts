import { describe, expect, it } from 'vitest';
import { encode } from 'uqr';
import { qrDataUrl } from './qr';

const svgOf = (url: string): string => decodeURIComponent(url.replace(/^data:image\/svg\+xml;charset=utf-8,/, ''));

describe('the invite QR code', () => {
  const code = `weft1-${'7'.repeat(180)}`;

  it('is an SVG data URL with no style attribute (the CSP forbids inline styles)', () => {
    const url = qrDataUrl(code);
    expect(url).toMatch(/^data:image\/svg\+xml;charset=utf-8,/);
    const svg = svgOf(url!);
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).not.toMatch(/style=|<script/i);
  });

  it('encodes the whole code with a quiet zone a scanner can find', () => {
    const qr = encode(code, { ecc: 'M', border: 4 });
    const svg = svgOf(qrDataUrl(code)!);
    // 8 px a module: the picture is the whole matrix, border included.
    expect(svg).toContain(`viewBox="0 0 ${qr.size * 8} ${qr.size * 8}"`);
    // The top-left finder pattern starts after the 4-module border.
    expect(qr.data[4]?.slice(4, 11)).toEqual([true, true, true, true, true, true, true]);
    expect(qr.data[0]?.every((m) => !m)).toBe(true);
  });

  it('says null for a code too long for any QR code', () => {
    expect(qrDataUrl('x'.repeat(5000))).toBeNull();
  });
});
