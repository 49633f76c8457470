import { h, replace, time } from './dom.js';
import { STATES, type Row } from './fleet.js';
import type { App, View } from './main.js';

/** The table's filters, sort and page, kept while the user visits trackers. */
export interface TableState {
  text: string;
  model: string;
  group: string;
  state: string;
  sort: SortKey;
  descending: boolean;
  page: number;
}

type SortKey = 'label' | 'model' | 'group' | 'deviceId' | 'version' | 'state' | 'changedAt';

const PAGE_SIZE = 50;
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

const COLUMNS: readonly { key: SortKey; title: string }[] = [
  { key: 'label', title: 'Label' },
  { key: 'model', title: 'Model' },
  { key: 'group', title: 'Group' },
  { key: 'deviceId', title: 'Device id' },
  { key: 'version', title: 'Version' },
  { key: 'state', title: 'State' },
  { key: 'changedAt', title: 'Changed at' },
];

function compare(key: SortKey): (a: Row, b: Row) => number {
  if (key === 'version') return (a, b) => a.version - b.version;
  if (key === 'changedAt') return (a, b) => (a.changedAt ?? '').localeCompare(b.changedAt ?? '');
  return (a, b) => collator.compare(a[key], b[key]);
}

/** The rows the filters let through, sorted: 10,000 rows take a few milliseconds, so on every keystroke. */
function filtered(rows: readonly Row[], s: TableState): Row[] {
  const text = s.text.trim().toLowerCase();
  const group = s.group === '' ? undefined : Number(s.group);
  const out = rows.filter(
    (row) =>
      (text === '' || row.haystack.includes(text)) &&
      (s.model === '' || row.model === s.model) &&
      (group === undefined || row.groupId === group) &&
      (s.state === '' || row.state === s.state),
  );
  const by = compare(s.sort);
  out.sort(s.descending ? (a, b) => by(b, a) || a.id - b.id : (a, b) => by(a, b) || a.id - b.id);
  return out;
}

function select(id: string, all: string, options: readonly (readonly [string, string])[], value: string): HTMLSelectElement {
  const el = h('select', { id }, h('option', { value: '' }, all), ...options.map(([v, text]) => h('option', { value: v }, text)));
  el.value = value;
  return el;
}

/**
 * The trackers view (docs/console.md#trackers): a paginated table (a real `table`, 50 rows a page)
 * of every tracker the user may see, filtered and sorted in memory; states follow the fleet live
 * without re-rendering the page (focus stays where it is).
 */
