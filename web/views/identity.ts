/** "My identity & consents": key management, creator registration, grants and revocations, all signed here. */
import { api } from '../api.js';
import { byId, download, h, short, table } from '../dom.js';
import type { Identity, MyGrant } from '../identity.js';
import type { TrustedLog } from '../trust.js';
import type { FileWorkIds } from '../work-ids.js';
import { type ConsentGrantRecord, type RecordPayload, formatRecordTime, signRecord } from '../../src/records/index.js';

interface Submitted {
  index: number;
  leafHash: string;
  duplicate?: boolean;
  checkpoint?: string;
  proof?: string;
}

export class IdentityView {
  private works: FileWorkIds[] = [];

  constructor(
    private readonly identity: Identity,
    private readonly trust: TrustedLog,
    private readonly onKey: (ref: string) => void,
  ) {
    byId('key-create').addEventListener('click', () => this.createKey());
    byId<HTMLInputElement>('key-import').addEventListener('change', (e) => void this.importKey((e.target as HTMLInputElement).files?.[0]));
    byId('key-export').addEventListener('click', () => download(`${this.identity.name ?? 'creator'}.key`, this.identity.exportFile(), 'text/plain'));
    byId('register-form').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.guard(() => this.register());
    });
    byId('grant-form').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.guard(() => this.grant());
    });
  }

  setWorks(works: FileWorkIds[]): void {
    this.works = works;
    const box = byId('grant-works');
    if (works.length === 0) return;
    box.replaceChildren(...works.map((w, i) => h('label', {}, h('input', { type: 'checkbox', name: 'grant-work', value: String(i), checked: true }), ` ${w.name}`)));
  }

  render(): void {
    const ref = this.identity.ref;
    byId('identity').replaceChildren(
      ref ? h('p', {}, 'Your key: ', h('code', { class: 'ids' }, ref), ` (${this.identity.name})`) : h('p', {}, 'You have no key yet. Create one, or import the key file you made with pvl keygen.'),
    );
    byId<HTMLButtonElement>('key-export').disabled = !ref;
    if (ref) this.onKey(ref);
    this.renderGrants();
  }

  private createKey(): void {
    const name = byId<HTMLInputElement>('key-name').value.trim();
    void this.guard(async () => {
      this.identity.create(name);
      this.render();
      this.status('Key created. Download the key file now and keep a backup: it cannot be recovered.');
    });
  }

  private async importKey(file: File | undefined): Promise<void> {
    if (!file) return;
    await this.guard(async () => {
      this.identity.import(await file.text());
      this.render();
      this.status('Key imported.');
    });
  }

  private payloadBase(): { v: 1; author: `ed25519:${string}`; time: string } {
    const author = this.identity.ref;
    if (!author) throw new Error('create or import a key first');
    return { v: 1, author, time: formatRecordTime(new Date()) };
  }

  private async submit(payload: RecordPayload): Promise<Submitted> {
    const entry = signRecord(payload, this.identity.signer);
    const result = await api.post<Submitted>('/records?wait=checkpoint', new TextDecoder().decode(entry));
    await this.trust.checkSubmission(entry, result);
    return result;
  }

  private async register(): Promise<void> {
    const name = byId<HTMLInputElement>('creator-name').value.trim();
    const website = byId<HTMLInputElement>('creator-url').value.trim();
    const result = await this.submit({ type: 'creator', ...this.payloadBase(), name, ...(website ? { claims: { website } } : {}) } as RecordPayload);
    this.status(`Registered: log entry ${result.index}${result.duplicate ? ' (already there)' : ''}.`);
  }

  private async grant(): Promise<void> {
    const chosen = Array.from(document.querySelectorAll<HTMLInputElement>('input[name=grant-work]:checked')).map((i) => this.works[Number(i.value)]);
    if (chosen.length === 0) throw new Error('choose at least one work (add works in “Check my work”)');
    const allowed = new Set(Array.from(document.querySelectorAll<HTMLInputElement>('input[name=use]:checked')).map((i) => i.value));
    const decision = (k: string) => ({ use: allowed.has(k) ? ('allowed' as const) : ('notAllowed' as const) });
    const licensees = byId<HTMLTextAreaElement>('grant-licensees').value.split(/\s+/).filter(Boolean);
    const date = (id: string) => {
      const v = byId<HTMLInputElement>(id).value;
      return v ? `${v}T00:00:00Z` : undefined;
    };
    const amount = byId<HTMLInputElement>('comp-amount').value.trim();
    const base = this.payloadBase();
    const payload: ConsentGrantRecord = {
      type: 'consent-grant',
      ...base,
      works: chosen.map((w) => w.ids) as ConsentGrantRecord['works'],
      uses: {
        ai_generative_training: decision('ai_generative_training'),
        ai_training: decision('ai_training'),
        ai_inference: decision('ai_inference'),
        data_mining: decision('data_mining'),
      },
      commercial: byId<HTMLInputElement>('grant-commercial').checked,
      licensees: (licensees.length ? licensees : 'anyone') as ConsentGrantRecord['licensees'],
      validFrom: base.time,
      ...(date('grant-until') ? { validUntil: date('grant-until') } : {}),
      ...(date('grant-retire') ? { retireBy: date('grant-retire') } : {}),
      ...(amount
        ? {
            compensation: {
              amount,
              currency: byId<HTMLInputElement>('comp-currency').value.trim().toUpperCase(),
              basis: byId<HTMLSelectElement>('comp-basis').value as 'flat' | 'per-use',
              payee: byId<HTMLInputElement>('comp-payee').value.trim() || this.identity.name || 'creator',
              ...(byId<HTMLInputElement>('comp-text').value.trim() ? { text: byId<HTMLInputElement>('comp-text').value.trim() } : {}),
            },
          }
        : {}),
    } as ConsentGrantRecord;
    const result = await this.submit(payload);
    this.identity.saveGrants([...this.identity.grants(), { index: result.index, works: payload.works as string[][], time: base.time }]);
    this.renderGrants();
    this.status(`Consent granted: log entry ${result.index}, its inclusion proven in a checkpoint verified against your pinned key.`);
  }

  private async revoke(grant: MyGrant): Promise<void> {
    const base = this.payloadBase();
    const result = await this.submit({ type: 'consent-revocation', ...base, grant: { index: grant.index }, effective: base.time } as RecordPayload);
    this.identity.saveGrants(this.identity.grants().map((g) => (g.index === grant.index ? { ...g, revoked: { index: result.index, effective: base.time } } : g)));
    this.renderGrants();
    this.status(`Grant ${grant.index} revoked (log entry ${result.index}). Uses declared from now on are judged “revoked”.`);
  }

  private renderGrants(): void {
    const grants = this.identity.grants();
    byId('grants').replaceChildren(
      grants.length === 0
        ? h('p', {}, 'No grants made from this browser yet.')
        : table(
            ['Log index', 'Works', 'Granted', 'State', ''],
            grants.map((g) => {
              const button = h('button', { type: 'button', class: 'secondary', disabled: Boolean(g.revoked) }, `Revoke grant ${g.index}`);
              button.addEventListener('click', () => void this.guard(() => this.revoke(g)));
              return [String(g.index), g.works.map((w) => short(w[0], 14)).join(', '), g.time.slice(0, 10), g.revoked ? `revoked (entry ${g.revoked.index})` : 'active', button];
            }),
            'My grants',
          ),
    );
  }

  private status(message: string, error = false): void {
    const el = byId('identity-status');
    el.textContent = message;
    el.className = error ? 'error' : '';
  }

  private async guard(f: () => Promise<void>): Promise<void> {
    try {
      await f();
    } catch (err) {
      this.status(`Not done: ${(err as Error).message}`, true);
    }
  }
}
