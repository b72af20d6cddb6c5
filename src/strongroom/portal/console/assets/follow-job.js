// Follows a job of the console to its end: polls /console/jobs/<id>.json every second or two and updates the
// <progress> element and the text of the job's page; stops when the job has ended and shows its summary.
// Without JavaScript the page refreshes itself instead (a <meta> refresh inside <noscript>).
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.getAttribute("data-ended") === "yes") {
    return;
  }
  var url = box.getAttribute("data-url");
  var bar = document.getElementById("job-progress");
  var following = document.getElementById("job-following");
  var failures = 0;

  function text(id, value) {
    var el = document.getElementById(id);
    if (el) {
      el.textContent = value === null || value === undefined ? "" : String(value);
    }
  }

  function size(n) {
    var units = ["B", "KB", "MB", "GB", "TB"];
    var i = 0;
    var v = n;
    while (v >= 1000 && i < units.length - 1) {
      v /= 1000;
      i += 1;
    }
    return i === 0 ? v + " B" : v.toFixed(1) + " " + units[i];
  }

  function show(job) {
    var p = job.progress;
    box.setAttribute("data-state", job.state);
    text("job-state", job.state_label || job.state);
    text("job-attempts", job.attempts);
    text("job-worker", job.worker);
    text("job-error", job.error);
    if (p) {
      text("job-message", p.message);
      if (p.total) {
        bar.max = p.total;
        bar.value = Math.min(p.done, p.total);
        text("job-numbers", size(p.done) + " / " + size(p.total));
      } else {
        text("job-numbers", size(p.done));
      }
    }
    if (job.ended) {
      if (job.state === "succeeded") {
        bar.max = p && p.total ? p.total : 1;
        bar.value = bar.max;
      }
      var end = document.getElementById("job-end");
      end.className = job.state === "succeeded" ? "note" : "alert";
      end.textContent = box.getAttribute("data-ended-label") + ": " + (job.state_label || job.state) + "." + (p ? " " + p.message : "");
      end.hidden = false;
      box.setAttribute("data-ended", "yes");
      if (following) {
        following.hidden = true;
      }
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) {
          throw new Error("HTTP " + r.status);
        }
        return r.json();
      })
      .then(function (job) {
        failures = 0;
        show(job);
        if (!job.ended) {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        failures += 1;
        if (failures < 30) {
          window.setTimeout(poll, 2000 * failures);
        }
      });
  }

  poll();
})();
