import { Controller, Delete, HttpCode, Query } from '@nestjs/common';
import { AdminApi } from '../common/admin-api';
import { ThrottlesQuery } from './throttles.query';
import { UsersService } from './users.service';

/**
 * `DELETE /actuator/throttles?username=`: lifts an account's lockout (documented design: new
 * browsers are locked out of an account under attack). Clears the counters of the account and
 * of the browsers that logged in to it, for the current window, as `npm run users -- unthrottle`
 * does. The counters belong to this module (login_throttle), hence the controller here; the admin
 * guard and the audit of /actuator apply as to every admin route.
 */
@Controller('actuator')
@AdminApi()
export class ThrottlesController {
  constructor(private readonly users: UsersService) {}

  @Delete('throttles')
  @HttpCode(200)
  async clear(@Query() { username }: ThrottlesQuery) {
    return { username, cleared: await this.users.unthrottle(username) };
  }
}
