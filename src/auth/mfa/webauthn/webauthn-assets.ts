import { Controller, Get, Injectable, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { WEBAUTHN_PAGE_SCRIPT } from './webauthn-page-script';

interface Asset {
  /** Path under the context path, with a digest of the content: a new version is a new URL. */
  path: string;
  body: Buffer;
}

/**
 * The two scripts of the WebAuthn pages, read once at boot and served by this server (no CDN:
 * the server may have no Internet, and the pages' CSP allows `script-src 'self'` only):
 * @simplewebauthn/browser's UMD bundle from node_modules, and the pages' own script. Their URLs
 * carry a digest of the content, so they are cached for a year and an upgrade is a new URL.
 */
@Injectable()
export class WebAuthnAssets {
  readonly library: Asset;
  readonly page: Asset;

  constructor() {
    // The package exports only its entry point: the bundle is found next to it (script/ → dist/bundle/).
    const entry = require.resolve('@simplewebauthn/browser');
    this.library = asset('simplewebauthn-browser', readFileSync(join(dirname(entry), '..', 'dist', 'bundle', 'index.umd.min.js')));
    this.page = asset('webauthn-page', Buffer.from(WEBAUTHN_PAGE_SCRIPT, 'utf8'));
  }

  /** The `<script>` elements of a WebAuthn page (relative URLs, as the pages' form actions). */
  scripts(): string[] {
    return [this.library.path, this.page.path];
  }

  byName(name: string): Asset | undefined {
    return [this.library, this.page].find((a) => a.path === `webauthn/${name}`);
  }
}

function asset(name: string, body: Buffer): Asset {
  const digest = createHash('sha256').update(body).digest('base64url').slice(0, 16);
  return { path: `webauthn/${name}.${digest}.js`, body };
}

/** GET /webauthn/{name}.{digest}.js: the scripts above; anything else is a 404. */
@ApiExcludeController()
@Controller('webauthn')
export class WebAuthnAssetsController {
  constructor(private readonly assets: WebAuthnAssets) {}

  @Get(':file')
  serve(@Param('file') file: string, @Res() reply: FastifyReply): void {
    const found = this.assets.byName(file);
    if (!found) throw new NotFoundException();
    reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
      .send(found.body);
  }
}
