// Live refresh without a reload: every element with data-refresh="URL" has its content
// replaced by the HTML fragment at URL, every data-every seconds (default 3). A failed
// fetch leaves the last content in place and marks the panel stale until the next success.
// A button with data-reload="ID" refreshes the panel with that id at once.
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

  // data-every="0": loaded once (data-lazy), then only when its reload button is pressed.
  function schedule(panel) {
    var seconds = Number(panel.dataset.every || "3");
    function tick() {
      refresh(panel).then(function () {
        if (seconds > 0) {
          window.setTimeout(tick, seconds * 1000);
        }
      });
    }
    if (panel.dataset.lazy !== undefined) {
      tick();
    } else {
      window.setTimeout(tick, seconds * 1000);
    }
  }

  document.querySelectorAll("[data-refresh]").forEach(schedule);

  document.querySelectorAll("button[data-reload]").forEach(function (button) {
    var panel = document.getElementById(button.dataset.reload);
    button.addEventListener("click", function () {
      button.disabled = true;
      refresh(panel).then(function () {
        button.disabled = false;
      });
    });
  });
})();
