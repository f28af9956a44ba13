/*
 * The player page: at / a list of the live streams (/streams.json),
 * at /play/APP/NAME that stream's player.  LL-HLS with hls.js
 * (/APP/NAME.m3u8, the master playlist over the ladder) by default,
 * HTTP-FLV with mpegts.js (/APP/NAME.flv) on request (?engine=flv, or
 * the menu).  A signed page URL (?expires=..&sign=..) passes its
 * signature on to the media URL.
 *
 * The state is on window.sluicePlayer for tests and the curious:
 * {engine, level, auto, width, height, currentTime, latency, levels,
 * error, streams}.  width and height are what the video element
 * decodes; latency is hls.latency (seconds behind the live edge) with
 * hls.js, the buffered time ahead of the playhead with mpegts.js.
 * window.sluiceHls is the hls.js instance while one plays
 * (bench/hls_latency.sh reads its figures there).
 *
 * Query: ?engine=hls|flv, ?quality=HEIGHT (start on that rendition),
 * ?ll=0 (hls.js without its low-latency mode: plain HLS).
 */
'use strict';

(function () {
  /* The libraries' names as tools/web_libs.sh writes them (it checks
   * that this file names them); loaded only when a player needs one. */
  var LIBS = {
    hls: '/assets/hls-1.7.4.min.js',
    flv: '/assets/mpegts-1.8.2.js'
  };

  var state = {
    engine: null, level: -1, auto: true, width: 0, height: 0,
    currentTime: 0, latency: null, levels: [], error: null, streams: null
  };
  window.sluicePlayer = state;

  function $(id) { return document.getElementById(id); }

  var loading = {};
  function loadScript(src) {
    if (!loading[src]) {
      loading[src] = new Promise(function (resolve, reject) {
        var s = document.createElement('script');
        s.src = src;
        s.onload = resolve;
        s.onerror = function () { reject(new Error('cannot load ' + src)); };
        document.head.appendChild(s);
      });
    }
    return loading[src];
  }

  /* The part of the page's query the media URL carries: a signature. */
  function signature() {
    var q = new URLSearchParams(location.search), out = new URLSearchParams();
    ['expires', 'sign'].forEach(function (k) {
      if (q.has(k)) out.set(k, q.get(k));
    });
    var s = out.toString();
    return s ? '?' + s : '';
  }

  function showError(msg) {
    state.error = msg;
    $('error').textContent = msg || '';
    $('error').hidden = !msg;
  }

  /* ---- the list ---- */

  function renderList(streams) {
    var ul = $('streams');
    state.streams = streams;
    ul.textContent = '';
    streams.forEach(function (s) {
      var li = document.createElement('li'), a = document.createElement('a');
      var how = document.createElement('small');
      li.dataset.stream = s.app + '/' + s.name;
      a.href = s.page;
      a.textContent = s.app + '/' + s.name;
      how.textContent = s.hls ? 'LL-HLS, HTTP-FLV' : 'HTTP-FLV';
      li.appendChild(a);
      li.appendChild(how);
      ul.appendChild(li);
    });
    $('none').hidden = streams.length > 0;
  }

  function fetchList() {
    return fetch('/streams.json', { cache: 'no-store' })
      .then(function (r) { return r.json(); })
      .then(function (j) { return j.streams || []; });
  }

  function pollList() {
    fetchList().then(renderList, function () { })
      .then(function () { setTimeout(pollList, 5000); });
  }

  /* ---- the player ---- */

  var app, name, video, hls = null, flv = null, timer = null;
  var picked = false; /* the viewer chose the engine (?engine=, the menu) */

  function stop() {
    if (hls) { hls.destroy(); hls = window.sluiceHls = null; }
    if (flv) {
      flv.pause();
      flv.unload();
      flv.detachMediaElement();
      flv.destroy();
      flv = null;
    }
    clearTimeout(timer);
    video.removeAttribute('src');
    video.load();
    state.engine = null;
    state.level = -1;
    state.levels = [];
    state.latency = null;
    showError(null);
  }

  /* Retries a player that failed (a stream that is not live yet, or
   * restarted) after a pause, unless another one started meanwhile. */
  function retry(engine, msg) {
    showError(msg + '; trying again');
    clearTimeout(timer);
    timer = setTimeout(function () {
      if (state.engine === engine) start(engine);
    }, 3000);
  }

  function qualityMenu() {
    var sel = $('quality');
    sel.textContent = '';
    sel.disabled = !hls;
    sel.add(new Option('auto', '-1'));
    if (!hls) return;
    hls.levels.map(function (l, i) { return { l: l, i: i }; })
      .sort(function (a, b) { return b.l.height - a.l.height; })
      .forEach(function (x) {
        var kbps = Math.round(x.l.bitrate / 1000);
        sel.add(new Option(x.l.height + 'p, ' + kbps + ' kbit/s',
                           String(x.i)));
      });
    sel.value = hls.autoLevelEnabled ? '-1' : String(hls.currentLevel);
  }

  /* hls.js's settings.  In LL mode it aims PART-HOLD-BACK behind the
   * live edge, but a slow start or a stall (a late part, a busy
   * machine) leaves it further behind for good unless it may play
   * faster to catch up, which by default it may not
   * (maxLiveSyncPlaybackRate 1).  Up to 1.5x it gets back to its target
   * within seconds, which a viewer hardly notices (the browser keeps
   * the audio's pitch).  ?ll=0 plays the same playlists as plain HLS:
   * whole segments, three target durations behind, no blocking
   * reloads. */
  function hlsConfig() {
    var ll = new URLSearchParams(location.search).get('ll') !== '0';
    return {
      lowLatencyMode: ll,
      maxLiveSyncPlaybackRate: ll ? 1.5 : 1,
      backBufferLength: 30
    };
  }

  /* ?quality=HEIGHT: start on the rendition that tall, auto off, as if
   * picked from the menu before the first segment. */
  function pickQuality() {
    var want = parseInt(new URLSearchParams(location.search)
      .get('quality'), 10);
    var i = hls.levels.findIndex(function (l) { return l.height === want; });
    if (i >= 0) hls.currentLevel = i;
  }

  function startHls() {
    var url = '/' + app + '/' + name + '.m3u8' + signature();
    loadScript(LIBS.hls).then(function () {
      if (state.engine !== 'hls') return;
      if (!window.Hls.isSupported()) {
        /* Safari on a phone plays HLS itself. */
        if (video.canPlayType('application/vnd.apple.mpegurl')) {
          video.src = url;
          video.play().catch(function () { });
          return;
        }
        showError('this browser cannot play HLS: try HTTP-FLV');
        return;
      }
      hls = window.sluiceHls = new window.Hls(hlsConfig());
      hls.on(window.Hls.Events.MANIFEST_PARSED, function () {
        state.levels = hls.levels.map(function (l) {
          return { width: l.width, height: l.height, bitrate: l.bitrate };
        });
        pickQuality();
        qualityMenu();
        video.play().catch(function () { });
      });
      hls.on(window.Hls.Events.LEVEL_SWITCHED, function (e, d) {
        state.level = d.level;
      });
      hls.on(window.Hls.Events.ERROR, function (e, d) {
        if (!d.fatal) return;
        if (d.type === window.Hls.ErrorTypes.MEDIA_ERROR) {
          hls.recoverMediaError();
          return;
        }
        /* No HLS for this stream (its app packages none): HTTP-FLV,
         * unless the viewer asked for HLS. */
        if (!picked && d.response && d.response.code === 404 &&
            d.details === window.Hls.ErrorDetails.MANIFEST_LOAD_ERROR) {
          start('flv');
          return;
        }
        retry('hls', 'HLS: ' + d.details);
      });
      hls.loadSource(url);
      hls.attachMedia(video);
    }, function (err) { showError(err.message); });
  }

  function startFlv() {
    var url = new URL('/' + app + '/' + name + '.flv' + signature(),
                      location.href).href;
    qualityMenu();
    loadScript(LIBS.flv).then(function () {
      var m = window.mpegts;
      if (state.engine !== 'flv') return;
      if (!m.isSupported()) {
        showError('this browser cannot play HTTP-FLV: try LL-HLS');
        return;
      }
      flv = m.createPlayer({ type: 'flv', isLive: true, url: url }, {
        enableWorker: false,
        enableStashBuffer: false, /* hand frames on at once */
        lazyLoad: false,          /* a live stream is never paused for */
        autoCleanupSourceBuffer: true,
        liveSync: true,           /* speed up when it falls behind */
        liveSyncTargetLatency: 0.8,
        liveSyncMaxLatency: 1.5
      });
      flv.on(m.Events.ERROR, function (type, detail) {
        retry('flv', 'HTTP-FLV: ' + type + ' ' + detail);
      });
      flv.on(m.Events.LOADING_COMPLETE, function () {
        retry('flv', 'HTTP-FLV: the stream ended');
      });
      flv.attachMediaElement(video);
      flv.load();
      video.play().catch(function () { });
    }, function (err) { showError(err.message); });
  }

  function start(engine) {
    stop();
    state.engine = engine;
    $('engine').value = engine;
    if (engine === 'flv') startFlv(); else startHls();
  }

  /* Four times a second: what is playing, into the state and the bar. */
  function tick() {
    var b = video.buffered;
    state.currentTime = video.currentTime;
    state.width = video.videoWidth;
    state.height = video.videoHeight;
    if (hls) {
      state.level = hls.currentLevel;
      state.auto = hls.autoLevelEnabled;
      state.latency = hls.latency;
    } else if (flv && b.length > 0) {
      state.latency = b.end(b.length - 1) - video.currentTime;
    }
    $('rendition').textContent = state.width ?
      state.width + 'x' + state.height + (hls && state.auto ? ' (auto)' : '') :
      '';
    $('latency').textContent = typeof state.latency === 'number' &&
      isFinite(state.latency) ?
      (hls ? 'latency ' : 'buffer ') + state.latency.toFixed(1) + ' s' : '';
  }

  function openPlayer(parts) {
    var q = new URLSearchParams(location.search);
    app = decodeURIComponent(parts[0]);
    name = decodeURIComponent(parts[1]);
    video = $('video');
    $('list').hidden = true;
    $('player').hidden = false;
    $('title').textContent = app + '/' + name;
    document.title = app + '/' + name + ' - Sluice';
    $('engine').onchange = function () {
      picked = true;
      q.set('engine', this.value);
      history.replaceState(null, '', '?' + q.toString());
      start(this.value);
    };
    $('quality').onchange = function () {
      if (hls) hls.nextLevel = parseInt(this.value, 10);
    };
    setInterval(tick, 250);
    if (q.get('engine') === 'flv' || q.get('engine') === 'hls') {
      picked = true;
      start(q.get('engine'));
      return;
    }
    /* HLS where the stream's app packages it; a stream the list does
     * not show (a signed one) tries HLS. */
    fetchList().then(function (streams) {
      var s = streams.filter(function (x) {
        return x.app === app && x.name === name;
      })[0];
      start(s && !s.hls ? 'flv' : 'hls');
    }, function () { start('hls'); });
  }

  var m = /^\/play\/([^/]+)\/([^/]+)$/.exec(location.pathname);
  if (m) openPlayer([m[1], m[2]]); else pollList();
})();
