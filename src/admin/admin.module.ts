import { Module } from '@nestjs/common';
import { TicketsModule } from '../tickets/tickets.module';
import { AdminGuard } from '../common/admin.guard';
import { AuditLog } from './audit-log';
import { AuditLogController } from './audit-log.controller';
import { AuditHook } from './audit.hook';
import { HealthController } from './health.controller';
import { SsoSessionsController } from './sso-sessions.controller';
import { SsoSessionsService } from './sso-sessions.service';

/** Administration under /actuator: health (public), SSO sessions, single logout status, audit. */
@Module({
  imports: [TicketsModule],
  controllers: [HealthController, SsoSessionsController, AuditLogController],
  providers: [AdminGuard, AuditLog, AuditHook, SsoSessionsService],
})
export class AdminModule {}