export function trackersView(app: App): View {
  const s = app.table;
  const { fleet, selection } = app;
  let shown: Row[] = [];
  const cells = new Map<number, { version: HTMLElement; state: HTMLElement; changed: HTMLElement }>();

  const filter = h('input', { id: 'filter', type: 'search', autocomplete: 'off', value: s.text });
  const model = select(
    'filter-model',
    'All models',
    fleet.models.map((m) => [m, m] as const),
    s.model,
  );
  const groupOptions: [string, string][] = [['0', 'No group'], ...[...fleet.groups].map(([id, title]) => [String(id), title] as [string, string])];
  const group = select('filter-group', 'All groups', groupOptions, s.group);
  const state = select(
    'filter-state',
    'All states',
    STATES.map((st) => [st, st] as const),
    s.state,
  );

  const count = h('span', { class: 'count' });
  const selected = h('span', { role: 'status', class: 'selected' });
  const bulk = h('button', { type: 'button', onclick: () => (location.hash = '#/bulk') }, 'Bulk edit');
  const pageInfo = h('span', { class: 'page', 'aria-live': 'polite' });
  const previous = h('button', { type: 'button', onclick: () => turn(-1) }, 'Previous page');
  const next = h('button', { type: 'button', onclick: () => turn(1) }, 'Next page');
  const tbody = h('tbody');
  const headers = COLUMNS.map((col) => {
    const th = h('th', { scope: 'col' }, h('button', { type: 'button', class: 'sort', onclick: () => sortBy(col.key) }, col.title));
    return { key: col.key, th };
  });
  const table = h(
    'table',
    { class: 'trackers' },
    h('caption', {}, 'Trackers ', count),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Selected')),
        headers.map((x) => x.th),
      ),
    ),
    tbody,
  );

  const updateSelection = () => {
    replace(selected, `${selection.size} selected`);
    bulk.disabled = selection.size === 0;
  };

  const renderPage = () => {
    const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
    s.page = Math.min(Math.max(0, s.page), pages - 1);
    const rows = shown.slice(s.page * PAGE_SIZE, (s.page + 1) * PAGE_SIZE);
    cells.clear();
    const trs = rows.map((row) => {
      const box = h('input', { type: 'checkbox', 'aria-label': `Select ${row.label}` });
      box.checked = selection.has(row.id);
      box.addEventListener('change', () => {
        if (box.checked) selection.add(row.id);
        else selection.delete(row.id);
        updateSelection();
      });
      const version = h('td', {}, row.version > 0 ? `v${row.version}` : '—');
      const stateCell = h('td', { class: `state state-${row.state}` }, row.state);
      const changed = h('td', {}, time(row.changedAt));
      cells.set(row.id, { version, state: stateCell, changed });
      return h(
        'tr',
        {},
        h('td', {}, box),
        h('td', {}, h('a', { href: `#/tracker/${row.id}` }, row.label), row.clone ? h('span', { class: 'tag' }, ' clone') : null),
        h('td', {}, row.model),
        h('td', {}, row.group),
        h('td', { class: 'mono' }, row.deviceId),
        version,
        stateCell,
        changed,
      );
    });
    replace(tbody, trs.length > 0 ? trs : h('tr', {}, h('td', { colspan: '8', class: 'muted' }, 'No tracker matches the filters.')));
    replace(count, `(${shown.length} of ${fleet.rows.length})`);
    replace(pageInfo, `Page ${s.page + 1} of ${pages}`);
    previous.disabled = s.page === 0;
    next.disabled = s.page >= pages - 1;
    for (const { key, th } of headers) {
      if (key === s.sort) th.setAttribute('aria-sort', s.descending ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    }
  };

  const refilter = () => {
    s.text = filter.value;
    s.model = model.value;
    s.group = group.value;
    s.state = state.value;
    s.page = 0;
    shown = filtered(fleet.rows, s);
    renderPage();
  };
  const sortBy = (key: SortKey) => {
    s.descending = s.sort === key ? !s.descending : false;
    s.sort = key;
    shown = filtered(fleet.rows, s);
    renderPage();
  };
  const turn = (by: number) => {
    s.page += by;
    renderPage();
  };

  filter.addEventListener('input', refilter);
  for (const el of [model, group, state]) el.addEventListener('change', refilter);

  const selectAll = h(
    'button',
    {
      type: 'button',
      onclick: () => {
        for (const row of shown) selection.add(row.id);
        updateSelection();
        renderPage();
      },
    },
    'Select all filtered',
  );
  const clear = h(
    'button',
    {
      type: 'button',
      onclick: () => {
        selection.clear();
        updateSelection();
        renderPage();
      },
    },
    'Clear selection',
  );

  shown = filtered(fleet.rows, s);
  renderPage();
  updateSelection();

  const element = h(
    'div',
    { class: 'trackers-view' },
    h('h1', {}, 'Trackers'),
    h(
      'div',
      { class: 'filters', role: 'search' },
      h('label', { for: 'filter' }, 'Filter'),
      filter,
      h('label', { for: 'filter-model' }, 'Model'),
      model,
      h('label', { for: 'filter-group' }, 'Group'),
      group,
      h('label', { for: 'filter-state' }, 'State'),
      state,
    ),
    h('div', { class: 'actions' }, selectAll, clear, bulk, selected),
    table,
    h('div', { class: 'pager' }, previous, pageInfo, next),
  );

  return {
    element,
    title: 'Trackers',
    synced: (ids, reloaded) => {
      if (reloaded) {
        // trackers came or went: filter again, keep the page
        const page = s.page;
        shown = filtered(fleet.rows, s);
        s.page = page;
        renderPage();
        return;
      }
      for (const id of ids) {
        const cell = cells.get(id);
        const row = fleet.byId.get(id);
        if (!cell || !row) continue;
        replace(cell.version, row.version > 0 ? `v${row.version}` : '—');
        replace(cell.state, row.state);
        cell.state.className = `state state-${row.state}`;
        replace(cell.changed, time(row.changedAt));
      }
    },
  };
}
