// The KFL bar: checked as you type (debounced) through /api/check; an error shows its code,
// message, help and a caret under its span, and disables Apply; field and protocol-word completion
// from the schema; a history of applied filters; Ctrl+Enter (or Enter) applies.

import { api, type Diagnostic, type FieldsAnswer } from "./api";
import { el } from "./format";
import { store } from "./state";

const HISTORY_KEY = "shark.kfl.history";
const HISTORY_MAX = 20;

let input: HTMLInputElement;
let overlay: HTMLElement;
let apply: HTMLButtonElement;
let diag: HTMLElement;
let menu: HTMLElement;
let words: string[] = [];
let checkTimer = 0;
let checkSeq = 0;
let menuItems: string[] = [];
let menuAt = -1;
let valid = true;

export function mountKflBar(parent: HTMLElement) {
  input = el("input", "kfl-input");
  input.type = "text";
  input.spellcheck = false;
  input.autocomplete = "off";
  input.placeholder = 'KFL filter, e.g.  http and response.status >= 500   (Ctrl+Enter applies)';
  input.setAttribute("aria-label", "KFL filter");
  overlay = el("div", "kfl-overlay");
  overlay.setAttribute("aria-hidden", "true");
  menu = el("ul", "kfl-menu");
  menu.hidden = true;
  const field = el("div", "kfl-field", overlay, input, menu);
  apply = el("button", "btn btn-primary kfl-apply", "Apply");
  apply.title = "Apply the filter (Ctrl+Enter)";
  const clear = el("button", "btn kfl-clear", "Clear");
  const historyButton = el("button", "btn kfl-history-btn", "History ▾");
  const historyMenu = el("ul", "kfl-menu kfl-history");
  historyMenu.hidden = true;
  const historyWrap = el("div", "kfl-history-wrap", historyButton, historyMenu);
  diag = el("div", "kfl-diag");
  diag.hidden = true;
  const bar = el("div", "kflbar", el("span", "kfl-label", "KFL"), field, apply, clear, historyWrap);
  parent.append(el("div", "kfl-section", bar, diag));

  input.value = store.state.kfl;
  paint([]);
  input.addEventListener("input", () => {
    paint([]);
    scheduleCheck();
    complete();
  });
  input.addEventListener("scroll", () => (overlay.scrollLeft = input.scrollLeft));
  input.addEventListener("keydown", onKey);
  input.addEventListener("blur", () => setTimeout(() => (menu.hidden = true), 150));
  apply.onclick = () => applyFilter();
  clear.onclick = () => {
    input.value = "";
    paint([]);
    scheduleCheck(0);
    applyFilter();
  };
  historyButton.onclick = () => {
    historyMenu.replaceChildren(
      ...(history().length ? history() : ["(no filters applied yet)"]).map((h) => {
        const li = el("li", "", h);
        li.onmousedown = (e) => {
          e.preventDefault();
          historyMenu.hidden = true;
          if (!history().includes(h)) return;
          input.value = h;
          scheduleCheck(0);
          applyFilter();
        };
        return li;
      }),
    );
    historyMenu.hidden = !historyMenu.hidden;
  };
  document.addEventListener("click", (e) => {
    if (!historyWrap.contains(e.target as Node)) historyMenu.hidden = true;
  });
  store.subscribe((s, changed) => {
    if (changed.has("kfl") && input.value !== s.kfl) {
      input.value = s.kfl;
      scheduleCheck(0);
    }
  });
  api
    .fields()
    .then((f: FieldsAnswer) => {
      words = [...f.protocols, ...f.fields.map((x) => x.path), ...f.aliases.map((x) => x.name)];
    })
    .catch(() => undefined);
  if (input.value) scheduleCheck(0);
}

/** Puts `text` in the bar as typed, checks it and applies it. */
export function setFilter(text: string) {
  input.value = text;
  paint([]);
  scheduleCheck(0);
  store.set({ kfl: text.trim(), entry: "" });
  remember(text.trim());
}

/** The filter as typed now. */
export function typedFilter(): string {
  return input.value;
}

function onKey(e: KeyboardEvent) {
  if (!menu.hidden && menuItems.length) {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      menuAt = (menuAt + (e.key === "ArrowDown" ? 1 : menuItems.length - 1)) % menuItems.length;
      drawMenu();
      return;
    }
    if ((e.key === "Tab" || (e.key === "Enter" && !e.ctrlKey)) && menuAt >= 0) {
      e.preventDefault();
      accept(menuItems[menuAt]);
      return;
    }
    if (e.key === "Escape") {
      menu.hidden = true;
      return;
    }
  }
  if (e.key === "Enter") {
    e.preventDefault();
    applyFilter();
  }
}

