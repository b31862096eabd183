import { ApiTags } from '@nestjs/swagger';
import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DatabaseHealth, type HealthStatus } from '../database/database-health';

/** `GET /actuator/health`: public, says whether the database answers. */
@ApiTags('health')
@Controller('actuator')
export class HealthController {
  constructor(private readonly database: DatabaseHealth) {}

  @Get('health')
  @HttpCode(200)
  async health(@Res({ passthrough: true }) reply: FastifyReply): Promise<{ status: HealthStatus; components: object }> {
    const db = await this.database.check();
    if (db === 'DOWN') reply.status(503);
    return { status: db, components: { db: { status: db } } };
  }
}
