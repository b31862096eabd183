import { Module } from '@nestjs/common';
import { AdminModule } from '../admin/admin.module';
import { AuthModule } from '../auth/auth.module';
import { ServicesModule } from '../services/services.module';
import { TicketsModule } from '../tickets/tickets.module';
import { ConsoleGuard, ConsoleRefusalFilter } from './console-auth';
import { ConsoleOverviewController } from './overview/console-overview.controller';
import { ConsoleSessions } from './console-sessions';
import { ConsoleSignInController } from './console-sign-in.controller';
import { AuditPageController } from './audit/audit-page.controller';
import { ConsoleOverview } from './overview/overview';
import { ConsoleServicesController } from './services/console-services.controller';
import { SessionExplorerController } from './sessions/session-explorer.controller';
import { UsersPageController } from './users/users-page.controller';

/**
 * The administration console at /admin: server-rendered pages over what the modules below already
 * do (sessions and single logout from tickets, users and throttles from auth, services, the audit
 * log from admin). It runs no SQL of its own, and no module imports it.
 */
@Module({
  imports: [ServicesModule, TicketsModule, AuthModule, AdminModule],
  controllers: [ConsoleSignInController, ConsoleOverviewController, SessionExplorerController, ConsoleServicesController, UsersPageController, AuditPageController],
  providers: [ConsoleSessions, ConsoleGuard, ConsoleRefusalFilter, ConsoleOverview],
})
export class ConsoleModule {}
