/* newsdesk: light/dark toggle and the EN/中文 switch, both remembered in localStorage.
   Vanilla, no dependencies. Cards expand with <details>, which needs no script. */
(function () {
  "use strict";
  var root = document.documentElement;
  var THEME = "newsdesk.theme";
  var LANG = "newsdesk.lang";
  var dark = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function load(key) {
    try { return localStorage.getItem(key); } catch (e) { return null; }
  }
  function save(key, value) {
    try {
      if (value) localStorage.setItem(key, value); else localStorage.removeItem(key);
    } catch (e) { /* storage disabled: the choice lasts for this page only */ }
  }
  function each(selector, fn) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), fn);
  }

  function systemTheme() { return dark && dark.matches ? "dark" : "light"; }
  function currentTheme() { return root.getAttribute("data-theme") || systemTheme(); }
  function applyTheme(theme) {
    if (theme === "light" || theme === "dark") root.setAttribute("data-theme", theme);
    else root.removeAttribute("data-theme");
    var label = "Switch to " + (currentTheme() === "dark" ? "light" : "dark") + " theme";
    each("[data-theme-toggle]", function (b) { b.setAttribute("aria-label", label); b.title = label; });
  }

  function defaultLang() { return /^zh\b/i.test(navigator.language || "") ? "zh" : "en"; }
  function applyLang(lang) {
    var zh = lang === "zh";
    root.classList.toggle("show-zh", zh);
    root.classList.toggle("show-en", !zh);
    each("[data-lang]", function (b) {
      b.setAttribute("aria-pressed", String((b.getAttribute("data-lang") === "zh") === zh));
    });
  }

  applyTheme(load(THEME));
  applyLang(load(LANG) || defaultLang());

  document.addEventListener("click", function (ev) {
    var el = ev.target.closest && ev.target.closest("[data-theme-toggle], [data-lang]");
    if (!el) return;
    if (el.hasAttribute("data-lang")) {
      var lang = el.getAttribute("data-lang");
      save(LANG, lang);
      applyLang(lang);
    } else {
      var next = currentTheme() === "dark" ? "light" : "dark";
      var choice = next === systemTheme() ? null : next; // back to the system: forget it
      save(THEME, choice);
      applyTheme(choice);
    }
  });

  // Several tabs open all day stay in step; a system switch applies unless overridden.
  window.addEventListener("storage", function (ev) {
    if (ev.key === THEME) applyTheme(ev.newValue);
    if (ev.key === LANG) applyLang(ev.newValue || defaultLang());
  });
  if (dark && dark.addEventListener) {
    dark.addEventListener("change", function () { applyTheme(load(THEME)); });
  }
})();
