import { BadRequestException, Body, ConflictException, Controller, Delete, Get, HttpCode, NotFoundException, Param, Post, Put } from '@nestjs/common';
import { AdminApi } from '../common/admin-api';
import { InvalidServiceDefinition, parseServiceDefinition, RegisteredService } from '../services/registered-service';
import { ServiceRegistry } from '../services/service-registry';
import { ServiceIdParams, serviceIdOf } from './dto/service-id.params';

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
@AdminApi()
export class RegisteredServicesController {
  constructor(private readonly registry: ServiceRegistry) {}

  @Get()
  list() {
    return this.registry.definitions();
  }

  @Get(':id')
  async get(@Param() { id, number }: ServiceIdParams) {
    const definition = await this.registry.definition(number);
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
    if (service.id !== serviceIdOf(id)) throw new BadRequestException(`id: the body's id ${service.id} differs from the path's ${id}`);
    await this.registry.upsert(service, 'api');
    return service.definition;
  }

  @Delete(':id')
  @HttpCode(200)
  async remove(@Param() { id, number }: ServiceIdParams) {
    if (!(await this.registry.remove(number))) throw new NotFoundException(`no registered service ${id}`);
    return { status: 200, id: number };
  }
}
