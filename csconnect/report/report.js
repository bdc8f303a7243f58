/* csconnect report: draws the dashboard from the JSON in #report-data with Plotly.
   Text from the database is only ever set with textContent, never parsed as HTML. */
(function () {
  'use strict';
  const D = JSON.parse(document.getElementById('report-data').textContent);
  const M = D.meta;
  const DEFS = D.definitions;
  const COLORS = {
    green: '#1a7f37', yellow: '#d4a72c', red: '#cf222e', line: '#24292f',
    mrr_new: '#1a7f37', mrr_expansion: '#7bc96f', mrr_reactivation: '#2f81f7',
    mrr_contraction: '#fb8f44', mrr_churn: '#cf222e',
  };
  const PALETTE = ['#0969da', '#bf3989', '#1a7f37', '#9a6700', '#8250df', '#57606a'];

  // ---- formatting (the same rules as `csconnect kpi`) ---------------------------------------
  const num = (v, digits) => v.toLocaleString('en-US', {minimumFractionDigits: digits, maximumFractionDigits: digits});
  function major(minor) { return minor == null ? null : minor / Math.pow(10, M.exponent); }
  function money(minor) {
    if (minor == null) return '—';
    const m = major(minor);
    const text = num(Math.abs(m), M.exponent);
    const sign = m < 0 ? '-' : '';
    return M.symbol ? sign + M.symbol + text : sign + text + ' ' + M.currency;
  }
  function duration(seconds) {
    const s = Math.round(seconds);
    const pad = (n) => String(n).padStart(2, '0');
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + pad(s % 60) + 's';
    if (s < 86400) return Math.floor(s / 3600) + 'h ' + pad(Math.floor(s % 3600 / 60)) + 'm';
    return Math.floor(s / 86400) + 'd ' + pad(Math.floor(s % 86400 / 3600)) + 'h';
  }
  function fmt(value, unit) {
    if (value == null || !isFinite(value)) return '—';
    switch (unit) {
      case 'currency': return money(value);
      case 'percent': return num(value * 100, 1) + '%';
      case 'count': return Number.isInteger(value) ? num(value, 0) : num(value, 1);
      case 'seconds': return duration(value);
      case 'score': return num(value, 1);
      default: return num(value, 2);
    }
  }
  function signed(v, digits) { return (v > 0 ? '+' : v < 0 ? '−' : '±') + num(Math.abs(v), digits); }
  function change(cur, prev, unit) {
    const d = cur - prev;
    const rel = prev ? ' (' + signed(100 * d / Math.abs(prev), 1) + '%)' : '';
    switch (unit) {
      case 'percent': return signed(d * 100, 1) + ' pts';
      case 'currency': return (d < 0 ? '−' : '+') + money(Math.abs(d)) + rel;
      case 'seconds': return (d < 0 ? '−' : '+') + duration(Math.abs(d));
      case 'score': return signed(d, 1);
      case 'count': return signed(d, Number.isInteger(d) ? 0 : 1) + rel;
      default: return signed(d, 2);
    }
  }
  function monthLabel(iso) {
    const d = new Date(iso.slice(0, 10) + 'T00:00:00Z');
    return d.toLocaleString('en-US', {month: 'short', year: 'numeric', timeZone: 'UTC'});
  }
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text != null) node.textContent = text;
    return node;
  }

  // ---- data for the selected segment (null = the whole company) ------------------------------
  function series(seg, metric) {
    const src = seg == null ? D.series.all : (D.series.segments[seg] || {});
    return src[metric] || [];
  }
  function title(metric) { return (DEFS[metric] && DEFS[metric].title) || metric; }
  function unit(metric) { return (DEFS[metric] && DEFS[metric].unit) || ''; }
  function segName(seg) { return seg == null ? 'all segments' : 'segment ' + seg; }

  // ---- sections --------------------------------------------------------------------------
  function section(id) { return document.querySelector('section[data-section="' + id + '"]'); }
  function setState(id, has, seg) {
    const sec = section(id);
    const spec = D.sections.find((s) => s.id === id);
    sec.setAttribute('data-has-data', has ? '1' : '0');
    const empty = sec.querySelector('.empty');
    empty.hidden = has;
    if (!has) {
      const anywhere = seg != null && hasAnywhere(id);
      empty.textContent = anywhere ? 'no data for ' + segName(seg) + ' (choose All to see the whole company)'
                                   : spec.empty;
    }
    sec.querySelectorAll('.body').forEach((b) => { b.hidden = !has; });
  }
  function hasAnywhere(id) {
    const spec = D.sections.find((s) => s.id === id);
    if (spec.metrics.length) return spec.metrics.some((m) => (D.series.all[m] || []).length);
    return (D[id] || []).length > 0;
  }

  function renderTiles(seg) {
    const box = document.getElementById('tiles');
    box.replaceChildren();
    let shown = 0;
    for (const t of D.tiles) {
      const s = series(seg, t.metric);
      if (!s.length) continue;
      shown += 1;
      const last = s[s.length - 1];
      const prev = s.length > 1 ? s[s.length - 2] : null;
      const u = unit(t.metric);
      const tile = el('div', {'class': 'tile', 'data-metric': t.metric, 'title': title(t.metric)});
      tile.append(el('div', {'class': 'label'}, t.label));
      tile.append(el('div', {'class': 'value', 'data-value': String(last[1])}, fmt(last[1], u)));
      const toDate = last[2] && last[2] < monthEnd(last[0]);
      let note = monthLabel(last[0]) + (toDate ? ' (to ' + last[2] + ')' : '');
      const ch = el('div', {'class': 'change flat'});
      if (prev && last[1] != null && prev[1] != null) {
        const d = last[1] - prev[1];
        const dir = DEFS[t.metric] && DEFS[t.metric].direction;
        const cls = (d === 0 || !(dir === 'up' || dir === 'down')) ? 'flat' : ((d > 0) === (dir === 'up') ? 'good' : 'bad');
        ch.className = 'change ' + cls;
        ch.textContent = change(last[1], prev[1], u);
        note += ' vs ' + monthLabel(prev[0]);
      } else {
        ch.textContent = 'no previous month';
      }
      tile.append(ch, el('div', {'class': 'period'}, note));
      box.append(tile);
    }
    return shown > 0;
  }
  function monthEnd(iso) {
    const d = new Date(iso.slice(0, 10) + 'T00:00:00Z');
    const end = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0));
    return end.toISOString().slice(0, 10);
  }

  // ---- charts ------------------------------------------------------------------------------
  const plots = [];
  function layout(extra) {
    return Object.assign({
      height: 300, margin: {l: 64, r: 24, t: 36, b: 40}, paper_bgcolor: '#ffffff', plot_bgcolor: '#ffffff',
      font: {family: 'system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif', size: 12},
      legend: {orientation: 'h', x: 0, y: -0.18}, hovermode: 'x unified',
      xaxis: {type: 'date', tickformat: '%b %Y', gridcolor: '#eaeef2'},
      yaxis: {gridcolor: '#eaeef2', zerolinecolor: '#afb8c1'},
    }, extra);
  }
  function line(metric, seg, opts) {
    const s = series(seg, metric);
    const scale = (opts && opts.scale) || ((v) => v);
    return Object.assign({
      type: 'scatter', mode: 'lines+markers', name: title(metric), x: s.map((p) => p[0]),
      y: s.map((p) => (p[1] == null ? null : scale(p[1]))), line: {width: 2}, marker: {size: 5},
    }, opts && opts.trace);
  }
  function bar(metric, seg, color, scale) {
    const s = series(seg, metric);
    const f = scale || ((v) => v);
    return {type: 'bar', name: title(metric), x: s.map((p) => p[0]), y: s.map((p) => (p[1] == null ? null : f(p[1]))),
            marker: {color: color}};
  }
  function draw(id, traces, lay) {
    const div = document.getElementById(id);
    const has = traces.some((t) => t.x.length && t.y.some((v) => v != null));
    const empty = div.nextElementSibling;
    if (!has) {
      Plotly.purge(div);
      div.hidden = true;
      if (empty) { empty.hidden = false; }
      return false;
    }
    div.hidden = false;
    if (empty) { empty.hidden = true; }
    plots.push(Plotly.react(div, traces, layout(lay), {displaylogo: false, responsive: true,
      modeBarButtonsToRemove: ['select2d', 'lasso2d', 'autoScale2d']}));
    return true;
  }
  const pct = (v) => v * 100;
  const hours = (v) => v / 3600;

  function renderMrr(seg) {
    const traces = D.movements.map((m) => {
      const negative = m === 'mrr_contraction' || m === 'mrr_churn';
      return bar(m, seg, COLORS[m], (v) => major(negative ? -v : v));
    });
    traces.push(line('mrr', seg, {scale: major, trace: {yaxis: 'y2', line: {color: COLORS.line, width: 3}}}));
    const tick = M.symbol ? {tickprefix: M.symbol} : {ticksuffix: ' ' + M.currency};
    return draw('chart-mrr', traces, {barmode: 'relative', height: 380, title: {text: 'Movements (bars) and MRR (line)', font: {size: 13}, x: 0.01, xanchor: 'left'},
      yaxis: Object.assign({title: {text: 'movement'}, gridcolor: '#eaeef2', zerolinecolor: '#57606a'}, tick),
      yaxis2: Object.assign({title: {text: 'MRR'}, overlaying: 'y', side: 'right', tickmode: 'auto', rangemode: 'tozero', showgrid: false}, tick),
      margin: {l: 80, r: 80, t: 36, b: 40}});
  }
  function renderRetention(seg) {
    const a = draw('chart-churn', ['customer_churn_rate', 'gross_mrr_churn_rate', 'net_mrr_churn_rate'].map(
      (m, i) => line(m, seg, {scale: pct, trace: {line: {color: PALETTE[i], width: 2}}})),
      {title: {text: 'Churn rates (monthly)', font: {size: 13}, x: 0.01, xanchor: 'left'}, yaxis: {ticksuffix: '%', gridcolor: '#eaeef2'}});
    const b = draw('chart-nrr', ['nrr', 'grr'].map((m, i) => line(m, seg, {scale: pct, trace: {line: {color: PALETTE[i + 2], width: 2}}})),
      {title: {text: 'NRR and GRR (12 months)', font: {size: 13}, x: 0.01, xanchor: 'left'}, yaxis: {ticksuffix: '%', gridcolor: '#eaeef2'}});
    return a || b;
  }
  function renderSatisfaction(seg) {
    const nps = line('nps', seg, {trace: {line: {color: PALETTE[0], width: 2}}});
    const ci = seg == null ? D.nps_interval.all : (D.nps_interval.segments[seg] || []);
    if (ci.length) {
      const byPeriod = new Map(ci.map((r) => [r[0], r]));
      const up = [], down = [], text = [];
      nps.x.forEach((x, i) => {
        const r = byPeriod.get(x); const y = nps.y[i];
        up.push(r && r[3] != null && y != null ? r[3] - y : null);
        down.push(r && r[2] != null && y != null ? y - r[2] : null);
        text.push(r ? 'n = ' + r[1] + (r[4] ? ' (small sample)' : '') : '');
      });
      nps.error_y = {type: 'data', symmetric: false, array: up, arrayminus: down, color: '#8c959f', thickness: 1};
      nps.text = text;
      nps.hovertemplate = '%{y:.1f} %{text}';
    }
    const a = draw('chart-nps', [nps], {title: {text: 'NPS (bars: 95% interval)', font: {size: 13}, x: 0.01, xanchor: 'left'},
      yaxis: {range: [-100, 100], gridcolor: '#eaeef2', zerolinecolor: '#57606a'}});
    const b = draw('chart-csat', [line('csat', seg, {scale: pct, trace: {line: {color: PALETTE[1], width: 2}}})],
      {title: {text: 'CSAT', font: {size: 13}, x: 0.01, xanchor: 'left'}, yaxis: {ticksuffix: '%', rangemode: 'tozero', gridcolor: '#eaeef2'}});
    const c = draw('chart-ces', [line('ces', seg, {trace: {line: {color: PALETTE[2], width: 2}}})],
      {title: {text: 'CES (mean score)', font: {size: 13}, x: 0.01, xanchor: 'left'}, yaxis: {rangemode: 'tozero', gridcolor: '#eaeef2'}});
    return a || b || c;
  }
  function renderSupport(seg) {
    const metrics = ['first_reply_seconds_median', 'first_reply_seconds_p90', 'resolution_seconds_median',
                     'resolution_seconds_p90'];
    const a = draw('chart-times', metrics.map((m, i) => line(m, seg, {scale: hours,
      trace: {line: {color: PALETTE[i >> 1], width: 2, dash: i % 2 ? 'dot' : 'solid'},
              hovertemplate: '%{y:.1f} h'}})),
      {title: {text: 'Ticket times (hours)', font: {size: 13}, x: 0.01, xanchor: 'left'}, yaxis: {ticksuffix: ' h', rangemode: 'tozero', gridcolor: '#eaeef2'}});
    const b = draw('chart-fcr', [line('first_contact_resolution_rate', seg, {scale: pct, trace: {line: {color: PALETTE[2], width: 2}}})],
      {title: {text: 'First-contact resolution', font: {size: 13}, x: 0.01, xanchor: 'left'}, yaxis: {ticksuffix: '%', rangemode: 'tozero', gridcolor: '#eaeef2'}});
    return a || b;
  }
  function renderUsage(seg) {
    const a = draw('chart-stickiness', ['dau_mau', 'seat_utilisation'].map((m, i) => line(m, seg, {scale: pct,
      trace: {line: {color: PALETTE[i], width: 2}}})),
      {title: {text: 'DAU/MAU and seat utilisation', font: {size: 13}, x: 0.01, xanchor: 'left'}, yaxis: {ticksuffix: '%', rangemode: 'tozero', gridcolor: '#eaeef2'}});
    const b = draw('chart-users', ['dau', 'mau'].map((m, i) => line(m, seg, {trace: {line: {color: PALETTE[i + 3], width: 2}}})),
      {title: {text: 'Active users', font: {size: 13}, x: 0.01, xanchor: 'left'}, yaxis: {rangemode: 'tozero', gridcolor: '#eaeef2'}});
    return a || b;
  }
  function renderHealth(seg) {
    const bands = ['accounts_green', 'accounts_yellow', 'accounts_red'].map((m) => bar(m, seg, COLORS[m.slice(9)]));
    bands.push(line('health_score_mean', seg, {trace: {yaxis: 'y2', line: {color: COLORS.line, width: 3}}}));
    return draw('chart-health', bands, {barmode: 'stack', height: 360,
      title: {text: 'Accounts per band (bars) and mean health score (line)', font: {size: 13}, x: 0.01, xanchor: 'left'},
      yaxis: {title: {text: 'accounts'}, gridcolor: '#eaeef2'},
      yaxis2: {title: {text: 'mean score'}, overlaying: 'y', side: 'right', tickmode: 'auto', range: [0, 100], showgrid: false},
      margin: {l: 64, r: 64, t: 36, b: 40}});
  }

  // ---- tables --------------------------------------------------------------------------------
  function pill(text, cls) { return el('span', {'class': 'pill ' + cls}, text); }
  function table(id, head, rows, build) {
    const tbl = document.getElementById(id);
    const thead = el('thead'); const tr = el('tr');
    head.forEach((h) => tr.append(el('th', {}, h)));
    thead.append(tr);
    const tbody = el('tbody');
    rows.forEach((r) => tbody.append(build(r)));
    tbl.replaceChildren(thead, tbody);
    return rows.length > 0;
  }
  function cell(text, cls) { return el('td', cls ? {'class': cls} : {}, text); }
  const inSeg = (seg) => (r) => seg == null || r.segment === seg;

  function renderAtRisk(seg) {
    const rows = D.at_risk.filter(inSeg(seg));
    return table('table-at-risk', ['Account', 'Segment', 'Score', 'Band', 'Trend (30 days)', 'MRR', 'Drivers'], rows, (r) => {
      const tr = el('tr', {'data-account': r.account_id || ''});
      tr.append(cell(r.name, 'name'), cell(r.segment), cell(fmt(r.score, 'score'), 'num'));
      const band = el('td'); band.append(pill(r.band, r.band)); tr.append(band);
      const trend = r.trend == null ? '—' : signed(r.trend, 1) + ' pts';
      tr.append(cell(trend, 'num ' + (r.trend > 0 ? 'good' : r.trend < 0 ? 'bad' : 'flat')));
      tr.append(cell(r.mrr == null ? '—' : money(r.mrr), 'num'));
      const td = el('td'); const ul = el('ul', {'class': 'drivers'});
      r.drivers.forEach((d) => ul.append(el('li', {}, d)));
      if (r.missing.length) ul.append(el('li', {'class': 'muted'}, 'no data for: ' + r.missing.join(', ') + ' (weight re-distributed)'));
      td.append(ul); tr.append(td);
      return tr;
    });
  }
  function renderRenewals(seg) {
    const rows = D.renewals.filter(inSeg(seg));
    return table('table-renewals', ['Term end', 'Days', 'Account', 'Segment', 'Kind', 'Plan / stage', 'MRR', 'Deal amount', 'Health', 'Note'], rows, (r) => {
      const tr = el('tr');
      tr.append(cell(r.term_end, 'nowrap'), cell(r.days == null ? '—' : num(r.days, 0), 'num'), cell(r.name, 'name'),
        cell(r.segment), cell(r.kind), cell(r.plan || r.status || '—'), cell(r.mrr == null ? '—' : money(r.mrr), 'num'),
        cell(r.deal_amount == null ? '—' : money(r.deal_amount), 'num'));
      const h = el('td'); if (r.band) h.append(pill(r.band, r.band)); else h.textContent = '—';
      tr.append(h, cell(r.cancel ? 'cancels at term end' : '', r.cancel ? 'bad' : ''));
      return tr;
    });
  }
  const STATUS = {on_track: ['on track', 'green'], at_risk: ['at risk', 'yellow'], off_track: ['off track', 'red']};
  function renderScorecard(seg) {
    const rows = D.scorecard.filter((r) => (seg == null ? r.segment_by === 'all' : r.segment_by === 'segment' && r.segment === seg));
    return table('table-scorecard', ['KPI', 'Period', 'Value', 'Target', 'Status', 'Recent periods'], rows, (r) => {
      const tr = el('tr', {'data-metric': r.metric});
      const u = unit(r.metric);
      const op = r.operator || (r.direction === 'down' ? '<=' : '>=');
      const cmp = ({'>=': '≥ ', '<=': '≤ ', '>': '> ', '<': '< '})[op] || op + ' ';
      const st = STATUS[r.status] || [r.status, 'flat'];
      tr.append(cell(title(r.metric), 'name'), cell((r.grain === 'month' ? monthLabel(r.period_start) : r.period_start) + (r.grain === 'month' ? '' : ' (' + r.grain + ')')),
        cell(fmt(r.value, u), 'num'), cell(cmp + fmt(r.target, u), 'num'));
      const s = el('td'); s.append(pill(st[0], st[1])); tr.append(s);
      const h = el('td');
      r.history.forEach((p) => { const x = STATUS[p[1]] || [p[1], 'flat']; const d = pill('', 'dot ' + x[1]); d.title = p[0] + ': ' + x[0]; h.append(d); });
      tr.append(h);
      return tr;
    });
  }
  function renderAlerts(seg) {
    const rows = D.alerts.filter((r) => seg == null || (r.account_id && r.segment === seg));
    return table('table-alerts', ['First seen', 'Severity', 'Rule', 'Account', 'Segment', 'Message'], rows, (r) => {
      const tr = el('tr');
      const sev = el('td'); sev.append(pill(r.severity, r.severity === 'critical' ? 'red' : r.severity === 'info' ? 'flat' : 'yellow'));
      tr.append(cell(String(r.first_seen || '').slice(0, 16).replace('T', ' '), 'nowrap'), sev, cell(r.rule),
        cell(r.account_id ? r.name : '(company)', 'name'), cell(r.account_id ? r.segment : '—'), cell(r.message));
      return tr;
    });
  }

  const RENDER = {kpis: renderTiles, mrr: renderMrr, retention: renderRetention, satisfaction: renderSatisfaction,
                  support: renderSupport, usage: renderUsage, health: renderHealth, at_risk: renderAtRisk,
                  renewals: renderRenewals, scorecard: renderScorecard, alerts: renderAlerts};

  async function render(seg) {
    plots.length = 0;
    for (const s of D.sections) setState(s.id, RENDER[s.id](seg), seg);
    document.getElementById('segment-note').textContent = seg == null ? '' : 'Showing ' + segName(seg) + '.';
    await Promise.all(plots);
    document.body.setAttribute('data-segment', seg == null ? '' : seg);
  }

  function initialSegment() {
    const m = /[#&]segment=([^&]*)/.exec(window.location.hash || '');
    const wanted = m ? decodeURIComponent(m[1]) : M.segment;
    return D.segments.includes(wanted) ? wanted : null;
  }

  async function main() {
    const body = document.body;
    try {
      const select = document.getElementById('segment');
      D.segments.forEach((s) => select.append(el('option', {value: s}, s)));
      const seg = initialSegment();
      select.value = seg == null ? '' : seg;
      select.addEventListener('change', () => {
        const chosen = select.value === '' ? null : select.value;
        try { history.replaceState(null, '', chosen == null ? '#' : '#segment=' + encodeURIComponent(chosen)); } catch (e) { /* file: URLs may refuse */ }
        render(chosen).catch((e) => console.error('render failed: ' + e));
      });
      if (typeof Plotly === 'undefined') throw new Error('the charting library did not load');
      await render(seg);
      body.setAttribute('data-render', 'done');
    } catch (e) {
      body.setAttribute('data-render', 'failed');
      console.error('render failed: ' + (e && e.stack || e));
    } finally {
      window.__reportSettled = true;
      body.setAttribute('data-errors', String(window.__reportErrors.length));
    }
  }
  main();
})();
