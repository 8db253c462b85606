// The job panel's tabs: the transcript, and beside it each enrichment of the job (clean-up,
// summary, notes, translations) with its status, its live progress from the job's event
// stream, its result rendered once completed and download links for its formats.
// Loaded after markdown.js and before app.js, which uses it through window.enrichmentTabs.
'use strict';

// Its own scope: classic scripts share one global one.
(() => {
  const byId = (id) => document.getElementById(id);

  const TERMINAL_ENRICHMENT = ['completed', 'failed', 'canceled'];
  const KIND_LABEL = {
    clean: 'Clean',
    summary: 'Summary',
    notes: 'Notes',
    translate: 'Translation',
  };

  /** The open job's tabs: `jobId`, its enrichments by key, and the tab shown. */
  let tabs = { jobId: null, byKey: new Map(), active: 'transcript' };
  /** Set by app.js: an authenticated fetch that throws the API's error. */
  let enrichmentApi = null;

  function tabLabel(e) {
    const kind = KIND_LABEL[e.kind] || e.kind;
    return e.kind === 'translate' && e.targetLanguage ? `${kind} (${e.targetLanguage})` : kind;
  }

  function statusText(e) {
    if (e.status === 'processing') {
      const pieces = e.piecesTotal ? ` (${e.piecesDone}/${e.piecesTotal} pieces)` : '';
      const eta = e.etaS !== undefined ? `, about ${Math.ceil(e.etaS)} s left` : '';
      return `processing ${Math.round(e.progress)}%${pieces}${eta}`;
    }
    if (e.status === 'failed' && e.error) return `failed: ${e.error.code}: ${e.error.message}`;
    if (e.status === 'completed') {
      const by = e.model ? ` by ${e.model}` : '';
      const took = e.processingMs ? ` in ${(e.processingMs / 1000).toFixed(1)} s` : '';
      return `completed${by}${took}`;
    }
    return e.status;
  }

  function badgeText(e) {
    if (e.status === 'processing') return `${Math.round(e.progress)}%`;
    if (e.status === 'completed') return '';
    return e.status;
  }

  /** An element id for a key (`translate:de` → `panel-translate-de`). */
  const panelId = (key) => `panel-${key.replace(/[^a-z0-9-]/gi, '-')}`;

  /** Shows one tab's panel and hides the others. */
  function selectTab(key) {
    tabs.active = key;
    for (const tab of document.querySelectorAll('#tabs [role=tab]')) {
      const selected = tab.dataset.key === key;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
    }
    for (const panel of document.querySelectorAll('[data-panel]')) {
      panel.hidden = panel.dataset.panel !== key;
    }
  }

  function makeEntry(e) {
    const tab = document.createElement('button');
    tab.type = 'button';
    tab.setAttribute('role', 'tab');
    tab.dataset.key = e.key;
    tab.setAttribute('aria-controls', panelId(e.key));
    const name = document.createElement('span');
    const badge = document.createElement('span');
    badge.className = 'badge';
    tab.append(name, ' ', badge);
    tab.onclick = () => selectTab(e.key);

    const panel = document.createElement('div');
    panel.className = 'enrichment';
    panel.setAttribute('role', 'tabpanel');
    panel.dataset.panel = e.key;
    panel.id = panelId(e.key);
    panel.dataset.key = e.key;
    panel.hidden = tabs.active !== e.key;
    const bar = document.createElement('progress');
    bar.max = 100;
    const status = document.createElement('p');
    status.className = 'status';
    status.setAttribute('aria-live', 'polite');
    const downloads = document.createElement('p');
    downloads.className = 'downloads';
    downloads.hidden = true;
    const rendered = document.createElement('article');
    rendered.className = 'rendered';
    panel.append(bar, status, downloads, rendered);

    byId('tabs').append(tab);
    byId('enrichments').append(panel);
    return { data: e, tab, name, badge, panel, bar, status, downloads, rendered, shown: false };
  }

  /** Redraws one enrichment's tab and panel from its state; loads its result once completed. */
  function drawEntry(entry) {
    const e = entry.data;
    entry.name.textContent = tabLabel(e);
    entry.badge.textContent = badgeText(e);
    entry.tab.dataset.status = e.status;
    entry.bar.value = e.status === 'completed' ? 100 : e.progress;
    entry.bar.hidden = TERMINAL_ENRICHMENT.includes(e.status);
    entry.status.textContent = statusText(e);
    if (e.status === 'completed') {
      drawDownloads(entry);
      if (!entry.shown) {
        entry.shown = true;
        void showEnrichmentResult(entry);
      }
    }
  }

  async function showEnrichmentResult(entry) {
    const { jobId } = tabs;
    try {
      const res = await enrichmentApi(`${enrichmentPath(jobId, entry.data.key)}?format=md`);
      const markdown = await res.text();
      if (tabs.jobId !== jobId) return;
      entry.rendered.replaceChildren(window.renderMarkdown(markdown));
    } catch (error) {
      entry.shown = false;
      entry.status.textContent = `completed; the result could not be loaded: ${error.message}`;
    }
  }

  /** Download links for the formats the API lists (md until the job view has been read). */
  function drawDownloads(entry) {
    const { jobId } = tabs;
    const e = entry.data;
    const formats = e.formats && e.formats.length ? e.formats : ['md'];
    if (entry.downloadsFor === formats.join()) return;
    entry.downloadsFor = formats.join();
    entry.downloads.replaceChildren('Download: ');
    for (const format of formats) {
      const link = document.createElement('a');
      link.href = '#';
      link.textContent = format;
      link.dataset.format = format;
      link.onclick = async (click) => {
        click.preventDefault();
        const res = await enrichmentApi(`${enrichmentPath(jobId, e.key)}?format=${format}`);
        const a = document.createElement('a');
        a.href = URL.createObjectURL(await res.blob());
        a.download = `${jobId}.${e.key.replace(':', '-')}.${format}`;
        a.click();
        URL.revokeObjectURL(a.href);
      };
      entry.downloads.append(link, ' ');
    }
    entry.downloads.hidden = false;
  }

  function enrichmentPath(jobId, key) {
    return `/v1/jobs/${jobId}/enrichments/${encodeURIComponent(key).replace('%3A', ':')}`;
  }

  /** A job opened (or reloaded): its enrichments as the API shows them. */
  function setEnrichments(jobId, list) {
    if (tabs.jobId !== jobId) {
      tabs = { jobId, byKey: new Map(), active: 'transcript' };
      byId('tabs').replaceChildren();
      byId('enrichments').replaceChildren();
      const transcript = document.createElement('button');
      transcript.type = 'button';
      transcript.setAttribute('role', 'tab');
      transcript.dataset.key = 'transcript';
      transcript.setAttribute('aria-controls', 'panel-transcript');
      transcript.textContent = 'Transcript';
      transcript.onclick = () => selectTab('transcript');
      byId('tabs').append(transcript);
    }
    for (const e of list || []) {
      const known = tabs.byKey.get(e.key);
      const entry = known || makeEntry(e);
      // A result already shown stays; a fresher view (formats, error, usage) replaces the state.
      entry.data = { ...entry.data, ...e, etaS: undefined };
      tabs.byKey.set(e.key, entry);
      drawEntry(entry);
    }
    byId('tabs').hidden = tabs.byKey.size === 0;
    selectTab(tabs.active);
  }

  /**
   * An `enrichment.*` event of the open job, live or replayed. Returns true when the job's
   * view should be re-read (a new enrichment, or one that finished: formats, error, usage).
   */
  function applyEnrichmentEvent(jobId, event, etaS) {
    if (tabs.jobId !== jobId) return false;
    const { key, kind } = event.enrichment;
    let entry = tabs.byKey.get(key);
    if (!entry) {
      const targetLanguage = kind === 'translate' ? key.slice('translate:'.length) : null;
      setEnrichments(jobId, [
        {
          key,
          kind,
          targetLanguage,
          status: 'queued',
          progress: 0,
          piecesDone: 0,
          piecesTotal: null,
        },
      ]);
      entry = tabs.byKey.get(key);
    }
    const e = entry.data;
    const status = event.type.slice('enrichment.'.length);
    // A job opened from the list replays its stream from the start over the state the API
    // gave: an old event must not take a finished enrichment back (only a canceled one
    // comes back, queued again when its job is retried).
    const finished = e.status === 'completed' || e.status === 'failed';
    if (finished && !TERMINAL_ENRICHMENT.includes(status)) return false;
    if (status === 'progress') {
      Object.assign(e, {
        status: 'processing',
        progress: event.progress,
        piecesDone: event.piecesDone,
        piecesTotal: event.piecesTotal,
        etaS,
      });
    } else {
      e.status = status;
      e.etaS = undefined;
      if (status === 'processing' || status === 'queued') e.progress = 0;
      if (status === 'failed') e.error = event.error;
      if (status === 'completed')
        Object.assign(e, { model: event.model, processingMs: event.processingMs });
    }
    drawEntry(entry);
    return status !== 'progress' && status !== 'processing';
  }

  /** Whether every enrichment of the open job has finished (or it has none). */
  function enrichmentsSettled() {
    return [...tabs.byKey.values()].every((entry) =>
      TERMINAL_ENRICHMENT.includes(entry.data.status),
    );
  }

  // The tab list's keys, as WAI-ARIA describes: arrows move between tabs, Home/End to the ends.
  byId('tabs').addEventListener('keydown', (event) => {
    const all = [...byId('tabs').querySelectorAll('[role=tab]')];
    const at = all.findIndex((t) => t.dataset.key === tabs.active);
    const to = {
      ArrowRight: (at + 1) % all.length,
      ArrowLeft: (at - 1 + all.length) % all.length,
      Home: 0,
      End: all.length - 1,
    }[event.key];
    if (to === undefined || !all[to]) return;
    event.preventDefault();
    selectTab(all[to].dataset.key);
    all[to].focus();
  });

  window.enrichmentTabs = {
    use(api) {
      enrichmentApi = api;
    },
    set: setEnrichments,
    apply: applyEnrichmentEvent,
    settled: enrichmentsSettled,
  };
})();
