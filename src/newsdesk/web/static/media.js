// The item page's episode: a time link seeks the player (when there is one) and shows the
// passage; the find box marks the passages that hold the words and says how many. Without
// scripts the transcript is still there to read (and the browser's own find works on it).
(function () {
  "use strict";
  function player() { return document.querySelector("#media .player"); }
  function passageAt(seconds) {
    var found = null;
    document.querySelectorAll("#transcript .seg").forEach(function (li) {
      if (Number(li.dataset.start) <= seconds) found = li;
    });
    return found;
  }
  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("#media [data-seek]");
    if (!link) return;
    var at = Number(link.dataset.seek);
    var box = document.getElementById("transcript");
    if (box) box.open = true;
    var li = passageAt(at);
    if (li) {
      e.preventDefault();
      document.querySelectorAll("#transcript .seg.here").forEach(function (x) { x.classList.remove("here"); });
      li.classList.add("here");
      li.scrollIntoView({ block: "center" });
      history.replaceState(null, "", "#" + li.id);
    }
    var p = player();
    if (p && isFinite(at)) {
      try { p.currentTime = at; } catch (err) { /* not loaded yet: preload is none */ }
      p.dataset.seekedTo = String(at);
    }
  });
  function find(input) {
    var words = input.value.trim().toLowerCase();
    var list = document.querySelectorAll("#transcript .seg");
    var hits = 0, first = null;
    list.forEach(function (li) {
      var said = li.querySelector(".said");
      var on = words.length > 0 && said && said.textContent.toLowerCase().indexOf(words) !== -1;
      li.classList.toggle("hit", on);
      li.hidden = words.length > 1 && !on;
      if (on) { hits += 1; if (!first) first = li; }
    });
    var count = document.querySelector("#transcript .tr-count");
    if (count) count.textContent = words ? hits + " passage" + (hits === 1 ? "" : "s") : "";
    return first;
  }
  document.addEventListener("input", function (e) {
    if (e.target.matches && e.target.matches("[data-transcript-find]")) find(e.target);
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && e.target.matches && e.target.matches("[data-transcript-find]")) {
      e.preventDefault();
      var first = find(e.target);
      if (first) first.scrollIntoView({ block: "center" });
    }
  });
  // a link to a passage (#seg-12) opens the transcript there
  if (/^#seg-\d+$/.test(location.hash)) {
    var box = document.getElementById("transcript");
    var li = document.querySelector(location.hash);
    if (box && li) { box.open = true; li.classList.add("here"); li.scrollIntoView({ block: "center" }); }
  }
})();
