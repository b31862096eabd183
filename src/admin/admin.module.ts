import { Module } from '@nestjs/common';
import { TicketsModule } from '../tickets/tickets.module';
import { HealthController } from './health.controller';

/** Administration under /actuator. Session management (ssoSessions) arrives with its own issue. */
@Module({
  imports: [TicketsModule],
  controllers: [HealthController],
})
export class AdminModule {}
