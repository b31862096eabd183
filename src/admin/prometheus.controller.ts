import { Controller, Get, Header, HttpCode, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AdminApi } from '../common/admin-api';
import { CasMetrics } from '../metrics/cas-metrics';

/**
 * `GET /actuator/prometheus` (CAS's endpoint name): this node's metrics in the Prometheus text
 * format, for a scraper holding an admin token (CAS_ADMIN_TOKENS), audited like every admin call.
 */
@AdminApi()
@Controller('actuator')
export class PrometheusController {
  constructor(private readonly metrics: CasMetrics) {}

  @Get('prometheus')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const text = await this.metrics.scrape();
    void reply.header('content-type', this.metrics.contentType);
    return text;
  }
}
