import { Controller, Get, Query } from '@nestjs/common';
import { AdminApi } from '../common/admin-api';
import { AuditLog } from './audit-log';
import { AuditLogQuery } from './dto/audit-log.query';

/** `GET /actuator/auditLog?count=&before=`: admin actions, newest first. */
@Controller('actuator')
@AdminApi()
export class AuditLogController {
  constructor(private readonly audit: AuditLog) {}

  @Get('auditLog')
  async page(@Query() { count, before }: AuditLogQuery) {
    const entries = await this.audit.page(count, before);
    return { entries, ...(entries.length === count ? { next: entries[entries.length - 1].id } : {}) };
  }
}
