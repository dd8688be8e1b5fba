/* newsdesk reader: keyboard shortcuts (j/k/o/x/s, / search, ? help) and "copy link".
   Works on whatever cards are in the page, including those htmx appended. */
(function () {
  "use strict";
  var current = -1;

  function cards() { return document.querySelectorAll("article.card"); }
  function card() { var all = cards(); return current >= 0 && current < all.length ? all[current] : null; }
  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  function move(step) {
    var all = cards();
    if (!all.length) return;
    var prev = card();
    if (prev) prev.classList.remove("is-current");
    current = Math.max(0, Math.min(all.length - 1, current + step));
    var el = all[current];
    el.classList.add("is-current");
    el.setAttribute("tabindex", "-1");
    el.focus({ preventScroll: true });
    el.scrollIntoView({ block: "nearest" });
  }
  function helpDialog() {
    var d = document.getElementById("keys");
    if (d && d.showModal && !d.open) d.showModal();
  }
  function search() {
    var q = document.getElementById("q");
    if (q) { q.focus(); q.select(); } else { window.location.href = "/#q"; }
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
    var c = card();
    switch (ev.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "o":
        var link = c && c.querySelector(".title a");
        if (link) window.open(link.href, "_blank", "noopener");
        break;
      case "x":
        var more = c && c.querySelector("details.more");
        if (more) more.open = !more.open;
        break;
      case "s":
        var save = c && c.querySelector("[data-action=save]");
        if (save) save.click();
        break;
      case "/": search(); break;
      case "?": helpDialog(); break;
      default: return;
    }
    ev.preventDefault();
  });

  // A click puts the keyboard position on that card, so j/k carry on from there.
  document.addEventListener("click", function (ev) {
    if (ev.target.closest && ev.target.closest("[data-keys-help]")) { helpDialog(); return; }
    var copy = ev.target.closest && ev.target.closest("[data-copy]");
    if (copy) {
      var url = new URL(copy.getAttribute("data-copy"), window.location.href).href;
      var done = function () { copy.textContent = "copied"; };
      if (navigator.clipboard) navigator.clipboard.writeText(url).then(done, function () { window.prompt("Link", url); });
      else window.prompt("Link", url);
      return;
    }
    var el = ev.target.closest && ev.target.closest("article.card");
    if (el) current = Array.prototype.indexOf.call(cards(), el);
  });

  if (window.location.hash === "#q") window.addEventListener("DOMContentLoaded", search);
})();
