import type { Attributes } from '../../common/attributes';
import { loadCasConfig } from '../../config/cas-config';
import { ConfigurationError } from '../../config/env.validation';
import type { AttributeRepository } from './attribute-repository';
import { PrincipalAttributesResolver } from './principal-attributes-resolver';

/** A source answering from a fixed map (the repositories of LDAP and SQL are tested end to end). */
const fixed = (id: string, order: number, answer: Attributes | null | Error): AttributeRepository => ({
  id,
  order,
  resolve: async () => {
    if (answer instanceof Error) throw answer;
    return answer;
  },
});

const resolverOf = (merger: string, ...repositories: AttributeRepository[]) =>
  new PrincipalAttributesResolver(repositories, loadCasConfig({ CAS_AUTHN_ATTRIBUTE_REPOSITORY_CORE_MERGER: merger }));

describe('PrincipalAttributesResolver', () => {
  it('merges by order (equal orders keep the list order), whatever order the answers come in', async () => {
    const resolver = resolverOf(
      'REPLACE',
      fixed('late', 10, { mail: ['late@example.org'] }),
      fixed('first', -1, { mail: ['first@example.org'], cn: ['First'] }),
      fixed('tie-a', 0, { cn: ['A'] }),
      fixed('tie-b', 0, { cn: ['B'] }),
    );
    const { attributes, repositories } = await resolver.resolve('u', { mail: ['handler@example.org'] });
    expect(repositories.map((r) => r.id)).toEqual(['first', 'tie-a', 'tie-b', 'late']);
    expect(attributes).toEqual({ mail: ['late@example.org'], cn: ['B'] });
  });

  it("a repository that throws is reported failed, one line without control characters; the others' attributes are kept", async () => {
    const resolver = resolverOf('ADD', fixed('down', 0, new Error('connect ECONNREFUSED\n127.0.0.1:1')), fixed('up', 1, { phone: ['1'] }), fixed('none', 2, null));
    expect(await resolver.resolve('u', { mail: ['m'] })).toEqual({
      attributes: { mail: ['m'], phone: ['1'] },
      repositories: [
        { id: 'down', status: 'failed', error: 'connect ECONNREFUSED 127.0.0.1:1' },
        { id: 'up', status: 'found', attributes: { phone: ['1'] } },
        { id: 'none', status: 'not-found' },
      ],
    });
  });

  it('NUL is removed from what a repository gives (the session is jsonb)', async () => {
    const resolver = resolverOf('REPLACE', fixed('nul', 0, { 'a\u0000b': ['x\u0000y'] }));
    expect((await resolver.resolve('u', {})).attributes).toEqual({ ab: ['xy'] });
  });

  it('without repositories a login keeps the handler attributes as they are', async () => {
    const handler = { mail: ['m'] };
    expect(await resolverOf('REPLACE').atLogin('u', handler)).toBe(handler);
  });

  it('two repositories with one id (an LDAP and a JDBC one, say) stop the boot', () => {
    expect(() => resolverOf('REPLACE', fixed('people', 0, null), fixed('people', 1, null))).toThrow(ConfigurationError);
  });
});
