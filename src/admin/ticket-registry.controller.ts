import { Controller, Delete, HttpCode, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AdminGuard } from '../common/admin.guard';
import { TicketRegistryCleaner } from '../tickets/logout/ticket-registry.cleaner';

/** `DELETE /actuator/ticketRegistry/clean`: run the registry cleaner now (CAS 7's endpoint). */
@ApiBearerAuth()
@ApiTags('admin')
@UseGuards(AdminGuard)
@Controller('actuator/ticketRegistry')
export class TicketRegistryController {
  constructor(private readonly cleaner: TicketRegistryCleaner) {}

  @Delete('clean')
  @HttpCode(200)
  clean() {
    return this.cleaner.clean();
  }
}
