import { Module } from '@nestjs/common';
import { AdminModule } from '../admin/admin.module';
import { AuthModule } from '../auth/auth.module';
import { ServicesModule } from '../services/services.module';
import { TicketsModule } from '../tickets/tickets.module';
import { ConsoleGuard, ConsoleRefusalFilter } from './console-auth';
import { ConsoleOverviewController } from './console-overview.controller';
import { ConsoleSessions } from './console-sessions';
import { ConsoleSignInController } from './console-sign-in.controller';
import { ConsoleOverview } from './overview';

/**
 * The administration console at /admin: server-rendered pages over what the modules below already
 * do (sessions and single logout from tickets, users and throttles from auth, services, the audit
 * log from admin). It runs no SQL of its own, and no module imports it.
 */
@Module({
  imports: [ServicesModule, TicketsModule, AuthModule, AdminModule],
  controllers: [ConsoleSignInController, ConsoleOverviewController],
  providers: [ConsoleSessions, ConsoleGuard, ConsoleRefusalFilter, ConsoleOverview],
})
export class ConsoleModule {}
