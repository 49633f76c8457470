import { call, describe, onSessionLost, poll, session } from './api.js';
import { bulkView } from './bulk.js';
import { h, replace } from './dom.js';
import { Fleet } from './fleet.js';
import { trackerView } from './tracker.js';
import { trackersView, type TableState } from './trackers.js';

/** A mounted view: its content, and what stops its timers when another view replaces it. */
export interface View {
  readonly element: HTMLElement;
  readonly title: string;
  /** The fleet's rows whose sync state changed (the trackers and bulk views follow them). */
  readonly synced?: (ids: readonly number[], reloaded: boolean) => void;
  readonly stop?: () => void;
}

/**
 * The console (docs/console.md): one page, views chosen by the URL's fragment (`#/`, `#/tracker/<id>`,
 * `#/bulk`), which never holds the session hash. State kept across views: the fleet, the table's
 * filters and the selection.
 */
export class App {
  readonly fleet = new Fleet();
  readonly selection = new Set<number>();
  readonly table: TableState = { text: '', model: '', group: '', state: '', sort: 'label', descending: false, page: 0 };
  private login = '';
  private view: View | undefined;
  private stopPolling: (() => void) | undefined;
  private readonly bar: HTMLElement;
  private readonly main: HTMLElement;

  constructor(body: HTMLElement) {
    this.main = h('main', { id: 'view', tabindex: '-1' });
    this.bar = h('header', { class: 'bar' });
    replace(body, this.bar, this.main);
    onSessionLost(() => this.signedOut('Your session has ended: sign in again.'));
    window.addEventListener('hashchange', () => this.route());
  }

  async start(): Promise<void> {
    if (session.hash() === null) return this.signIn();
    try {
      await this.enter();
    } catch (err) {
      if (session.hash() !== null) this.signIn(describe(err));
    }
  }

  /** After a sign-in (or a reload of a signed-in tab): who, the fleet, live sync, then the view. */
  private async enter(): Promise<void> {
    const [info] = await Promise.all([call('user/get_info'), this.fleet.load()]);
    this.login = String((info.user_info as { login?: string }).login ?? '');
    this.stopPolling?.();
    // Every second while the trackers view shows: a change shows within 2 s (docs/console.md#live-sync-state).
    this.stopPolling = poll(async () => {
      if (document.hidden || this.view?.synced === undefined) return;
      const { changed, reloaded } = await this.fleet.refresh();
      if (changed.length > 0) this.view?.synced?.(changed, reloaded);
    }, 1000);
    this.route();
  }

  /** Shows the view the fragment names. */
  route(): void {
    if (session.hash() === null) return;
    const hash = location.hash;
    const tracker = /^#\/tracker\/(\d+)$/.exec(hash);
    let view: View;
    if (tracker) view = trackerView(this, Number(tracker[1]));
    else if (hash === '#/bulk' && this.selection.size > 0) view = bulkView(this);
    else view = trackersView(this);
    this.show(view);
  }

  private show(view: View): void {
    this.view?.stop?.();
    this.view = view;
    document.title = `${view.title} — trackconf`;
    replace(
      this.bar,
      h('nav', { 'aria-label': 'Console' }, h('a', { href: '#/' }, 'Trackers')),
      h('span', { class: 'who' }, this.login ? `Signed in as ${this.login}` : ''),
      h('button', { type: 'button', onclick: () => void this.signOut() }, 'Sign out'),
    );
    this.bar.hidden = false;
    replace(this.main, view.element);
    const heading = view.element.querySelector('h1');
    heading?.setAttribute('tabindex', '-1');
    heading?.focus();
  }

  /** The sign-in view (docs/console.md#sign-in). */
  private signIn(message = ''): void {
    this.view?.stop?.();
    this.view = undefined;
    this.bar.hidden = true;
    replace(this.bar);
    document.title = 'Sign in — trackconf';
    const login = h('input', { id: 'login', name: 'login', autocomplete: 'username', required: true });
    const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    const status = h('p', { role: 'alert', class: 'error' }, message);
    const button = h('button', { type: 'submit' }, 'Sign in');
    const form = h(
      'form',
      { class: 'signin', novalidate: true },
      h('h1', {}, 'trackconf console'),
      h('div', { class: 'field' }, h('label', { for: 'login' }, 'Login'), login),
      h('div', { class: 'field' }, h('label', { for: 'password' }, 'Password'), password),
      button,
      status,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      button.disabled = true;
      replace(status, 'Signing in…');
      void (async () => {
        try {
          const answer = await call('user/auth', { login: login.value, password: password.value }, false);
          session.set(String(answer.hash));
          password.value = '';
          await this.enter();
        } catch (err) {
          session.clear();
          replace(status, describe(err));
          button.disabled = false;
          password.focus();
        }
      })();
    });
    replace(this.main, form);
    login.focus();
  }

  /** Sign out: ends the session on the server (user/logout), then forgets it here. */
  private async signOut(): Promise<void> {
    try {
      await call('user/logout');
    } catch {
      // the session is forgotten here either way
    }
    this.signedOut('Signed out.');
  }

  private signedOut(message: string): void {
    this.stopPolling?.();
    this.stopPolling = undefined;
    session.clear();
    this.selection.clear();
    // The next user starts from the trackers view (replaceState: no hashchange, no route).
    history.replaceState(null, '', '#/');
    this.fleet.rows = [];
    this.fleet.byId.clear();
    this.signIn(message);
  }
}

void new App(document.body).start();
