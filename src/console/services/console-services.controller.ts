import { Body, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InvalidServiceDefinition } from '../../services/registered-service';
import { ServiceRegistry } from '../../services/service-registry';
import { ConsoleController } from '../console-auth';
import { seeOther } from '../console-values';
import { consolePage, sendConsolePage, viewer, type ConsoleViewer } from '../console-page';
import type { Html } from '../html';
import { buildService, formOf, newServiceForm, readForm, type ServiceForm, type ServiceFormErrors } from './service-form';
import { matchBody, notFoundBody, PAGE_SIZE, serviceDetailBody, serviceFormBody, serviceListBody, SERVICES_STYLE } from './service-pages';

/** The notices a redirect after a change may name (fixed texts: nothing from the query is shown). */
const DONE: Record<string, string> = {
  created: 'The service was created; every node uses it within a second.',
  saved: 'The service was saved; every node uses the change within a second.',
  enabled: 'The service was enabled.',
  disabled: 'The service was disabled: CAS now refuses its URLs.',
};

const isId = (id: string) => /^\d{1,15}$/.test(id);

/**
 * `/admin/services`: the registered services, one's CAS JSON, create/edit through the registry's
 * own validation and storage (what /actuator/registeredServices uses), enable/disable, and which
 * service a URL matches. Every read is of the small registered_services table (keyset pages of
 * 50 by evaluation order) or the node's loaded list; no ticket is read.
 */
@ApiExcludeController()
@ConsoleController('services')
export class ConsoleServicesController {
  constructor(private readonly registry: ServiceRegistry) {}

  @Get()
  async list(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Query('after') after?: string, @Query('done') done?: string): Promise<void> {
    const v = viewer(req);
    const from = typeof after === 'string' && isId(after) ? Number(after) : undefined;
    const page = await this.registry.page(from, PAGE_SIZE);
    this.send(reply, v, 200, 'Services', serviceListBody(v, page, from), done);
  }

  @Get('match')
  match(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Query('url') url?: string): void {
    const v = viewer(req);
    const given = typeof url === 'string' && url.trim() ? url.trim() : undefined;
    this.send(reply, v, 200, 'Which service matches this URL?', matchBody(v, given, given === undefined ? undefined : this.registry.explain(given)));
  }

  @Get('new')
  async newForm(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const v = viewer(req);
    this.send(reply, v, 200, 'New service', serviceFormBody(v, { ...newServiceForm(), id: String(await this.registry.nextId()) }, {}));
  }

  /** Saved as POST /actuator/registeredServices saves: validated, then inserted unless the id is taken. */
  @Post('new')
  async create(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Body() body: unknown): Promise<void> {
    const v = viewer(req);
    const form = readForm(body);
    const built = buildService(form);
    if (!built.ok) return this.formAgain(reply, v, 400, form, built.errors);
    if (!(await this.registry.create(built.service))) {
      return this.formAgain(reply, v, 409, form, { id: `id: a registered service with id ${built.service.id} exists; choose another id or edit that service` });
    }
    seeOther(reply, `${v.base}/services/${built.service.id}?done=created`);
  }

  @Get(':id')
  async detail(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string, @Query('done') done?: string): Promise<void> {
    const v = viewer(req);
    const stored = isId(id) ? await this.registry.stored(Number(id)) : null;
    if (!stored) return this.notFound(reply, v, id);
    this.send(reply, v, 200, stored.service?.name ?? `Service ${id}`, serviceDetailBody(v, stored), done);
  }

  @Get(':id/edit')
  async editForm(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string): Promise<void> {
    const v = viewer(req);
    const stored = isId(id) ? await this.registry.stored(Number(id)) : null;
    if (!stored) return this.notFound(reply, v, id);
    const name = stored.service?.name ?? `service ${id}`;
    this.send(reply, v, 200, `Edit ${name}`, serviceFormBody(v, formOf(stored.definition), {}, { id: stored.id, name }));
  }

  /** Saved as PUT /actuator/registeredServices/<id> saves: validated, then stored as an API change. */
  @Post(':id/edit')
  async save(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string, @Body() body: unknown): Promise<void> {
    const v = viewer(req);
    const stored = isId(id) ? await this.registry.stored(Number(id)) : null;
    if (!stored) return this.notFound(reply, v, id);
    const form = readForm(body);
    const built = buildService(form, stored.id);
    const name = stored.service?.name ?? `service ${id}`;
    if (!built.ok) return this.formAgain(reply, v, 400, form, built.errors, { id: stored.id, name });
    await this.registry.upsert(built.service, 'api');
    seeOther(reply, `${v.base}/services/${stored.id}?done=saved`);
  }

  /** CAS's `accessStrategy.enabled`, switched in the stored definition. */
  @Post(':id/enabled')
  async setEnabled(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string, @Body() body: unknown): Promise<void> {
    const v = viewer(req);
    const wanted = (body as Record<string, unknown> | undefined)?.enabled;
    if (!isId(id)) return this.notFound(reply, v, id);
    if (wanted !== 'true' && wanted !== 'false') {
      const stored = await this.registry.stored(Number(id));
      if (!stored) return this.notFound(reply, v, id);
      return this.send(reply, v, 400, stored.service?.name ?? `Service ${id}`, serviceDetailBody(v, stored), undefined, 'Nothing was changed: the form did not say whether to enable or disable the service.');
    }
    let changed;
    try {
      changed = await this.registry.setEnabled(Number(id), wanted === 'true');
    } catch (e) {
      if (!(e instanceof InvalidServiceDefinition)) throw e;
      const stored = await this.registry.stored(Number(id));
      if (!stored) return this.notFound(reply, v, id);
      return this.send(reply, v, 400, `Service ${id}`, serviceDetailBody(v, stored), undefined, 'Nothing was changed: the stored definition does not validate. Edit it first.');
    }
    if (!changed) return this.notFound(reply, v, id);
    seeOther(reply, `${v.base}/services/${id}?done=${changed.enabled ? 'enabled' : 'disabled'}`);
  }

  private formAgain(reply: FastifyReply, v: ConsoleViewer, status: number, form: ServiceForm, errors: ServiceFormErrors, editing?: { id: number; name: string }): void {
    this.send(reply, v, status, editing ? `Edit ${editing.name}` : 'New service', serviceFormBody(v, form, errors, editing));
  }

  private notFound(reply: FastifyReply, v: ConsoleViewer, id: string): void {
    this.send(reply, v, 404, 'No such service', notFoundBody(v, id));
  }

  private send(reply: FastifyReply, v: ConsoleViewer, status: number, title: string, body: Html, done?: string, error?: string): void {
    const notice = error ? { kind: 'error' as const, text: error } : done && Object.hasOwn(DONE, done) ? { kind: 'ok' as const, text: DONE[done] } : undefined;
    sendConsolePage(reply, status, consolePage(v, { title, section: 'services', body, notice, style: SERVICES_STYLE }));
  }
}
