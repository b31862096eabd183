import { Controller, Get, Header, Injectable } from '@nestjs/common';
import { ApiExcludeController, type OpenAPIObject } from '@nestjs/swagger';
import escapeHtml from 'escape-html';
import { AdminApi } from '../common/admin-api';
import { pagePolicy } from '../common/security-headers';

/** Holds the document app.setup generates once all controllers are known. */
@Injectable()
export class ApiDocument {
  private document?: OpenAPIObject;

  set(document: OpenAPIObject): void {
    this.document = document;
  }

  get(): OpenAPIObject {
    if (!this.document) throw new Error('the API document is generated at boot');
    return this.document;
  }
}

/**
 * `/actuator/openapi.json` and a browsable `/actuator/docs` page (server-rendered, no external
 * assets), behind the admin credential like the rest of /actuator.
 */
@ApiExcludeController()
@Controller('actuator')
@AdminApi()
export class ApiDocumentController {
  constructor(private readonly doc: ApiDocument) {}

  @Get('openapi.json')
  json(): OpenAPIObject {
    return this.doc.get();
  }

  @Get('docs')
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', pagePolicy())
  html(): string {
    const d = this.doc.get();
    const rows = Object.entries(d.paths).flatMap(([path, ops]) =>
      Object.entries(ops as Record<string, { summary?: string; parameters?: { name: string; in: string }[] }>)
        .filter(([method]) => ['get', 'post', 'put', 'delete', 'patch'].includes(method))
        .map(([method, op]) => {
          const params = (op.parameters ?? []).map((p) => `${p.name} (${p.in})`).join(', ');
          return `<tr><td><code>${escapeHtml(method.toUpperCase())}</code></td><td><code>${escapeHtml(path)}</code></td><td>${escapeHtml(params)}</td></tr>`;
        }),
    );
    return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(d.info.title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}td{padding:.3rem .8rem;border-bottom:1px solid #ddd}</style></head>
<body><h1>${escapeHtml(d.info.title)}</h1><p>${escapeHtml(d.info.description ?? '')}</p>
<p>Machine-readable: <a href="openapi.json">openapi.json</a> (OpenAPI ${escapeHtml(d.openapi)}).</p>
<table><thead><tr><th>Method</th><th>Path</th><th>Parameters</th></tr></thead><tbody>${rows.join('')}</tbody></table></body></html>`;
  }
}
