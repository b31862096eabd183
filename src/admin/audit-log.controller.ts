import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { BadRequestException, Controller, Get, Query, UseGuards } from '@nestjs/common';
import { AdminGuard } from '../common/admin.guard';
import { AuditLog } from './audit-log';

/** `GET /actuator/auditLog?count=&before=`: admin actions, newest first. */
@Controller('actuator')
@ApiBearerAuth()
@ApiTags('admin')
@UseGuards(AdminGuard)
export class AuditLogController {
  constructor(private readonly audit: AuditLog) {}

  @Get('auditLog')
  async page(@Query('count') countRaw?: string, @Query('before') beforeRaw?: string) {
    const count = countRaw === undefined ? 100 : Number(countRaw);
    if (!Number.isInteger(count) || count < 1 || count > 1000) throw new BadRequestException("'count' must be 1 to 1000");
    const before = beforeRaw === undefined ? undefined : Number(beforeRaw);
    if (before !== undefined && (!Number.isSafeInteger(before) || before < 1)) throw new BadRequestException("'before' must be an entry id");
    const entries = await this.audit.page(count, before);
    return { entries, ...(entries.length === count ? { next: entries[entries.length - 1].id } : {}) };
  }
}
