// The page shell's few behaviours. Served from our own static files (the CSP allows no inline script).
(function () {
  "use strict";

  // "/" anywhere outside a field puts the cursor in the top bar's search box.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var active = document.activeElement;
    if (active && (active.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName))) return;
    var box = document.getElementById("site-search");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  });

  // A form that posts (a write, often an exchange call that takes seconds) shows it is busy from
  // the click to the next page: its buttons disabled, the one pressed marked, and a second click
  // ignored, so nothing is sent twice. The buttons are disabled only after the browser has read
  // the form, or the pressed button's name and value would not be sent. htmx forms get the same
  // through hx-disabled-elt and htmx's own request class.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method !== "post" || form.hasAttribute("hx-post")) return;
    if (form.getAttribute("aria-busy") === "true") {
      event.preventDefault();
      return;
    }
    if (event.defaultPrevented) return;
    form.setAttribute("aria-busy", "true");
    var pressed = event.submitter;
    if (pressed) pressed.classList.add("is-busy");
    window.setTimeout(function () {
      form.querySelectorAll("button, input[type=submit]").forEach(function (button) { button.disabled = true; });
    }, 0);
  });

  // Back to a page the browser kept whole (its back-forward cache): it is no longer busy.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form[aria-busy=true]").forEach(function (form) {
      form.removeAttribute("aria-busy");
      form.querySelectorAll("button, input[type=submit]").forEach(function (button) {
        button.disabled = false;
        button.classList.remove("is-busy");
      });
    });
  });
})();
