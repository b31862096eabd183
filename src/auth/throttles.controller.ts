import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { BadRequestException, Controller, Delete, HttpCode, Query, UseGuards } from '@nestjs/common';
import { AdminGuard } from '../common/admin.guard';
import { UsersService } from './users.service';

/** The login form keeps at most this many characters of a username: no counter has a longer one. */
const MAX_USERNAME = 256;

/**
 * `DELETE /actuator/throttles?username=`: lifts an account's lockout (documented design: new
 * browsers are locked out of an account under attack). Clears the counters of the account and
 * of the browsers that logged in to it, for the current window, as `npm run users -- unthrottle`
 * does. The counters belong to this module (login_throttle), hence the controller here; the admin
 * guard and the audit of /actuator apply as to every admin route.
 */
@Controller('actuator')
@ApiBearerAuth()
@ApiTags('admin')
@UseGuards(AdminGuard)
export class ThrottlesController {
  constructor(private readonly users: UsersService) {}

  @Delete('throttles')
  @HttpCode(200)
  async clear(@Query() q: Record<string, string | string[] | undefined>) {
    const username = q.username;
    if (Array.isArray(username)) throw new BadRequestException({ status: 400, message: "'username' must be given once" });
    if (username === undefined || username.trim() === '') throw new BadRequestException({ status: 400, message: "'username' is required" });
    if (username.length > MAX_USERNAME) {
      throw new BadRequestException({ status: 400, message: `'username' is at most ${MAX_USERNAME} characters` });
    }
    return { username, cleared: await this.users.unthrottle(username) };
  }
}
