import { toString as qrCode } from 'qrcode';

/**
 * The enrolment page's QR code of an otpauth URI, as an inline SVG drawn on the server (no script,
 * no external image, nothing for the CSP to allow). The URI is the QR code's data, never spliced
 * into the markup; the SVG is the qrcode library's own output (paths and presentation attributes).
 */
export function otpauthQrCodeSvg(otpauthUri: string): Promise<string> {
  return qrCode(otpauthUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2, width: 220 });
}
