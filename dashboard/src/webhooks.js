// The webhooks panel: list, create, edit filters, pause/enable, send test, rotate secret (the
// secret shown once), delete, and recent deliveries with each attempt. Also computes delivery
// success per webhook from each one's recent deliveries.
import { ApiError } from './api.js';
import { $, h, splitList } from './dom.js';

const PAGE = 100;
const MAX_PAGES = 10;
const SUCCESS_CONCURRENCY = 4; // delivery-success requests in flight at once
const TEST_POLLS = 30; // a test delivery is followed for about this many seconds

// fn(item) for every item, at most `limit` at a time; results in the items' order.
export async function mapLimited(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await fn(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function path(id, rest = '') {
  return `v1/webhooks/${encodeURIComponent(id)}${rest}`;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class Webhooks {
  constructor(api, { say, showError, recent, maxSuccess = 20, onChange }) {
    this.api = api;
    this.say = say;
    this.showError = showError;
    this.recent = recent;
    this.maxSuccess = maxSuccess;
    this.onChange = onChange;
    this.items = [];
    this.selected = null; // webhook id whose deliveries are shown
    this.editing = null; // webhook id whose filters are being edited
    this.bind();
  }

  bind() {
    // Replace the form and buttons' handlers (a new key gets a new Webhooks object).
    const form = $('create-form');
    form.onsubmit = (event) => {
      event.preventDefault();
      this.guard('Creating the webhook', () => this.create());
    };
    $('copy-secret').onclick = () => this.guard('Copying the secret', () => this.copySecret());
    $('dismiss-secret').onclick = () => this.guard('Hiding the secret', () => this.hideSecret());
    $('refresh-deliveries').onclick = () => this.guard('Loading the deliveries', () => this.showDeliveries(this.selected));
  }

  // Run a click handler: whatever it throws or rejects with is shown in words, never left to
  // the console as an unhandled rejection.
  guard(what, fn) {
    Promise.resolve()
      .then(fn)
      .catch((err) => this.showError(what, err));
  }

  async run(what, action) {
    try {
      return await action();
    } catch (err) {
      const text = this.showError(what, err);
      if (text && err instanceof ApiError && err.status === 403 && err.code === 'forbidden') {
        $('webhooks-note').textContent = `Webhook management needs an admin-scoped API key, and this key is not one (${text}).`;
      }
      return undefined;
    }
  }

  async refresh() {
    $('webhooks-note').textContent = 'Loading webhooks\u2026';
    const items = await this.run('Loading webhooks', async () => {
      const all = [];
      let cursor = null;
      for (let page = 0; page < MAX_PAGES; page += 1) {
        const body = await this.api.get('v1/webhooks', { limit: PAGE, cursor });
        all.push(...body.webhooks);
        cursor = body.next_cursor;
        if (!cursor) break;
      }
      return all;
    });
    if (items === undefined) {
      $('webhook-list').replaceChildren();
      this.onChange([], { why: 'Not shown: the webhooks did not load (see Errors).' });
      return;
    }
    this.items = items;
    $('webhooks-note').textContent = items.length
      ? `${items.length} webhook${items.length === 1 ? '' : 's'}.`
      : 'No webhooks yet.';
    this.render();
    await this.success();
    if (this.selected && items.some((w) => w.webhook_id === this.selected)) {
      await this.showDeliveries(this.selected);
    } else {
      this.selected = null;
      $('deliveries-panel').hidden = true;
    }
  }

  // Delivery success per webhook, from each one's last `recent` deliveries: for the first
  // `maxSuccess` webhooks listed only, `SUCCESS_CONCURRENCY` requests at a time.
  async success() {
    const hooks = this.items.slice(0, this.maxSuccess);
    const rows = await mapLimited(
      hooks,
      SUCCESS_CONCURRENCY,
      async (hook) => {
        const body = await this.run(`Loading the deliveries of ${hook.url}`, () =>
          this.api.get(path(hook.webhook_id, '/deliveries'), { limit: this.recent }),
        );
        const list = body ? body.deliveries : [];
        const count = (status) => list.filter((d) => d.status === status).length;
        return { label: hook.url, succeeded: count('succeeded'), failed: count('failed'), pending: count('pending') };
      },
    );
    this.onChange(rows, { total: this.items.length });
  }

  // Rebuild the list; keyboard focus inside it moves to the same control of the rebuilt card
  // (data-action), or to the card's first button if that control is gone, or to the panel's
  // heading if the card is gone.
  render() {
    const list = $('webhook-list');
    const active = document.activeElement;
    let focus = null;
    if (active && list.contains(active)) {
      const article = active.closest('article.webhook');
      focus = { id: article ? article.dataset.webhookId : null, action: active.dataset.action || '' };
    }
    list.replaceChildren(...this.items.map((hook) => this.card(hook)));
    if (!focus) return;
    const card = [...list.querySelectorAll('article.webhook')].find((a) => a.dataset.webhookId === focus.id);
    const target = card
      ? card.querySelector(`[data-action="${focus.action}"]`) || card.querySelector('[data-action="edit"]')
      : $('webhooks-title');
    if (target) target.focus();
  }

  card(hook) {
    const titleId = `wh-title-${hook.webhook_id}`;
    const describe = { 'aria-describedby': titleId };
    const paused = hook.status !== 'active';
    const actions = h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', dataset: { action: 'edit' }, onclick: () => this.edit(hook.webhook_id), ...describe }, 'Edit filters'),
      h(
        'button',
        {
          type: 'button',
          dataset: { action: 'status' },
          onclick: () => this.guard(`${paused ? 'Enabling' : 'Pausing'} ${hook.url}`, () => this.setStatus(hook, paused ? 'active' : 'paused')),
          ...describe,
        },
        paused ? 'Enable' : 'Pause',
      ),
      h('button', { type: 'button', dataset: { action: 'test' }, onclick: () => this.guard(`Sending a test to ${hook.url}`, () => this.sendTest(hook)), ...describe }, 'Send test'),
      h('button', { type: 'button', dataset: { action: 'rotate' }, onclick: () => this.guard(`Rotating the secret of ${hook.url}`, () => this.rotate(hook)), ...describe }, 'Rotate secret'),
      h(
        'button',
        { type: 'button', dataset: { action: 'deliveries' }, onclick: () => this.guard(`Loading the deliveries of ${hook.url}`, () => this.showDeliveries(hook.webhook_id)), ...describe },
        'Show deliveries',
      ),
      h('button', { type: 'button', class: 'danger', dataset: { action: 'delete' }, onclick: () => this.guard(`Deleting ${hook.url}`, () => this.remove(hook)), ...describe }, 'Delete'),
    );
    const article = h(
      'article',
      { class: 'webhook', dataset: { webhookId: hook.webhook_id }, 'aria-labelledby': titleId },
      h('h4', { id: titleId }, hook.url),
      h(
        'dl',
        {},
        h('dt', {}, 'Status'),
        h('dd', {}, h('span', { class: `badge ${hook.status}` }, hook.status), hook.disabled_reason ? ` (${hook.disabled_reason})` : ''),
        h('dt', {}, 'Event types'),
        h('dd', { class: 'event-types' }, hook.event_types.length ? hook.event_types.join(', ') : 'all'),
        h('dt', {}, 'Sources'),
        h('dd', { class: 'sources' }, hook.sources.length ? hook.sources.join(', ') : 'all'),
        h('dt', {}, 'Description'),
        h('dd', {}, hook.description || '\u2013'),
        h('dt', {}, 'Id'),
        h('dd', {}, hook.webhook_id),
      ),
      actions,
    );
    if (this.editing === hook.webhook_id) {
      article.append(this.editForm(hook));
    }
    return article;
  }

  editForm(hook) {
    const et = `edit-event-types-${hook.webhook_id}`;
    const src = `edit-sources-${hook.webhook_id}`;
    const etInput = h('input', { id: et, type: 'text', value: hook.event_types.join(', ') });
    const srcInput = h('input', { id: src, type: 'text', value: hook.sources.join(', ') });
    const form = h(
      'form',
      { class: 'edit-form', 'aria-label': `Edit the filters of ${hook.url}` },
      h('label', { for: et }, 'Event types (comma-separated, empty: all)'),
      etInput,
      h('label', { for: src }, 'Sources (comma-separated, empty: all)'),
      srcInput,
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit', dataset: { action: 'edit' } }, 'Save filters'),
        h('button', { type: 'button', dataset: { action: 'edit' }, onclick: () => this.edit(null) }, 'Cancel'),
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.guard(`Saving the filters of ${hook.url}`, () => this.saveFilters(hook, etInput, srcInput));
    });
    setTimeout(() => etInput.focus(), 0);
    return form;
  }

  async saveFilters(hook, etInput, srcInput) {
    const changes = { event_types: splitList(etInput.value), sources: splitList(srcInput.value) };
    const saved = await this.run(`Saving the filters of ${hook.url}`, () => this.api.patch(path(hook.webhook_id), changes));
    if (saved) {
      this.editing = null;
      this.replace(saved);
      this.say(`Filters of ${saved.url} saved.`);
    }
  }

  edit(id) {
    this.editing = id;
    this.render();
  }

  replace(hook) {
    this.items = this.items.map((w) => (w.webhook_id === hook.webhook_id ? hook : w));
    this.render();
  }

  async create() {
    const spec = {
      url: $('new-url').value.trim(),
      event_types: splitList($('new-event-types').value),
      sources: splitList($('new-sources').value),
      description: $('new-description').value.trim(),
    };
    const issued = await this.run('Creating the webhook', () => this.api.post('v1/webhooks', spec));
    if (!issued) return;
    for (const id of ['new-url', 'new-event-types', 'new-sources', 'new-description']) {
      $(id).value = '';
    }
    const { secret, ...hook } = issued;
    this.showSecret(secret, `Webhook ${hook.url} created (${hook.webhook_id}).`);
    this.items = [...this.items, hook];
    this.render();
    $('webhooks-note').textContent = `${this.items.length} webhook${this.items.length === 1 ? '' : 's'}.`;
    await this.success();
    this.say(`Webhook ${hook.url} created.`);
  }

  async setStatus(hook, status) {
    const saved = await this.run(`${status === 'active' ? 'Enabling' : 'Pausing'} ${hook.url}`, () =>
      this.api.patch(path(hook.webhook_id), { status }),
    );
    if (saved) {
      this.replace(saved);
      this.say(`${saved.url} is ${saved.status}.`);
    }
  }

  async rotate(hook) {
    const rotated = await this.run(`Rotating the secret of ${hook.url}`, () =>
      this.api.post(path(hook.webhook_id, '/rotate-secret'), {}),
    );
    if (!rotated) return;
    const until = rotated.previous_secret_expires_at
      ? ` The previous secret keeps signing until ${rotated.previous_secret_expires_at}.`
      : '';
    this.showSecret(rotated.secret, `New secret of ${hook.url}.${until}`);
    this.say(`Secret of ${hook.url} rotated.`);
  }

  async remove(hook) {
    if (!window.confirm(`Delete the webhook ${hook.url}? Its deliveries stop.`)) return;
    const done = await this.run(`Deleting ${hook.url}`, async () => {
      await this.api.delete(path(hook.webhook_id));
      return true;
    });
    if (!done) return;
    this.items = this.items.filter((w) => w.webhook_id !== hook.webhook_id);
    if (this.selected === hook.webhook_id) {
      this.selected = null;
      $('deliveries-panel').hidden = true;
    }
    this.render();
    $('webhooks-note').textContent = this.items.length ? `${this.items.length} webhooks.` : 'No webhooks yet.';
    await this.success();
    this.say(`Webhook ${hook.url} deleted.`);
  }

  async sendTest(hook) {
    const delivery = await this.run(`Sending a test to ${hook.url}`, () =>
      this.api.post(path(hook.webhook_id, '/test'), {}),
    );
    if (!delivery) return;
    this.say(`Test delivery ${delivery.delivery_id} queued for ${hook.url}.`);
    // Follow it until it has an outcome (the delivery worker sends it within a second or so).
    const started = Date.now();
    let outcome = null;
    for (let i = 0; i < TEST_POLLS; i += 1) {
      const list = await this.showDeliveries(hook.webhook_id);
      const mine = list && list.find((d) => d.delivery_id === delivery.delivery_id);
      if (!list) {
        outcome = 'unknown'; // the deliveries did not load: that error is shown
        break;
      }
      if (mine && mine.status !== 'pending') {
        outcome = mine.status;
        this.say(`Test delivery ${mine.delivery_id} ${mine.status}.`);
        break;
      }
      if (i + 1 < TEST_POLLS) await sleep(1000);
    }
    if (outcome === null) {
      const seconds = Math.round((Date.now() - started) / 1000);
      this.say(
        `Test delivery ${delivery.delivery_id} to ${hook.url} still pending after ${seconds} s; the page stopped following it (Refresh deliveries shows its outcome later).`,
      );
    }
    await this.success();
  }

  async showDeliveries(id) {
    if (!id) return null;
    const hook = this.items.find((w) => w.webhook_id === id);
    const body = await this.run(`Loading the deliveries of ${hook ? hook.url : id}`, () =>
      this.api.get(path(id, '/deliveries'), { limit: this.recent }),
    );
    if (!body) return null;
    this.selected = id;
    $('deliveries-panel').hidden = false;
    $('deliveries-title').textContent = `Recent deliveries of ${hook ? hook.url : id} (newest first)`;
    const rows = body.deliveries.map((d) =>
      h(
        'tr',
        { dataset: { deliveryId: d.delivery_id, kind: d.kind, status: d.status } },
        h('th', { scope: 'row' }, d.created_at),
        h('td', {}, d.kind),
        h('td', {}, d.event_type),
        h('td', {}, d.event_id || '\u2013'),
        h('td', {}, h('span', { class: `badge ${d.status}` }, d.status), d.failure_reason ? ` (${d.failure_reason})` : ''),
        h(
          'td',
          { class: 'attempt-cell' },
          d.attempts.length
            ? h(
                'ol',
                { class: 'attempts' },
                d.attempts.map((a) =>
                  h(
                    'li',
                    {},
                    `${a.attempted_at}: ${a.status_code === null ? 'no answer' : `HTTP ${a.status_code}`}, ${Math.round(a.latency_ms)} ms`,
                    a.error ? `, ${a.error}${a.error_detail ? ` (${a.error_detail})` : ''}` : '',
                  ),
                ),
              )
            : 'none yet',
          d.next_attempt_at ? ` next attempt ${d.next_attempt_at}` : '',
        ),
      ),
    );
    const tableEl = h(
      'table',
      { id: 'deliveries-table' },
      h('caption', {}, `The ${body.deliveries.length} most recent (at most ${this.recent})`),
      h('thead', {}, h('tr', {}, ['Created', 'Kind', 'Event type', 'Event id', 'Status', 'Attempts'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colSpan: 6 }, 'No deliveries yet.'))),
    );
    $('deliveries').replaceChildren(h('div', { class: 'table-wrap' }, tableEl));
    return body.deliveries;
  }

  showSecret(secret, context) {
    $('secret-context').textContent = context;
    $('secret-value').value = secret;
    $('secret-panel').hidden = false;
    $('secret-value').focus();
    $('secret-value').select();
  }

  hideSecret() {
    $('secret-value').value = '';
    $('secret-context').textContent = '';
    $('secret-panel').hidden = true;
    this.say('The secret is no longer shown.');
  }

  async copySecret() {
    try {
      await navigator.clipboard.writeText($('secret-value').value);
      this.say('Secret copied to the clipboard.');
    } catch (err) {
      $('secret-value').select();
      this.showError('Copying the secret', new Error(`the browser refused the clipboard (${err.message}); the secret is selected: copy it with the keyboard`));
    }
  }
}
