/* Admin cleanup: go on with a running cleanup by itself (progressive enhancement).
 *
 * Without JavaScript the run page offers a Continue button: each press deletes for a couple of seconds
 * and shows the page again. This script presses it after a short pause, so a large backlog is worked
 * through one short request after another, and offers Pause to stop doing so. It is a file, not an
 * inline script, because the Content-Security-Policy allows scripts from this origin only.
 */
(function () {
  "use strict";
  var form = document.querySelector("form[data-auto-continue]");
  if (!form) {
    return;
  }
  var note = form.querySelector("[data-auto-continue-note]");
  var pause = form.querySelector("[data-auto-continue-pause]");
  var timer = window.setTimeout(function () {
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit();
    } else {
      form.submit();
    }
  }, 500);
  if (note) {
    note.hidden = false;
  }
  if (pause) {
    pause.hidden = false;
    pause.addEventListener("click", function () {
      window.clearTimeout(timer);
      pause.hidden = true;
      if (note) {
        note.textContent = "Paused. Press Continue to go on.";
      }
    });
  }
})();
