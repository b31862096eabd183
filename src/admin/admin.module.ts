import { Module } from '@nestjs/common';
import { ServicesModule } from '../services/services.module';
import { TicketsModule } from '../tickets/tickets.module';
import { ApiDocument, ApiDocumentController } from './api-document.controller';
import { AuditLog } from './audit-log';
import { ConsoleSignOuts } from './console-sign-outs';
import { AuditLogController } from './audit-log.controller';
import { AuditHook } from './audit.hook';
import { HealthController } from './health.controller';
import { NodeHeartbeats } from './node-heartbeats';
import { PrometheusController } from './prometheus.controller';
import { RegisteredServicesController } from './registered-services.controller';
import { SessionHistoryController } from './session-history.controller';
import { SsoSessionsController } from './sso-sessions.controller';
import { SsoSessionsService } from './sso-sessions.service';
import { TicketRegistryController } from './ticket-registry.controller';

/** Administration under /actuator: health (public), Prometheus metrics, SSO sessions, single logout status, registered services, audit; the nodes' heartbeats. */
@Module({
  imports: [ServicesModule, TicketsModule],
  controllers: [HealthController, SsoSessionsController, AuditLogController, RegisteredServicesController, ApiDocumentController, TicketRegistryController, SessionHistoryController, PrometheusController],
  providers: [ApiDocument, AuditLog, AuditHook, SsoSessionsService, NodeHeartbeats, ConsoleSignOuts],
  // The console (above admin) ends and summarises sessions through the same service as the API, reads the audit log and the
  // nodes' heartbeats, and keeps its signed-out sessions here (it runs no SQL itself).
  exports: [SsoSessionsService, AuditLog, NodeHeartbeats, ConsoleSignOuts],
})
export class AdminModule {}
