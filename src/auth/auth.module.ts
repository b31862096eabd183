import { Module } from '@nestjs/common';
import { ServicesModule } from '../services/services.module';
import { TicketsModule } from '../tickets/tickets.module';
import { AuthHousekeeping } from './auth-housekeeping';
import { Authenticator } from './authenticator';
import { BrowserCookies } from './cookies';
import { DeviceCookies } from './device-cookie';
import { AcceptUsersAuthenticationHandler } from './handlers/accept-users.handler';
import { AUTHENTICATION_HANDLERS, type AuthenticationHandler } from './handlers/authentication-handler';
import { QueryDatabaseAuthenticationHandler } from './handlers/query-database.handler';
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

/**
 * The authentication chain's handlers: the `users` table, then the static list (each sorted by its
 * `order` in the Authenticator). A source configured by environment is added here.
 */
const authenticationHandlers = {
  provide: AUTHENTICATION_HANDLERS,
  useFactory: (table: QueryDatabaseAuthenticationHandler, accept: AcceptUsersAuthenticationHandler): AuthenticationHandler[] => [table, accept],
  inject: [QueryDatabaseAuthenticationHandler, AcceptUsersAuthenticationHandler],
};

/** Login form, credentials, logout and the TGC cookie. */
@Module({
  imports: [ServicesModule, TicketsModule],
  controllers: [LoginController, SsoStatusController, ThrottlesController],
  providers: [
    AuthHousekeeping, Authenticator, BrowserCookies, DeviceCookies, LoginFlows, LoginThrottle, LoginService, PasswordHasher, TgcCodec, UserStore,
    UsersService, QueryDatabaseAuthenticationHandler, AcceptUsersAuthenticationHandler, authenticationHandlers,
  ],
  exports: [UsersService],
})
export class AuthModule {}
