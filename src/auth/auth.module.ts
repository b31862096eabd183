import { Module } from '@nestjs/common';
import { CAS_CONFIG, type CasConfig } from '../config/cas-config';
import { ServicesModule } from '../services/services.module';
import { TicketsModule } from '../tickets/tickets.module';
import { AccountSessions } from './account/account-sessions.service';
import { AccountSessionsController } from './account/account-sessions.controller';
import { ATTRIBUTE_REPOSITORIES, type AttributeRepository } from './attributes/attribute-repository';
import { JdbcAttributeRepository } from './attributes/jdbc-attribute-repository';
import { LdapAttributeRepository } from './attributes/ldap-attribute-repository';
import { PrincipalAttributesResolver } from './attributes/principal-attributes-resolver';
import { ResolveAttributesController } from './attributes/resolve-attributes.controller';
import { AuthHousekeeping } from './auth-housekeeping';
import { Authenticator } from './authenticator';
import { BrowserCookies } from './cookies';
import { DeviceCookies } from './device-cookie';
import { AcceptUsersAuthenticationHandler } from './handlers/accept-users.handler';
import { AUTHENTICATION_HANDLERS, type AuthenticationHandler } from './handlers/authentication-handler';
import { QueryDatabaseAuthenticationHandler } from './handlers/query-database.handler';
import { LdapHealth } from './ldap/ldap-health';
import { LdapSources } from './ldap/ldap-sources';
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
import { GauthCredentials } from './mfa/gauth/gauth-credentials';
import { GauthKeys } from './mfa/gauth/gauth-keys';
import { MfaTriggers } from './mfa/mfa-triggers';
import { GauthCredentialsController } from './mfa/gauth/gauth-credentials.controller';
import { TrustedDeviceCookie } from './mfa/trusted/trusted-device-cookie';
import { TrustedDevices } from './mfa/trusted/trusted-devices';
import { TrustedDevicesController } from './mfa/trusted/trusted-devices.controller';
import { WebAuthnAssets, WebAuthnAssetsController } from './mfa/webauthn/webauthn-assets';
import { WebAuthnCeremonies } from './mfa/webauthn/webauthn-ceremonies';
import { WebAuthnCredentials } from './mfa/webauthn/webauthn-credentials';
import { WebAuthnDevicesController } from './mfa/webauthn/webauthn-devices.controller';
import { WebAuthnPrincipals } from './mfa/webauthn/webauthn-principals';
import { SessionOrigins } from './session-origin';

/**
 * The authentication chain's handlers: the `users` table, the LDAP sources (CAS_AUTHN_LDAP_<n>_*,
 * by n), then the static list, each sorted by its `order` in the Authenticator. The sort is stable:
 * LDAP sources default to order 0, the table's, and so come after the table and before the static
 * list (order 2147483647) unless CAS_AUTHN_LDAP_<n>_ORDER says otherwise.
 */
const authenticationHandlers = {
  provide: AUTHENTICATION_HANDLERS,
  useFactory: (table: QueryDatabaseAuthenticationHandler, ldap: LdapSources, accept: AcceptUsersAuthenticationHandler): AuthenticationHandler[] => [
    table,
    ...ldap.handlers,
    accept,
  ],
  inject: [QueryDatabaseAuthenticationHandler, LdapSources, AcceptUsersAuthenticationHandler],
};

/**
 * The attribute repositories (`cas.authn.attribute-repository.*`), asked at login after the
 * handler (sorted by `order` in the PrincipalAttributesResolver, which also closes them).
 */
const attributeRepositories = {
  provide: ATTRIBUTE_REPOSITORIES,
  useFactory: (config: CasConfig): AttributeRepository[] => [
    ...config.attributeRepository.jdbc.map((jdbc) => new JdbcAttributeRepository(jdbc)),
    ...config.attributeRepository.ldap.map((ldap) => new LdapAttributeRepository(ldap)),
  ],
  inject: [CAS_CONFIG],
};

/** Login form, credentials, logout and the TGC cookie. */
@Module({
  imports: [ServicesModule, TicketsModule],
  controllers: [LoginController, SsoStatusController, ThrottlesController, ResolveAttributesController, GauthCredentialsController, TrustedDevicesController,
    WebAuthnAssetsController, WebAuthnDevicesController, AccountSessionsController],
  providers: [
    AuthHousekeeping, Authenticator, BrowserCookies, DeviceCookies, LoginFlows, LoginThrottle, LoginService, PasswordHasher, TgcCodec, UserStore,
    UsersService, QueryDatabaseAuthenticationHandler, LdapSources, AcceptUsersAuthenticationHandler, authenticationHandlers,
    PrincipalAttributesResolver, attributeRepositories,
    GauthKeys, GauthCredentials, MfaTriggers,
    TrustedDeviceCookie, TrustedDevices, SessionOrigins,
    WebAuthnAssets, WebAuthnCeremonies, WebAuthnCredentials, WebAuthnPrincipals,
    AccountSessions, LdapHealth,
  ],
  exports: [UsersService, LoginThrottle, TgcCodec, LdapHealth],
})
export class AuthModule {}
