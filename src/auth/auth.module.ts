import { Module } from '@nestjs/common';
import { ServicesModule } from '../services/services.module';
import { TicketsModule } from '../tickets/tickets.module';
import { AuthHousekeeping } from './auth-housekeeping';
import { Authenticator } from './authenticator';
import { BrowserCookies } from './cookies';
import { DeviceCookies } from './device-cookie';
import { LoginFlows } from './login-flows';
import { LoginThrottle } from './login-throttle';
import { LoginController } from './login.controller';
import { LoginService } from './login.service';
import { PasswordHasher } from './password-hasher';
import { UserStore } from './user-store';
import { UsersService } from './users.service';
import { SsoStatusController } from './sso-status.controller';
import { TgcCodec } from './tgc-codec';
import { ThrottlesController } from './throttles.controller';

/** Login form, credentials, logout and the TGC cookie. */
@Module({
  imports: [ServicesModule, TicketsModule],
  controllers: [LoginController, SsoStatusController, ThrottlesController],
  providers: [AuthHousekeeping, Authenticator, BrowserCookies, DeviceCookies, LoginFlows, LoginThrottle, LoginService, PasswordHasher, TgcCodec, UserStore, UsersService],
  exports: [UsersService],
})
export class AuthModule {}
