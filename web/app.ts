/**
 * The creator's page. Everything shown as verified is checked here, in the browser, against the
 * log key (and witness keys) the user pinned: checkpoint signature, log inclusion, manifest
 * inclusion, and that the labels beside a proof are the proven ones (the client library's
 * verifyUseReport). Keys never leave the browser; records are signed here.
 */
import { api, ProblemError } from './api.js';
import { Identity } from './identity.js';
import { TrustedLog } from './trust.js';
import { workIdsOfFile, type FileWorkIds } from './work-ids.js';
import { renderChecks } from './views/check.js';
import { IdentityView } from './views/identity.js';
import { NotificationsView } from './views/notifications.js';
import { renderAudit } from './views/audit.js';
import { byId } from './dom.js';

const trust = new TrustedLog(localStorage);
const identity = new Identity(localStorage);
const works: FileWorkIds[] = [];

function selectTab(name: string): void {
  for (const tab of Array.from(document.querySelectorAll<HTMLButtonElement>('[role=tab]'))) {
    const selected = tab.id === `tab-${name}`;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
    byId(tab.getAttribute('aria-controls')!).hidden = !selected;
  }
  if (name === 'audit') void renderAudit(byId('audit'), trust);
}

function wireTabs(): void {
  const tabs = Array.from(document.querySelectorAll<HTMLButtonElement>('[role=tab]'));
  tabs.forEach((tab, i) => {
    tab.addEventListener('click', () => selectTab(tab.id.slice(4)));
    tab.addEventListener('keydown', (e) => {
      const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
      if (!step) return;
      const next = tabs[(i + step + tabs.length) % tabs.length];
      next.focus();
      selectTab(next.id.slice(4));
    });
  });
}

function wireTrust(): void {
  const input = byId<HTMLInputElement>('vkey');
  const witnesses = byId<HTMLTextAreaElement>('witness-keys');
  const status = byId('trust-status');
  const show = () => {
    status.textContent = trust.verifier ? `Pinned: ${trust.verifier.name}${trust.witnessKeys.length ? ` and ${trust.witnessKeys.length} witness key(s)` : ''}. Answers are checked against ${trust.witnessKeys.length ? 'these keys' : 'this key'}.` : 'No key pinned: nothing can be shown as verified.';
    status.className = trust.verifier ? '' : 'warning';
  };
  input.value = trust.vkey ?? '';
  witnesses.value = trust.witnessKeys.join('\n');
  show();
  byId('trust-form').addEventListener('submit', (e) => {
    e.preventDefault();
    try {
      trust.pin(input.value.trim());
    } catch (err) {
      status.textContent = `Not a valid verifier key: ${(err as Error).message}`;
      status.className = 'error';
      return;
    }
    try {
      trust.setWitnesses(witnesses.value);
      show();
      void refreshChecks();
    } catch (err) {
      status.textContent = `Not a valid witness key: ${(err as Error).message}`;
      status.className = 'error';
    }
  });
  byId('vkey-fetch').addEventListener('click', async () => {
    input.value = (await api.text('/log/vkey')).trim();
    status.textContent = 'Fetched from the server. Compare it with a copy from another source, then pin it.';
    status.className = 'warning';
  });
}

async function refreshChecks(): Promise<void> {
  await renderChecks(byId('works'), works, trust);
  identityView.setWorks(works);
}

function wireDrop(): void {
  const drop = byId('drop');
  const input = byId<HTMLInputElement>('files');
  const add = async (files: FileList | null) => {
    if (!files) return;
    for (const file of Array.from(files)) works.push(await workIdsOfFile(file));
    await refreshChecks();
  };
  input.addEventListener('change', () => void add(input.files));
  byId('recheck').addEventListener('click', () => void refreshChecks());
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    void add(e.dataTransfer?.files ?? null);
  });
}

const notifications = new NotificationsView(byId('notifications'), byId('notify-state'), byId('notify-count'), trust);
const identityView = new IdentityView(identity, trust, (key) => notifications.follow(key));

wireTabs();
wireTrust();
wireDrop();
identityView.render();
window.addEventListener('unhandledrejection', (e) => {
  const status = byId('identity-status');
  status.textContent = e.reason instanceof ProblemError ? e.reason.message : String(e.reason?.message ?? e.reason);
  status.className = 'error';
});
