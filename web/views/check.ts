/** "Check my work": per work, every consent and every training use found, exact and near. */
import { api } from '../api.js';
import { h, short, table } from '../dom.js';
import type { TrustedLog, UseOutcome } from '../trust.js';
import type { FileWorkIds } from '../work-ids.js';
import { WatchedWorks, type ProvenUse } from '../../src/client/index.js';
import { DEFAULT_MAX_DISTANCE } from '../../src/works/thresholds.js';
import { bundleButton, consentMark, provenText, useMark, verdictBadge } from './marks.js';

export interface Use {
  useIndex: number;
  position: number;
  model: { builder: string; name: string; version: string };
  via: null | { lineageIndex: number; model: { builder: string; name: string; version: string } };
  verdict: { verdict: string; reason: string; consentIndex?: number; distance?: number };
  bundle: unknown;
}

interface Consent {
  index: number;
  author: string;
  status: string;
  record: { uses?: Record<string, { use: string }>; commercial?: boolean; validUntil?: string };
}

interface Similar {
  work: string;
  distance: number;
}

/** How far a perceptual identifier may be and still count as the same work (spec/works.md). */
const NEAR_DISTANCE = DEFAULT_MAX_DISTANCE.phash;

export async function renderChecks(container: HTMLElement, works: FileWorkIds[], trust: TrustedLog): Promise<void> {
  container.replaceChildren(...works.map((w) => h('article', { class: 'card', 'data-work': w.sha256 }, h('h3', {}, w.name), h('p', { class: 'ids' }, w.ids.join('  ')), h('p', {}, 'Looking up…'))));
  await Promise.all(works.map(async (work, i) => container.children[i].replaceWith(await renderWork(work, trust))));
}

async function renderWork(work: FileWorkIds, trust: TrustedLog): Promise<HTMLElement> {
  const card = h('article', { class: 'card', 'data-work': work.sha256 }, h('h3', {}, work.name), h('p', { class: 'ids' }, work.ids.join('  ')));
  try {
    const [consents, exact, near] = await Promise.all([consentsOf(work), exactUses(work), nearUses(work)]);
    const owner = new WatchedWorks([work.ids]);
    card.append(h('h4', {}, `Consents (${consents.length})`));
    card.append(
      consents.length === 0
        ? h('p', {}, 'No consent has been given for this work.')
        : table(
            ['Log index', 'Creator', 'Status', 'Allows', 'Proof'],
            consents.map((c) => [String(c.index), short(c.author), c.status, allowed(c), consentMark(trust, c.index, { work: c.matchedId, author: c.author })]),
            'Consents',
          ),
    );
    const seen = new Set(exact.map((u) => useKey(u.use)));
    const uses = [...exact, ...near.filter((u) => !seen.has(useKey(u.use)))];
    card.append(h('h4', {}, `Training uses (${uses.length})`));
    card.append(
      uses.length === 0
        ? h('p', {}, 'No training use of this work has been declared.')
        : table(
            ['Model', 'Builder', 'Server’s verdict', 'Match', 'Proof', ''],
            uses.map(({ use, match }) => {
              // The row's model, builder and match are the proof's; the server's labels only until it is checked.
              const check = trust.verifyUse(use, owner);
              return [
                provenText(check, `${use.model.name}@${use.model.version}${use.via ? ` (via ${use.via.model.name}@${use.via.model.version})` : ''}`, provenModel),
                provenText(check, short(use.model.builder), (o) => short(o.use.model.builder)),
                verdictBadge(use.verdict),
                provenText(check, match, (o) => matchOf(o.use)),
                useMark(check),
                bundleButton(use.bundle, `proof-${use.useIndex}-${use.position}.json`),
              ];
            }),
            'Training uses',
          ),
    );
  } catch (err) {
    card.append(h('p', { class: 'error' }, `Lookup failed: ${(err as Error).message}`));
  }
  return card;
}

interface FoundUse {
  use: Use;
  /** The identifier the use was found under (this work's own, or a near one's). */
  matchedId: string;
  /** How the use was found, in words: "exact (sha256)", "exact (phash)", "near (phash, distance 3)". */
  match: string;
}

/** The proven model; a model the server says inherits the use (lineage) is labelled as its claim. */
export function provenModel(o: Extract<UseOutcome, { ok: true }>): string {
  const { model } = o.use;
  const derived = o.claims.derived;
  return `${model.name}@${model.version}${derived ? ` (server says: inherited by ${derived.model.name}@${derived.model.version}, lineage entry ${derived.lineageIndex})` : ''}`;
}

/** How the proven item matches the user's work: exactly, or as a near copy at the distance computed here. */
export function matchOf(use: ProvenUse): string {
  return use.near ? `near (${scheme(use.near.id)}, distance ${use.near.distance})` : `exact (${scheme(use.work)})`;
}

const useKey = (u: Use) => `${u.useIndex}.${u.position}`;
const scheme = (id: string) => id.slice(0, id.indexOf(':'));

/** Consents naming any identifier of the work, each once, with the identifier it was found under. */
async function consentsOf(work: FileWorkIds): Promise<Array<Consent & { matchedId: string }>> {
  const byIndex = new Map<number, Consent & { matchedId: string }>();
  for (const id of work.ids) {
    const found = { consents: await api.pages<Consent>(`/works/${encodeURIComponent(id)}/consents`, 'consents') };
    for (const c of found.consents) if (!byIndex.has(c.index)) byIndex.set(c.index, { ...c, matchedId: id });
  }
  return [...byIndex.values()].sort((a, b) => a.index - b.index);
}

/** Uses naming any identifier of the work exactly (the file's bytes, or the same perceptual code). */
async function exactUses(work: FileWorkIds): Promise<FoundUse[]> {
  const byKey = new Map<string, FoundUse>();
  for (const id of work.ids) {
    const found = { uses: await api.pages<Use>(`/works/${encodeURIComponent(id)}/uses`, 'uses') };
    for (const use of found.uses) if (!byKey.has(useKey(use))) byKey.set(useKey(use), { use, matchedId: id, match: `exact (${scheme(id)})` });
  }
  return [...byKey.values()];
}

/**
 * Uses of other works whose perceptual identifier is within NEAR_DISTANCE of this one's, when the
 * server has a similarity index (GET /works/similar answers 404 not-supported otherwise).
 */
async function nearUses(work: FileWorkIds): Promise<FoundUse[]> {
  const out: FoundUse[] = [];
  for (const id of work.ids.filter((x) => !x.startsWith('sha256:'))) {
    const similar = await api.json<{ matches: Similar[] }>(`/works/similar?id=${encodeURIComponent(id)}&max=${NEAR_DISTANCE}`).catch(() => ({ matches: [] as Similar[] }));
    for (const match of similar.matches) {
      if ((work.ids as string[]).includes(match.work)) continue;
      const found = { uses: await api.pages<Use>(`/works/${encodeURIComponent(match.work)}/uses`, 'uses') };
      for (const use of found.uses) out.push({ use, matchedId: match.work, match: `near (${scheme(id)}, distance ${match.distance})` });
    }
  }
  return out;
}

function allowed(c: Consent): string {
  const uses = Object.entries(c.record.uses ?? {})
    .filter(([, d]) => d.use !== 'notAllowed')
    .map(([k, d]) => `${k.replace(/_/g, ' ')}${d.use === 'constrained' ? ' (with conditions)' : ''}`);
  return `${uses.join(', ') || 'nothing'}${c.record.commercial ? '; commercial' : '; non-commercial'}${c.record.validUntil ? `; until ${c.record.validUntil.slice(0, 10)}` : ''}`;
}
