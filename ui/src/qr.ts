// The invite's QR code as an image URL. An SVG in a data: URL, since the CSP allows
// data: images but neither inline styles nor script-built canvases are needed then.
import { renderSVG } from 'uqr';

/**
 * `null` when the text does not fit in a QR code (over ~2,900 bytes at level M), so
 * the dialog can say "copy the code instead" rather than fail.
 */
export function qrDataUrl(text: string): string | null {
  let svg: string;
  try {
    // Level M survives a smudged or glared screen; border 4 is the quiet zone the
    // standard asks for, which phone scanners need to find the code.
    svg = renderSVG(text, { ecc: 'M', border: 4, pixelSize: 8, whiteColor: '#ffffff', blackColor: '#000000' });
  } catch {
    return null;
  }
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}