function applyFilter() {
  if (!valid || apply.disabled) return;
  menu.hidden = true;
  const text = input.value.trim();
  remember(text);
  store.set({ kfl: text, entry: "" });
}

function scheduleCheck(delay = 180) {
  clearTimeout(checkTimer);
  const text = input.value;
  // Until the answer comes, the filter is not known to be good.
  if (text.trim()) apply.disabled = true;
  checkTimer = window.setTimeout(async () => {
    const seq = ++checkSeq;
    if (!text.trim()) {
      show(null, [], []);
      return;
    }
    try {
      const answer = await api.check(text);
      if (seq !== checkSeq || text !== input.value) return;
      show(answer.ok ? null : answer.error ?? "invalid filter", answer.diagnostics ?? [], answer.warnings ?? []);
    } catch (e) {
      if (seq === checkSeq) show(`cannot check the filter: ${String((e as Error).message)}`, [], []);
    }
  }, delay);
}

/** Shows an error (Apply disabled) or, on a filter that runs, its warnings (Apply stays enabled). */
function show(error: string | null, diagnostics: Diagnostic[], warnings: Diagnostic[]) {
  valid = error === null;
  apply.disabled = !valid;
  input.classList.toggle("kfl-bad", !valid);
  const shown = valid ? warnings : diagnostics;
  paint(shown);
  diag.hidden = valid && !warnings.length;
  const text = input.value;
  diag.replaceChildren(
    ...shown.map((d) => {
      const caret = " ".repeat(d.start) + "^".repeat(Math.max(1, d.end - d.start));
      return el(
        "div",
        valid ? "kfl-diag-item kfl-warn" : "kfl-diag-item",
        el("div", "kfl-diag-head", el("span", "kfl-code", d.code), " ", d.message),
        el("pre", "kfl-diag-src", `${text}\n`, el("span", "kfl-caret", caret), d.label ? el("span", "kfl-diag-label", ` ${d.label}`) : null),
        d.help ? el("div", "kfl-diag-help", `help: ${d.help}`) : null,
      );
    }),
  );
  if (!valid && !diagnostics.length) diag.append(el("div", "kfl-diag-item", error ?? ""));
}

/** Draws the typed text behind the input with each diagnostic's span marked. */
function paint(diagnostics: Diagnostic[]) {
  const text = input.value;
  const parts: (Node | string)[] = [];
  let at = 0;
  for (const d of [...diagnostics].sort((a, b) => a.start - b.start)) {
    if (d.start < at) continue;
    parts.push(text.slice(at, d.start));
    const mark = el("mark", "kfl-mark", text.slice(d.start, Math.max(d.end, d.start + 1)) || " ");
    mark.title = `${d.code}: ${d.message}`;
    parts.push(mark);
    at = Math.max(d.end, d.start + 1);
  }
  parts.push(text.slice(at));
  overlay.replaceChildren(...parts.map((p) => (typeof p === "string" ? document.createTextNode(p) : p)));
  overlay.scrollLeft = input.scrollLeft;
}

/** Offers the fields and protocol words that continue the word before the cursor. */
function complete() {
  const upto = input.value.slice(0, input.selectionStart ?? input.value.length);
  const m = /[A-Za-z_][A-Za-z0-9_.]*$/.exec(upto);
  if (!m || m[0].length < 1) {
    menu.hidden = true;
    return;
  }
  const word = m[0];
  menuItems = words.filter((w) => w.startsWith(word) && w !== word).slice(0, 12);
  menuAt = menuItems.length ? 0 : -1;
  drawMenu();
}

function drawMenu() {
  menu.hidden = menuItems.length === 0;
  menu.replaceChildren(
    ...menuItems.map((w, i) => {
      const li = el("li", i === menuAt ? "active" : "", w);
      li.onmousedown = (e) => {
        e.preventDefault();
        accept(w);
      };
      return li;
    }),
  );
}

function accept(word: string) {
  const cursor = input.selectionStart ?? input.value.length;
  const before = input.value.slice(0, cursor).replace(/[A-Za-z_][A-Za-z0-9_.]*$/, word);
  input.value = before + input.value.slice(cursor);
  input.setSelectionRange(before.length, before.length);
  menu.hidden = true;
  paint([]);
  scheduleCheck();
}

function history(): string[] {
  try {
    const list = JSON.parse(localStorage.getItem(HISTORY_KEY) ?? "[]");
    return Array.isArray(list) ? list.filter((x) => typeof x === "string") : [];
  } catch {
    return [];
  }
}

function remember(text: string) {
  if (!text) return;
  const list = [text, ...history().filter((h) => h !== text)].slice(0, HISTORY_MAX);
  try {
    localStorage.setItem(HISTORY_KEY, JSON.stringify(list));
  } catch {
    // Storage full or disabled: history is a convenience.
  }
}
