import { ApiTags } from '@nestjs/swagger';
import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DataSource } from 'typeorm';

/** `GET /actuator/health`: public, says whether the database answers. */
@ApiTags('health')
@Controller('actuator')
export class HealthController {
  constructor(private readonly db: DataSource) {}

  @Get('health')
  @HttpCode(200)
  async health(@Res({ passthrough: true }) reply: FastifyReply): Promise<{ status: 'UP' | 'DOWN'; components: object }> {
    try {
      await this.db.query('SELECT 1');
      return { status: 'UP', components: { db: { status: 'UP' } } };
    } catch {
      reply.status(503);
      return { status: 'DOWN', components: { db: { status: 'DOWN' } } };
    }
  }
}
