// The dashboard's only script: live updates over server-sent events, the log's search, and a few keys. The pages work without it.
(function () {
  'use strict';

  function liveRun() {
    var live = document.getElementById('live');
    if (!live || !live.dataset.events) return;
    var events = new EventSource(live.dataset.events);
    events.addEventListener('update', function (e) { live.innerHTML = e.data; });
    events.addEventListener('done', function () { events.close(); });
  }

  function log() {
    var pre = document.getElementById('log');
    if (!pre) return;
    var search = document.getElementById('log-search');
    var full = pre.textContent;
    function show() {
      var term = search ? search.value.toLowerCase() : '';
      pre.textContent = term === '' ? full
        : full.split('\n').filter(function (line) { return line.toLowerCase().indexOf(term) >= 0; }).join('\n');
    }
    if (search) search.addEventListener('input', show);
    if (!pre.dataset.events) return;
    var events = new EventSource(pre.dataset.events);
    events.addEventListener('line', function (e) {
      var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      full += e.data + '\n';
      show();
      if (atEnd) pre.scrollTop = pre.scrollHeight;
    });
    events.addEventListener('done', function (e) {
      events.close();
      var status = document.getElementById('step-status');
      if (status && e.data) {
        status.textContent = e.data;
        status.className = 'badge status-' + e.data;
      }
      fetch(pre.dataset.text, { credentials: 'same-origin' })
        .then(function (r) { return r.text(); })
        .then(function (text) { full = text; show(); });
    });
  }

  // '/' goes to the page's search or filter box.
  document.addEventListener('keydown', function (e) {
    if (e.key !== '/' || /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName)) return;
    var box = document.getElementById('log-search') || document.querySelector('form.filters input');
    if (box) { e.preventDefault(); box.focus(); }
  });

  liveRun();
  log();
})();
