import { Controller, Delete, HttpCode } from '@nestjs/common';
import { AdminApi } from '../common/admin-api';
import { TicketRegistryCleaner } from '../tickets/logout/ticket-registry.cleaner';

/** `DELETE /actuator/ticketRegistry/clean`: run the registry cleaner now (CAS 7's endpoint). */
@AdminApi()
@Controller('actuator/ticketRegistry')
export class TicketRegistryController {
  constructor(private readonly cleaner: TicketRegistryCleaner) {}

  @Delete('clean')
  @HttpCode(200)
  clean() {
    return this.cleaner.clean();
  }
}
