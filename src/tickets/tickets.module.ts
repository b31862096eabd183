import { Module } from '@nestjs/common';
import { ServicesModule } from '../services/services.module';
import { TicketRegistry } from './ticket-registry';
import { TicketValidationService } from './ticket-validation.service';
import { ValidationController } from './validation.controller';

/** The ticket registry (sole owner of the ticket tables) and the validation endpoints. */
@Module({
  imports: [ServicesModule],
  controllers: [ValidationController],
  providers: [TicketRegistry, TicketValidationService],
  exports: [TicketRegistry],
})
export class TicketsModule {}
