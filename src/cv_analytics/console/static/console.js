// Live refresh without a reload: every element with data-refresh="URL" has its content
// replaced by the HTML fragment at URL, every data-every seconds (default 3). A failed
// fetch leaves the last content in place and marks the panel stale until the next success.
(function () {
  "use strict";

  function refresh(panel) {
    return fetch(panel.dataset.refresh, { headers: { Accept: "text/html" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(response.status + " " + response.statusText);
        }
        return response.text();
      })
      .then(function (html) {
        panel.innerHTML = html;
        panel.removeAttribute("data-stale");
        panel.dataset.loadedAt = new Date().toISOString();
      })
      .catch(function (error) {
        panel.setAttribute("data-stale", String(error));
      });
  }

  function schedule(panel) {
    var seconds = Number(panel.dataset.every || "3");
    function tick() {
      refresh(panel).then(function () {
        window.setTimeout(tick, seconds * 1000);
      });
    }
    if (panel.dataset.lazy !== undefined) {
      tick();
    } else {
      window.setTimeout(tick, seconds * 1000);
    }
  }

  document.querySelectorAll("[data-refresh]").forEach(schedule);
})();
