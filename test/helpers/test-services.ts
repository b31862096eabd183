/** Registered services used across the e2e tests, in CAS JSON format. */
export const APP = 'https://app.example.org/';
export const OTHER = 'https://other.example.org/home';

export const TEST_SERVICES: Record<string, unknown>[] = [
  {
    '@class': 'org.apereo.cas.services.CasRegisteredService',
    serviceId: '^https://app\\.example\\.org(/.*)?',
    name: 'App',
    id: 1,
    evaluationOrder: 1,
    attributeReleasePolicy: { '@class': 'org.apereo.cas.services.ReturnAllAttributeReleasePolicy' },
  },
  {
    '@class': 'org.apereo.cas.services.CasRegisteredService',
    serviceId: '^https://other\\.example\\.org/.*',
    name: 'Other',
    id: 2,
    evaluationOrder: 2,
    attributeReleasePolicy: {
      '@class': 'org.apereo.cas.services.ReturnAllowedAttributeReleasePolicy',
      allowedAttributes: ['java.util.ArrayList', ['mail']],
    },
  },
  {
    '@class': 'org.apereo.cas.services.CasRegisteredService',
    serviceId: '^https://disabled\\.example\\.org/.*',
    name: 'Disabled',
    id: 3,
    evaluationOrder: 3,
    accessStrategy: { '@class': 'org.apereo.cas.services.DefaultRegisteredServiceAccessStrategy', enabled: false },
  },
  {
    '@class': 'org.apereo.cas.services.RegexRegisteredService',
    serviceId: '^https://noattrs\\.example\\.org/.*',
    name: 'No attributes (CAS default release policy)',
    id: 4,
    evaluationOrder: 4,
  },
  {
    '@class': 'org.apereo.cas.services.CasRegisteredService',
    serviceId: '^http://(localhost|127\\.0\\.0\\.1)(:\\d+)?(/.*)?',
    name: 'Local',
    id: 5,
    evaluationOrder: 5,
    attributeReleasePolicy: { '@class': 'org.apereo.cas.services.ReturnAllAttributeReleasePolicy' },
  },
];

/** A CAS JSON definition for `https://<host>/…`, ordered by its id, with `extra` fields on top. */
export function serviceFor(id: number, host: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@class': 'org.apereo.cas.services.CasRegisteredService',
    id,
    name: host,
    serviceId: `^https://${host.replace(/\./g, '\\.')}/.*`,
    evaluationOrder: id,
    ...extra,
  };
}
