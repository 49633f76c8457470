import { ApiError, call, describe, poll, type Answer } from './api.js';
import { h, region, replace } from './dom.js';
import { changesList, SettingsForm, type FieldSpec } from './form.js';
import type { App, View } from './main.js';

const COUNTED = ['pending', 'delivered', 'applied', 'rejected', 'none'] as const;

/** A fresh request_id (crypto.randomUUID needs a secure context; the console may be served over plain HTTP). */
function requestId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `console-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** A field two profiles share, with the bounds both accept and only the values both allow. */
function narrowed(a: FieldSpec, b: FieldSpec): FieldSpec {
  const pick = (x: number | undefined, y: number | undefined, f: (...n: number[]) => number) => (x === undefined ? y : y === undefined ? x : f(x, y));
  const min = pick(a.min, b.min, Math.max);
  const max = pick(a.max, b.max, Math.min);
  const values = a.values && b.values ? a.values.filter((v) => b.values!.includes(v)) : (a.values ?? b.values);
  return { ...a, required: a.required || b.required, ...(min !== undefined && { min }), ...(max !== undefined && { max }), ...(values && { values }) };
}

/** The fields every selected model's profile has (a field one of them lacks would fail there). */
async function commonFields(app: App, ids: readonly number[]): Promise<{ fields: FieldSpec[]; skipped: string[] }> {
  const byModel = new Map<string, number>();
  for (const id of ids) {
    const row = app.fleet.byId.get(id);
    if (row && !row.blocked && !byModel.has(row.model)) byModel.set(row.model, id);
  }
  const skipped: string[] = [];
  let fields: FieldSpec[] | undefined;
  for (const [model, id] of byModel) {
    try {
      const profile = await call('tracker/settings/tracking/profile', { tracker_id: id });
      const these = (profile.value as { fields: FieldSpec[] }).fields;
      fields =
        fields === undefined
          ? these
          : fields.flatMap((f) => {
              const g = these.find((other) => other.name === f.name);
              return g === undefined ? [] : [narrowed(f, g)];
            });
    } catch (err) {
      if (err instanceof ApiError && err.code === 214) skipped.push(model);
      else throw err;
    }
  }
  return { fields: fields ?? [], skipped };
}

/**
 * Bulk edit (docs/console.md#bulk): the same generated form for the selected trackers, a dry run
 * (per tracker: would change, or would fail and why), bulk_update, then the roll-up of sync_summary
 * every second until every updated tracker has answered.
 */
export function bulkView(app: App): View {
  const ids = [...app.selection];
  const label = (id: number) => app.fleet.byId.get(id)?.label ?? `#${id}`;
  const formHost = h('div', {}, h('p', { class: 'muted' }, 'Loading the profiles…'));
  const status = h('div', { role: 'status', class: 'result' });
  const dryRun = h('button', { type: 'button' }, 'Dry run');
  const applyButton = h('button', { type: 'submit', class: 'primary' }, 'Apply to selected');
  const form = h(
    'form',
    { novalidate: true, 'aria-labelledby': 'bulk-fields' },
    h('h2', { id: 'bulk-fields' }, 'Fields to set'),
    h('p', { class: 'muted' }, 'Only the fields you fill in are changed; the others keep each tracker’s own value.'),
    formHost,
    h('div', { class: 'buttons' }, dryRun, applyButton),
    status,
  );
  const resultsBody = h('div', {});
  const results = region('Results', 'h2', resultsBody);
  const progressBody = h('div', {}, h('p', { class: 'muted' }, 'Nothing applied yet.'));
  const progress = region('Progress', 'h2', progressBody);
  progress.setAttribute('aria-live', 'polite');
  const element = h(
    'div',
    { class: 'bulk-view' },
    h('h1', {}, `Bulk edit: ${ids.length} tracker${ids.length === 1 ? '' : 's'}`),
    h('p', {}, ids.slice(0, 20).map(label).join(', '), ids.length > 20 ? ` and ${ids.length - 20} more` : ''),
    form,
    results,
    progress,
  );

  let settingsForm: SettingsForm | undefined;
  let stopProgress: (() => void) | undefined;
  dryRun.disabled = true;
  applyButton.disabled = true;

  void (async () => {
    try {
      const { fields, skipped } = await commonFields(app, ids);
      settingsForm = new SettingsForm(fields);
      settingsForm.fill({});
      replace(
        formHost,
        skipped.length > 0 ? h('p', { class: 'muted' }, `No tracking settings for model ${skipped.join(', ')}: those trackers will fail.`) : null,
        fields.length > 0 ? settingsForm.element : h('p', {}, 'The selected models have no field in common.'),
      );
      dryRun.disabled = fields.length === 0;
      applyButton.disabled = fields.length === 0;
    } catch (err) {
      replace(formHost, h('p', { class: 'error' }, describe(err)));
    }
  })();

  const showResults = (answer: Answer, dry: boolean) => {
    const list = answer.results as Answer[];
    const summary = answer.summary as { total: number; updated: number; failed: number };
    replace(
      resultsBody,
      h(
        'p',
        {},
        dry ? `Dry run: ${summary.updated} would change, ${summary.failed} would fail.` : `Applied: ${summary.updated} updated, ${summary.failed} failed.`,
      ),
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Tracker'), h('th', { scope: 'col' }, 'Result'))),
        h(
          'tbody',
          {},
          list.slice(0, 500).map((r) => {
            const id = Number(r.tracker_id);
            const outcome = r.success
              ? h('td', {}, dry ? 'would change' : `updated: v${String(r.sync?.version)}`, dry ? changesList(r.changes) : null)
              : h(
                  'td',
                  { class: 'error' },
                  `${dry ? 'would fail' : 'failed'}: ${String(r.status?.description)} (${String(r.status?.code)})`,
                  ((r.errors ?? []) as { parameter: string; error: string }[]).map((e) => h('div', {}, `${e.parameter}: ${e.error}`)),
                );
            return h('tr', {}, h('th', { scope: 'row' }, h('a', { href: `#/tracker/${id}` }, label(id))), outcome);
          }),
        ),
      ),
      list.length > 500 ? h('p', { class: 'muted' }, `(first 500 of ${list.length} shown)`) : null,
    );
  };

  /** sync_summary of the updated trackers every second, until none is pending or delivered. */
  const follow = (updated: number[]) => {
    stopProgress?.();
    if (updated.length === 0) {
      replace(progressBody, h('p', {}, 'No tracker was updated.'));
      return;
    }
    const tick = async () => {
      const summary = await call('tracker/settings/tracking/sync_summary', { tracker_ids: updated });
      const value = summary.value as Record<string, number>;
      const waiting = (value.pending ?? 0) + (value.delivered ?? 0);
      replace(
        progressBody,
        h(
          'ul',
          { class: 'counts' },
          COUNTED.map((state) => h('li', { class: `state-${state}` }, `${state}: ${value[state] ?? 0}`)),
        ),
        h('p', {}, waiting === 0 ? `Every tracker has answered (${updated.length}).` : `Waiting for ${waiting} of ${updated.length} trackers…`),
      );
      if (waiting === 0) stopProgress?.();
    };
    void tick();
    stopProgress = poll(tick, 1000);
  };

  const run = async (dry: boolean) => {
    if (!settingsForm) return;
    const patch = settingsForm.patch();
    settingsForm.clearErrors();
    if (Object.keys(patch).length === 0) {
      replace(status, h('p', { class: 'error' }, 'Fill in at least one field.'));
      return;
    }
    replace(status, dry ? 'Running a dry run…' : 'Applying…');
    try {
      const answer = await call('tracker/settings/tracking/bulk_update', {
        tracker_ids: ids,
        tracking_settings: patch,
        ...(dry ? { dry_run: true } : { request_id: requestId() }),
      });
      replace(status);
      showResults(answer, dry);
      if (!dry) follow((answer.results as Answer[]).filter((r) => r.success).map((r) => Number(r.tracker_id)));
    } catch (err) {
      const rest = err instanceof ApiError ? settingsForm.showErrors(err.errors) : [];
      replace(
        status,
        h(
          'p',
          { class: 'error' },
          err instanceof ApiError ? `${err.description} (${err.code})` : describe(err),
          rest.map((e) => h('div', {}, `${e.parameter}: ${e.error}`)),
        ),
      );
    }
  };
  dryRun.addEventListener('click', () => void run(true));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void run(false);
  });

  return { element, title: 'Bulk edit', stop: () => stopProgress?.() };
}
