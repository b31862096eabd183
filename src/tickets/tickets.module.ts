import { Module } from '@nestjs/common';
import { ServicesModule } from '../services/services.module';
import { ProxyCallback } from './validation/proxy-callback';
import { SessionTerminator } from './logout/session-terminator';
import { SingleLogoutOutbox } from './logout/single-logout-outbox';
import { SingleLogoutDelivery } from './logout/single-logout.delivery';
import { SessionEventKeys } from './session-event-keys';
import { SessionEvents } from './session-events';
import { SessionEventsJwksController } from './session-events-jwks.controller';
import { SessionHistory } from './session-history';
import { SessionLimiter } from './session-limits';
import { SessionListing } from './session-listing';
import { SessionSearch } from './session-search';
import { TicketMetrics } from './ticket-metrics';
import { TicketRegistry } from './ticket-registry';
import { TicketRegistryCleaner } from './logout/ticket-registry.cleaner';
import { TicketValidationService } from './validation/ticket-validation.service';
import { ValidationController } from './validation/validation.controller';

/** The ticket registry (sole owner of the ticket tables), the validation endpoints and the session events' key set. */
@Module({
  imports: [ServicesModule],
  controllers: [ValidationController, SessionEventsJwksController],
  providers: [TicketRegistry, TicketValidationService, ProxyCallback, SingleLogoutOutbox, SingleLogoutDelivery, SessionTerminator, TicketRegistryCleaner, SessionHistory, SessionLimiter, SessionListing, SessionSearch, SessionEvents, SessionEventKeys, TicketMetrics],
  exports: [TicketRegistry, SessionListing, SessionSearch, SessionTerminator, SessionLimiter, SingleLogoutOutbox, TicketRegistryCleaner, SessionHistory, SessionEvents],
})
export class TicketsModule {}
