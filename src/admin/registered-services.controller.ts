import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import {
  BadRequestException, Body, ConflictException, Controller, Delete, Get, HttpCode, NotFoundException, Param, Post, Put, UseGuards,
} from '@nestjs/common';
import { AdminGuard } from '../common/admin.guard';
import { InvalidServiceDefinition, parseServiceDefinition, RegisteredService } from '../services/registered-service';
import { ServiceRegistry } from '../services/service-registry';

function serviceId(raw: string): number {
  if (!/^\d{1,15}$/.test(raw)) throw new BadRequestException("the service id must be a non-negative integer");
  return Number(raw);
}

/** A definition in CAS's JSON service format, validated; a 400 names the field at fault. */
function validated(body: unknown): RegisteredService {
  try {
    return parseServiceDefinition(body);
  } catch (e) {
    if (e instanceof InvalidServiceDefinition) throw new BadRequestException(`invalid service definition: ${e.message}`);
    throw e;
  }
}

/**
 * `/actuator/registeredServices[/{id}]`: the registry in CAS's JSON service format. Changes are
 * stored in the table (they survive restarts and are kept over the JSON directory at boot) and
 * used by every node within a second.
 */
@Controller('actuator/registeredServices')
@ApiBearerAuth()
@ApiTags('admin')
@UseGuards(AdminGuard)
export class RegisteredServicesController {
  constructor(private readonly registry: ServiceRegistry) {}

  @Get()
  list() {
    return this.registry.definitions();
  }

  @Get(':id')
  async get(@Param('id') id: string) {
    const definition = await this.registry.definition(serviceId(id));
    if (!definition) throw new NotFoundException(`no registered service ${id}`);
    return definition;
  }

  @Post()
  @HttpCode(201)
  async create(@Body() body: unknown) {
    const service = validated(body);
    if (!(await this.registry.create(service))) throw new ConflictException(`a registered service with id ${service.id} exists; use PUT to replace it`);
    return service.definition;
  }

  @Put(':id')
  async replace(@Param('id') id: string, @Body() body: unknown) {
    const service = validated(body);
    if (service.id !== serviceId(id)) throw new BadRequestException(`id: the body's id ${service.id} differs from the path's ${id}`);
    await this.registry.upsert(service, 'api');
    return service.definition;
  }

  @Delete(':id')
  @HttpCode(200)
  async remove(@Param('id') id: string) {
    if (!(await this.registry.remove(serviceId(id)))) throw new NotFoundException(`no registered service ${id}`);
    return { status: 200, id: Number(id) };
  }
}
