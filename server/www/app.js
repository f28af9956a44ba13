/* Sluice dashboard: polls the JSON API every 2 s and draws SVG charts by
 * hand (no library, no network beyond this server).  Every string from
 * the server goes in through textContent, never as markup. */
'use strict';

const POLL_MS = 2000;
const SVGNS = 'http://www.w3.org/2000/svg';

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}

function bits(v) {
  const u = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s'];
  let i = 0;
  while (v >= 1000 && i < u.length - 1) { v /= 1000; i++; }
  return v.toFixed(v < 10 && i ? 2 : 0) + ' ' + u[i];
}

function bytes(v) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return v.toFixed(i ? 1 : 0) + ' ' + u[i];
}

function dur(s) {
  s = Math.floor(s);
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
  return (h ? h + 'h ' : '') + (h || m ? m + 'm ' : '') + (s % 60) + 's';
}

/* A line chart of one or more series over the times t (Unix seconds).
 * The SVG carries data-points (samples drawn) for tests and tools. */
function chart(box, t, series, fmt) {
  const W = 600, H = 120, L = 56, B = 16;
  const svg = document.createElementNS(SVGNS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('class', 'chart');
  let max = 1;
  for (const s of series) for (const v of s.values) max = Math.max(max, v);
  max *= 1.1;
  const t0 = t.length ? t[0] : 0, t1 = t.length ? t[t.length - 1] : 1;
  const span = Math.max(t1 - t0, 1);
  const x = (ti) => L + (W - L - 4) * (ti - t0) / span;
  const y = (v) => (H - B) - (H - B - 6) * v / max;
  for (let g = 0; g <= 2; g++) {
    const gy = y(max / 1.1 * g / 2);
    const line = document.createElementNS(SVGNS, 'line');
    line.setAttribute('class', 'grid');
    line.setAttribute('x1', L); line.setAttribute('x2', W);
    line.setAttribute('y1', gy); line.setAttribute('y2', gy);
    svg.appendChild(line);
    const lab = document.createElementNS(SVGNS, 'text');
    lab.setAttribute('x', 2); lab.setAttribute('y', gy + 3);
    lab.textContent = fmt(max / 1.1 * g / 2);
    svg.appendChild(lab);
  }
  const cap = document.createElementNS(SVGNS, 'text');
  cap.setAttribute('x', L); cap.setAttribute('y', H - 3);
  cap.textContent = t.length ? `last ${dur(span)}` : 'waiting for samples';
  svg.appendChild(cap);
  let points = 0;
  for (const s of series) {
    const pl = document.createElementNS(SVGNS, 'polyline');
    const pts = [];
    for (let i = 0; i < s.values.length && i < t.length; i++)
      pts.push(x(t[i]).toFixed(1) + ',' + y(s.values[i]).toFixed(1));
    pl.setAttribute('points', pts.join(' '));
    pl.setAttribute('stroke', s.color);
    pl.setAttribute('data-points', pts.length);
    pl.setAttribute('data-series', s.name);
    points += pts.length;
    svg.appendChild(pl);
  }
  svg.setAttribute('data-points', points);
  box.replaceChildren(svg);
}

function tile(label, value) {
  const d = el('div', {class: 'tile'});
  d.appendChild(el('b', {}, value));
  d.appendChild(el('span', {}, label));
  return d;
}

function table(head, rows) {
  const t = el('table');
  const tr = el('tr');
  for (const h of head) tr.appendChild(el('th', {}, h));
  t.appendChild(tr);
  for (const r of rows) {
    const row = el('tr');
    for (const c of r) row.appendChild(el('td', {}, String(c)));
    t.appendChild(row);
  }
  return t;
}

function fact(label, value) {
  const s = el('span', {}, label + ' ');
  s.appendChild(el('b', {}, value));
  return s;
}

/* "rtmp 1 · http-flv 0" from a players_by_protocol object. */
function byProto(o) {
  return Object.keys(o || {}).map((k) => k + ' ' + o[k]).join(' \u00b7 ');
}

function drawServer(s, h) {
  document.getElementById('version').textContent = 'v' + s.version;
  const tiles = document.getElementById('tiles');
  tiles.replaceChildren(
    tile('uptime', dur(s.uptime_s)),
    tile('publishers', String(s.connections.publishers)),
    tile('players', String(s.connections.players)),
    tile('players by protocol', byProto(s.players_by_protocol)),
    tile('relays', String(s.connections.relays)),
    tile('in (5 s)', bits(s.bitrate.in)),
    tile('out (5 s)', bits(s.bitrate.out)),
    tile('CPU', s.process.cpu_percent.toFixed(1) + ' %'),
    tile('memory', bytes(s.process.rss_bytes)));
  chart(document.getElementById('chart-bw'), h.t, [
    {name: 'in', values: h.bitrate_in, color: '#1f77b4'},
    {name: 'out', values: h.bitrate_out, color: '#e4572e'}], bits);
  chart(document.getElementById('chart-cpu'), h.t,
        [{name: 'cpu', values: h.cpu_percent, color: '#2ca02c'}],
        (v) => v.toFixed(0) + '%');
  chart(document.getElementById('chart-rss'), h.t,
        [{name: 'rss', values: h.rss_bytes, color: '#9467bd'}], bytes);
  document.getElementById('workers').replaceChildren(
    table(['worker', 'tasks run', 'steals', 'injected', 'parks'],
          s.workers.map((w) => [w.id, w.tasks_run, w.steals, w.injected,
                                w.parks])));
}

function drawStreams(list, h) {
  const box = document.getElementById('streams');
  document.getElementById('nstreams').textContent = '(' + list.length + ')';
  if (!list.length) {
    box.replaceChildren(el('p', {class: 'empty'}, 'No live stream.'));
    return;
  }
  const hist = {};
  for (const s of h.streams) hist[s.app + '/' + s.name] = s;
  const cards = [];
  for (const s of list) {
    const id = s.app + '/' + s.name;
    const card = el('div', {class: 'stream', 'data-stream': id});
    card.appendChild(el('h3', {}, id));
    const f = el('div', {class: 'facts'});
    f.appendChild(fact('publisher', s.publisher.address));
    if (s.publisher.client) f.appendChild(fact('client', s.publisher.client));
    if (s.video)
      f.appendChild(fact('video', `${s.video.codec} ${s.video.width}x` +
                                  `${s.video.height} @ ${s.video.fps} fps`));
    if (s.audio)
      f.appendChild(fact('audio', `${s.audio.codec} ${s.audio.sample_rate} Hz`));
    f.appendChild(fact('bit rate', bits(s.bitrate)));
    f.appendChild(fact('uptime', dur(s.uptime_s)));
    f.appendChild(fact('players', s.players ?
      `${s.players} (${byProto(s.players_by_protocol)})` : '0'));
    card.appendChild(f);
    const fig = el('figure');
    fig.appendChild(el('figcaption', {}, 'Input bit rate'));
    const cbox = el('div', {class: 'chart-box', 'data-chart': id});
    fig.appendChild(cbox);
    card.appendChild(fig);
    const hs = hist[id] || {t: [], bitrate: []};
    chart(cbox, hs.t, [{name: 'bitrate', values: hs.bitrate,
                        color: '#1f77b4'}], bits);
    if (s.player_list && s.player_list.length)
      card.appendChild(table(['player', 'address', 'protocol', 'sent', 'lag',
                              'skips', 'dropped frames', 'for'],
        s.player_list.map((p) => [p.id, p.address, p.protocol,
                                  bytes(p.bytes_sent), p.lag_ms + ' ms',
                                  p.skips, p.dropped_frames,
                                  dur(p.uptime_s)])));
    if (s.renditions.length)
      card.appendChild(table(['rendition', 'size', 'fps', 'speed', 'dropped'],
        s.renditions.map((r) => [r.name, r.width + 'x' + r.height, r.fps,
                                 r.speed + 'x', r.dropped_frames])));
    if (s.relays.length)
      card.appendChild(table(['relay', 'state', 'target', 'reconnects',
                              'sent'],
        s.relays.map((r) => [r.name, r.state, r.url, r.reconnects,
                             bytes(r.bytes_sent)])));
    cards.push(card);
  }
  box.replaceChildren(...cards);
}

async function getJSON(path) {
  const r = await fetch(path, {cache: 'no-store'});
  if (!r.ok) throw new Error(path + ': ' + r.status);
  return r.json();
}

async function poll() {
  const st = document.getElementById('status');
  try {
    const [s, list, h] = await Promise.all([
      getJSON('api/v1/server'), getJSON('api/v1/streams?players=1'),
      getJSON('api/v1/history')]);
    drawServer(s, h);
    drawStreams(list.streams, h);
    st.textContent = 'updated ' + new Date().toLocaleTimeString();
    st.className = 'status';
    document.body.setAttribute('data-ready', '1');
  } catch (e) {
    st.textContent = 'no answer from the server (' + e.message + ')';
    st.className = 'status bad';
  }
  setTimeout(poll, POLL_MS);
}

poll();
