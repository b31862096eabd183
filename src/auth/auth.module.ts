import { Module } from '@nestjs/common';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { ServicesModule } from '../services/services.module';
import { TicketsModule } from '../tickets/tickets.module';
import { ATTRIBUTE_REPOSITORIES, type AttributeRepository } from './attributes/attribute-repository';
import { JdbcAttributeRepository } from './attributes/jdbc-attribute-repository';
import { PrincipalAttributesResolver } from './attributes/principal-attributes-resolver';
import { ResolveAttributesController } from './attributes/resolve-attributes.controller';
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

/**
 * The attribute repositories (`cas.authn.attribute-repository.*`), asked at login after the
 * handler (sorted by `order` in the PrincipalAttributesResolver, which also closes them).
 */
const attributeRepositories = {
  provide: ATTRIBUTE_REPOSITORIES,
  useFactory: (config: CasConfig): AttributeRepository[] => config.attributeRepository.jdbc.map((jdbc) => new JdbcAttributeRepository(jdbc)),
  inject: [CAS_CONFIG],
};

/** Login form, credentials, logout and the TGC cookie. */
@Module({
  imports: [ServicesModule, TicketsModule],
  controllers: [LoginController, SsoStatusController, ThrottlesController, ResolveAttributesController],
  providers: [
    AuthHousekeeping, Authenticator, BrowserCookies, DeviceCookies, LoginFlows, LoginThrottle, LoginService, PasswordHasher, TgcCodec, UserStore,
    UsersService, QueryDatabaseAuthenticationHandler, AcceptUsersAuthenticationHandler, authenticationHandlers,
    PrincipalAttributesResolver, attributeRepositories,
  ],
  exports: [UsersService],
})
export class AuthModule {}
