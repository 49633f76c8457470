import { ApiError, call, describe, poll, type Answer } from './api.js';
import { h, region, replace, show, time } from './dom.js';
import { changesList, SettingsForm, type FieldSpec, type Settings } from './form.js';
import type { App, View } from './main.js';

/** Why a tracker is read-only, by the error a dry-run update answers (docs/api.md#order-of-checks). */
const READ_ONLY: Readonly<Record<number, string>> = {
  13: 'not permitted: your account lacks the right tracker_configure',
  219: 'this tracker is a clone; change the original tracker',
  208: 'this tracker is blocked',
  214: 'its model has no tracking settings',
};

interface Sync {
  version: number;
  state: string;
  changed_at?: string;
  delivered_at?: string;
  applied_at?: string;
  reason?: string;
  reported?: Settings;
}

/**
 * A tracker's page (docs/console.md#a-tracker): its settings as a form generated from its profile,
 * Preview (dry run) and Apply (update with expected_version), the sync state live, the reported
 * settings beside the accepted ones, and the history with Revert.
 */
export function trackerView(app: App, trackerId: number): View {
  const title = h('h1', {}, `Tracker ${trackerId}`);
  const facts = h('p', { class: 'facts' });
  const readOnly = h('p', { class: 'readonly', role: 'status' });
  const syncLine = h('p', {});
  const syncRegion = region('Sync', 'h2', syncLine);
  const formHost = h('div', {});
  const result = h('div', { class: 'result', role: 'status', 'aria-live': 'polite' });
  const preview = h('button', { type: 'button' }, 'Preview');
  const apply = h('button', { type: 'submit', class: 'primary' }, 'Apply');
  const reload = h('button', { type: 'button' }, 'Reload settings');
  const settingsHeading = h('h2', { id: 'settings-heading' }, 'Settings');
  const form = h(
    'form',
    { novalidate: true, 'aria-labelledby': 'settings-heading' },
    settingsHeading,
    formHost,
    h('div', { class: 'buttons' }, preview, apply, reload),
    result,
  );
  const reportedBody = h('div', {});
  const reported = region('Reported', 'h2', reportedBody);
  const historyList = h('ol', { class: 'history', reversed: true });
  const history = region('History', 'h2', historyList);
  const element = h(
    'div',
    { class: 'tracker-view' },
    h('p', {}, h('a', { href: '#/' }, '← back to the trackers')),
    title,
    facts,
    readOnly,
    syncRegion,
    form,
    reported,
    history,
  );

  let settingsForm: SettingsForm | undefined;
  let accepted: Settings = {};
  /** The version the form was filled from: Apply and Revert send it as expected_version. */
  let loadedVersion = 0;
  let locked = true;
  let lastSync = '';

  const setLocked = (value: boolean) => {
    locked = value;
    if (settingsForm) settingsForm.disabled = value;
    preview.disabled = value || settingsForm === undefined;
    apply.disabled = value || settingsForm === undefined;
    for (const button of historyList.querySelectorAll('button')) button.disabled = value;
  };

  const showSync = (sync: Sync) => {
    const parts = [
      sync.version > 0 ? `Latest v${sync.version}: ` : 'No version yet: ',
      h('strong', { class: `state state-${sync.state}` }, sync.state),
      sync.changed_at ? ` · changed ${time(sync.changed_at)}` : '',
      sync.delivered_at ? ` · delivered ${time(sync.delivered_at)}` : '',
      sync.applied_at ? ` · applied ${time(sync.applied_at)}` : '',
      sync.reason ? ` · reason: ${sync.reason}` : '',
      sync.version !== loadedVersion ? h('span', { class: 'note' }, ` · the form shows v${loadedVersion}: use Reload settings to edit the latest`) : '',
    ];
    replace(syncLine, ...parts);
    const keys = [...new Set([...Object.keys(accepted), ...Object.keys(sync.reported ?? {})])];
    if (sync.reported === undefined) {
      replace(reportedBody, h('p', { class: 'muted' }, 'The tracker has not reported its settings yet.'));
    } else {
      replace(
        reportedBody,
        h(
          'table',
          { class: 'compare' },
          h(
            'thead',
            {},
            h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, `Accepted (v${loadedVersion})`), h('th', { scope: 'col' }, 'Reported')),
          ),
          h(
            'tbody',
            {},
            keys.map((key) => {
              const a = show(accepted[key]);
              const r = show(sync.reported?.[key]);
              return h('tr', { class: a === r ? '' : 'differs' }, h('th', { scope: 'row' }, h('code', {}, key)), h('td', {}, a), h('td', {}, r));
            }),
          ),
        ),
      );
    }
  };

  const loadHistory = async () => {
    try {
      const answer = await call('tracker/settings/tracking/history', { tracker_id: trackerId, limit: 20 });
      const entries = (answer.list as Answer[]).map((entry) => {
        const id = `version-${String(entry.version)}`;
        const revert = h('button', { type: 'button', onclick: () => void revertTo(Number(entry.version)) }, 'Revert');
        revert.disabled = locked;
        const author = (entry.author ?? {}) as { login?: string };
        return h(
          'li',
          {},
          h(
            'article',
            { 'aria-labelledby': id },
            h('h3', { id }, `v${String(entry.version)}`),
            h(
              'p',
              { class: 'meta' },
              `${String(entry.source)} by ${author.login ?? '?'} · ${time(entry.changed_at)} · `,
              h('span', { class: `state state-${entry.state}` }, String(entry.state)),
              entry.reason ? ` · ${String(entry.reason)}` : '',
            ),
            changesList(entry.changes),
            revert,
          ),
        );
      });
      replace(historyList, entries.length > 0 ? entries : h('li', { class: 'muted' }, 'No version yet.'));
    } catch (err) {
      replace(historyList, h('li', { class: 'muted' }, describe(err)));
    }
  };

  /** The accepted settings and their sync; refills the form (its edits are dropped). */
  const loadSettings = async () => {
    const answer = await call('tracker/settings/tracking/read', { tracker_id: trackerId });
    accepted = (answer.value ?? {}) as Settings;
    const sync = answer.sync as Sync;
    loadedVersion = sync.version;
    replace(settingsHeading, loadedVersion > 0 ? `Settings (accepted v${loadedVersion})` : 'Settings (none accepted yet)');
    settingsForm?.fill(accepted);
    lastSync = JSON.stringify(sync);
    showSync(sync);
  };

  const failure = (err: unknown) => {
    if (err instanceof ApiError && err.code === 1001) {
      const latest = (err.body?.sync as Sync | undefined)?.version;
      replace(
        result,
        h(
          'p',
          { class: 'error' },
          `Version conflict: this tracker was changed${latest !== undefined ? ` to v${latest}` : ''} since you loaded v${loadedVersion}. Nothing was applied. Use Reload settings to see the current settings, then apply again.`,
        ),
      );
      return;
    }
    const rest = err instanceof ApiError && settingsForm ? settingsForm.showErrors(err.errors) : [];
    const message = err instanceof ApiError ? `${err.description} (${err.code})` : describe(err);
    replace(
      result,
      h(
        'p',
        { class: 'error' },
        message,
        rest.length > 0
          ? h(
              'ul',
              {},
              rest.map((e) => h('li', {}, `${e.parameter}: ${e.error}`)),
            )
          : null,
      ),
    );
  };

  const run = async (dryRun: boolean) => {
    if (!settingsForm || locked) return;
    const patch = settingsForm.patch();
    settingsForm.clearErrors();
    replace(result, dryRun ? 'Previewing…' : 'Applying…');
    try {
      const answer = await call('tracker/settings/tracking/update', {
        tracker_id: trackerId,
        tracking_settings: patch,
        expected_version: loadedVersion,
        ...(dryRun && { dry_run: true }),
      });
      if (dryRun) {
        replace(result, h('p', {}, `Preview: as v${String(answer.sync?.version)} this would change`), changesList(answer.changes));
      } else {
        replace(result, h('p', {}, `Applied as v${String(answer.sync?.version)}: ${String(answer.sync?.state)}.`));
        await Promise.all([loadSettings(), loadHistory()]);
      }
    } catch (err) {
      failure(err);
    }
  };

  const revertTo = async (version: number) => {
    replace(result, `Reverting to v${version}…`);
    try {
      const answer = await call('tracker/settings/tracking/revert', { tracker_id: trackerId, version, expected_version: loadedVersion });
      replace(result, h('p', {}, `Reverted to the settings of v${version} as v${String(answer.sync?.version)}.`));
      await Promise.all([loadSettings(), loadHistory()]);
    } catch (err) {
      failure(err);
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void run(false);
  });
  preview.addEventListener('click', () => void run(true));
  reload.addEventListener('click', () => {
    replace(result);
    void loadSettings().catch(failure);
    void loadHistory();
  });
  setLocked(true);

  const load = async () => {
    const row = app.fleet.byId.get(trackerId);
    try {
      const tracker = (await call('tracker/read', { tracker_id: trackerId })).value as Answer;
      const source = (tracker.source ?? {}) as Answer;
      replace(title, String(tracker.label));
      document.title = `${String(tracker.label)} — trackconf`;
      replace(
        facts,
        `Model ${String(source.model)} · device id ${String(source.device_id)}${row?.group ? ` · group ${row.group}` : ''}${tracker.clone ? ' · clone' : ''}`,
      );
    } catch (err) {
      replace(readOnly, describe(err));
      return;
    }
    // A dry run of an empty change says whether this user may change this tracker, and if not, why.
    let reason: string | undefined;
    try {
      await call('tracker/settings/tracking/update', { tracker_id: trackerId, tracking_settings: {}, dry_run: true });
    } catch (err) {
      if (err instanceof ApiError) reason = READ_ONLY[err.code];
    }
    if (reason !== undefined) replace(readOnly, `Read-only: ${reason}.`);
    try {
      const profile = await call('tracker/settings/tracking/profile', { tracker_id: trackerId });
      settingsForm = new SettingsForm((profile.value as { fields: FieldSpec[] }).fields);
      settingsForm.disabled = locked;
      replace(formHost, settingsForm.element);
      await loadSettings();
    } catch (err) {
      replace(formHost, h('p', { class: 'muted' }, reason === undefined ? describe(err) : 'No settings to show.'));
    }
    await loadHistory();
    setLocked(reason !== undefined);
  };
  void load();

  // The sync state and reported settings, every second (docs/console.md#live-sync-state).
  const stop = poll(async () => {
    if (document.hidden || settingsForm === undefined) return;
    const answer = await call('tracker/settings/tracking/read', { tracker_id: trackerId });
    const text = JSON.stringify(answer.sync);
    if (text === lastSync) return;
    const before = lastSync;
    lastSync = text;
    showSync(answer.sync as Sync);
    if (before !== '') await loadHistory();
  }, 1000);

  return { element, title: `Tracker ${trackerId}`, stop };
}
