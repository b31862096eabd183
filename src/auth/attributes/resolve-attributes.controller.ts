import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { AdminApi } from '../../common/admin-api';
import { PrincipalAttributesResolver } from './principal-attributes-resolver';
import { ResolveAttributesParams } from './resolve-attributes.params';

/**
 * `GET /actuator/resolveAttributes/{username}` (CAS's endpoint, CasResolveAttributesReportEndpoint):
 * what the attribute repositories give a user, merged as a login merges them, for administrators
 * debugging release policies. Like CAS's it resolves through the repositories only: no password,
 * so no authentication handler runs, and the authenticating source's own attributes (the users
 * table, the static list, an LDAP entry) are not in it. CAS's keys, `username` and `attributes`,
 * with `repositories` besides: each repository's own answer, a failed one with its error. A user
 * no repository knows gets empty attributes, as from CAS's default principal resolver.
 * Here rather than in admin because the repositories are auth's (docs/architecture.md).
 */
@Controller('actuator')
@AdminApi()
export class ResolveAttributesController {
  constructor(private readonly resolver: PrincipalAttributesResolver) {}

  @Get('resolveAttributes/:username')
  @ApiOperation({ summary: 'Resolve principal attributes for user (the attribute repositories, merged)' })
  async resolve(@Param() { username }: ResolveAttributesParams) {
    const { attributes, repositories } = await this.resolver.resolve(username, {});
    return { username, attributes, repositories };
  }
}
