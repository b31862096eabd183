import { Inject, Injectable } from '@nestjs/common';
import { type NodeHeartbeat, NodeHeartbeats } from '../../admin/node-heartbeats';
import { LdapHealth, type LdapSourceHealth } from '../../auth/ldap/ldap-health';
import { Clock } from '../../common/clock';
import { CAS_CONFIG, type CasConfig } from '../../config/cas-config';
import type { MinuteCount } from '../../metrics/cas-metrics';
import { BACKLOG_CAP, SingleLogoutOutbox } from '../../tickets/logout/single-logout-outbox';
import type { CleanReport } from '../../tickets/logout/ticket-registry.cleaner';
import { TicketRegistry } from '../../tickets/ticket-registry';
import { clusterMinutes } from './overview-chart';

/** A logout request waiting longer than this is worth a warning: receivers are down or slow. */
export const OUTBOX_OLDEST_WARNING_SECONDS = 5 * 60;
/** The cleaner runs listed, all nodes together. */
const CLEANER_RUNS_SHOWN = 10;

/** Something an administrator should act on; the texts are fixed, only a source name or an age is filled in. */
export interface OverviewWarning {
  key: 'demo-user' | 'development-registry' | 'no-admin-tokens' | 'ldap-down' | 'outbox-stuck';
  text: string;
  /** What to do about it. */
  fix: string;
}

export interface CleanerRunOnNode extends CleanReport {
  host: string;
  nodeId: string;
}

/** Everything the overview page shows, read in one go. */
export interface Overview {
  now: Date;
  /** Live SSO sessions of the whole cluster (a trigger-kept counter, no table scan). */
  liveSessions: number;
  /** Logout requests and session events not delivered yet; `capped`: at least `pending`. */
  backlog: { pending: number; capped: boolean; oldestAgeSeconds: number | null };
  nodes: NodeHeartbeat[];
  /** The cluster's last hour, minute by minute, oldest first. */
  minutes: MinuteCount[];
  /** The last cleaner runs of every node seen, newest first. */
  cleanerRuns: CleanerRunOnNode[];
  cleaner: { enabled: boolean; repeatIntervalSeconds: number };
  ldap: LdapSourceHealth[];
  warnings: OverviewWarning[];
}

/**
 * What the overview reads, from the modules that own it: the nodes' heartbeats (admin), the live
 * session counter and the outbox backlog (tickets), the directory sources' health (auth). Each is
 * a bounded read (a counter, a capped count and a minimum on a partial index, a table of one row
 * per node), so the page costs the same on an empty registry and on a million tickets.
 */
@Injectable()
export class ConsoleOverview {
  constructor(
    @Inject(CAS_CONFIG) private readonly config: CasConfig,
    private readonly heartbeats: NodeHeartbeats,
    private readonly tickets: TicketRegistry,
    private readonly outbox: SingleLogoutOutbox,
    private readonly ldapHealth: LdapHealth,
    private readonly clock: Clock,
  ) {}

  async read(): Promise<Overview> {
    const [nodes, liveSessions, backlog, ldap] = await Promise.all([
      this.heartbeats.recent(),
      this.tickets.sessionCount(),
      this.outbox.backlog(),
      this.ldapHealth.sourcesHealth(),
    ]);
    const now = this.clock.now();
    const oldestAgeSeconds = backlog.oldestCreatedAt ? Math.max(0, Math.floor((now.getTime() - backlog.oldestCreatedAt.getTime()) / 1000)) : null;
    const overview: Overview = {
      now,
      liveSessions,
      backlog: { pending: backlog.pending, capped: backlog.pending >= BACKLOG_CAP, oldestAgeSeconds },
      nodes,
      minutes: clusterMinutes(nodes.map((n) => n.minuteCounts), now),
      cleanerRuns: nodes
        .flatMap((n) => n.cleanerRuns.map((r) => ({ ...r, host: n.host, nodeId: n.nodeId })))
        .sort((a, b) => b.endTime.localeCompare(a.endTime))
        .slice(0, CLEANER_RUNS_SHOWN),
      cleaner: { enabled: this.config.cleaner.enabled, repeatIntervalSeconds: this.config.cleaner.repeatIntervalSeconds },
      ldap,
      warnings: [],
    };
    overview.warnings = overviewWarnings(this.config, overview);
    return overview;
  }
}

/** The warnings for this configuration and these readings, most serious first. */
export function overviewWarnings(config: CasConfig, o: Pick<Overview, 'ldap' | 'backlog'>): OverviewWarning[] {
  const warnings: OverviewWarning[] = [];
  for (const s of o.ldap.filter((l) => l.state === 'down')) {
    warnings.push({
      key: 'ldap-down',
      text: `The LDAP source ${s.name} does not answer from this node: its users cannot log in.`,
      fix: `Check that ${s.urls.join(', ')} is up and reachable from this server.`,
    });
  }
  if (o.backlog.oldestAgeSeconds !== null && o.backlog.oldestAgeSeconds > OUTBOX_OLDEST_WARNING_SECONDS) {
    warnings.push({
      key: 'outbox-stuck',
      text: `The oldest logout request has been waiting ${duration(o.backlog.oldestAgeSeconds)}: applications are not told that their users logged out.`,
      fix: 'Look at the sessions whose logout requests are pending, and check that the applications’ logout URLs answer.',
    });
  }
  if (config.usingDefaultUsers) {
    warnings.push({
      key: 'demo-user',
      text: 'The demo user casuser (password Mellon) can log in: this server runs in development mode without CAS_AUTHN_ACCEPT_USERS.',
      fix: 'Set CAS_AUTHN_ACCEPT_USERS, or use the users table or a directory, before anyone else can reach this server.',
    });
  }
  if (config.developmentRegistryLocation !== undefined) {
    warnings.push({
      key: 'development-registry',
      text: 'The open development service registry is loaded: any application on this machine can get tickets.',
      fix: 'Set CAS_SERVICE_REGISTRY_JSON_LOCATION to the directory of your own service definitions.',
    });
  }
  if (config.adminTokens.length === 0) {
    warnings.push({
      key: 'no-admin-tokens',
      text: 'No admin tokens are set: the admin API and this console answer loopback clients only, and their actions are not recorded under a named token.',
      fix: 'Set CAS_ADMIN_TOKENS to one id:secret pair per administrator or tool.',
    });
  }
  return warnings;
}

/** A duration for people: "45 s", "12 min", "3 h 5 min", "2 days 4 h". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
  const days = Math.floor(h / 24);
  return h % 24 ? `${days} days ${h % 24} h` : `${days} days`;
}
