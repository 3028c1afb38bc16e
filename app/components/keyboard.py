"""Keyboard handling the pages add to Streamlit's button shortcuts, one listener for every page; what differs is a
page's KeySet.

Review (Streamlit's shortcuts cover A, X, S, U and N): 1-9 mark a relation (Streamlit's digit shortcuts did not
fire in Chromium), E opens the relation picker (typing filters, Enter confirms), focus comes back to the item after
a choice in the sidebar or the picker, so a shortcut never types into a field.

Document: T moves focus to the first field of the "Add a relation" panel; Tab and Shift+Tab then step through its
fields in a fixed order (Streamlit's own order also stops on help icons, evidence tags and "Clear all", so it
varies with the evidence); a field a rerun replaces (the pickers' keys follow the pair) gets focus back.

Both: Escape leaves a field, "?" shows the keys. Streamlit reserves C and R and does not take punctuation as a
shortcut, hence E and T and a listener of our own for "?". The listeners live in the page's own window (the
component frame may be replaced on a rerun, and a dead frame's listeners never fire); each run replaces them, so
there is one of each, and they find widgets by label."""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

# (keys, what they do): the help overlay and the page's caption list the same
REVIEW_KEYS: tuple[tuple[str, str], ...] = (
    ("1–9", "mark or unmark that relation of the pair"),
    ("A", "accept the marked relations (the first when none is marked) and the correction; reject the rest"),
    ("E", "correct: open the relation picker; type to filter, Enter confirms, Escape leaves it"),
    ("X", "reject every relation of the pair"),
    ("S", "skip the pair"),
    ("U", "undo your last decision (a whole pair decision at once)"),
    ("N", "next pair, leaving this one for later"),
    ("?", "show or hide these keys"),
)
PICKER_KEY = "e"
TRIPLE_KEY = "t"
DOCUMENT_KEYS: tuple[tuple[str, str], ...] = (
    ("T", "add a relation: the cursor goes to the Add a relation panel's first field (head, then tail, relation, "
          "evidence, note, Add relation)"),
    ("Tab", "next field of the panel, Shift+Tab the one before; typing filters a list, Enter chooses, Enter on "
            "Add relation saves"),
    ("Escape", "leave a field, so the next key is a shortcut again"),
    ("?", "show or hide these keys"),
)


@dataclass(frozen=True)
class KeySet:
    """What one page's keys do; the listener reading it is the same on every page."""

    keys: tuple[tuple[str, str], ...]  # (key, what it does): the overlay and the caption
    focus: tuple[tuple[str, str, bool], ...] = ()  # (key, start of a field's label, open its list too)
    marks: bool = False  # 1-9 press the button whose label starts "n · "
    release_after_choice: bool = True  # after a choice in a list, focus goes back to the page (False: not in the
    # panel's fields, where the next Tab goes on from the field)
    panel: str = ""  # the st.container key of the panel the focus keys and `fields` live in ("": the main area)
    fields: tuple[str, ...] = ()  # the panel's fields in Tab order, by the start of their label (a button's text)


def review_keyset(picker_label: str) -> KeySet:
    """Review: digits mark, E opens the picker whose label starts `picker_label`, focus returns after a choice."""
    return KeySet(REVIEW_KEYS, focus=((PICKER_KEY, picker_label, True),), marks=True)


def document_keyset(panel: str, fields: Sequence[str]) -> KeySet:
    """Document: T goes to the first of the panel's `fields` and Tab steps through them; a choice keeps focus in
    the field (the next Tab goes on from there)."""
    return KeySet(DOCUMENT_KEYS, focus=((TRIPLE_KEY, fields[0], False),), release_after_choice=False, panel=panel,
                  fields=tuple(fields))


def help_text(keys: Sequence[tuple[str, str]] = REVIEW_KEYS) -> str:
    """The keys as one line, for the page's caption."""
    return " · ".join(f"{key} {what.split(':')[0].split(';')[0]}" for key, what in keys)


def overlay_html(keys: Sequence[tuple[str, str]] = REVIEW_KEYS) -> str:
    """The "?" overlay: a table of the keys."""
    rows = "".join(f"<tr><th>{key}</th><td>{what}</td></tr>" for key, what in keys)
    return (f"<div role='dialog' aria-label='Keyboard shortcuts' style='background:#fff;color:#111;"
               f"padding:18px 24px;border-radius:8px;max-width:640px;margin:10vh auto;font:14px sans-serif'>"
               f"<h3 style='margin-top:0'>Keyboard shortcuts</h3><table>{rows}</table>"
               f"<p style='margin-bottom:0'>Press ? or Escape to close.</p></div>")


def _js(value: object) -> str:
    """A JavaScript literal (JSON) that cannot close the <script> it sits in."""
    return json.dumps(value).replace("</", "<\\/")


def _config(keyset: KeySet) -> dict:
    return {"focus": [list(f) for f in keyset.focus], "marks": keyset.marks,
            "release": keyset.release_after_choice, "panel": keyset.panel, "fields": list(keyset.fields),
            "overlay": overlay_html(keyset.keys)}


_LISTENER = """
  const w = window;
  const doc = w.document;
  const old = w.__docreKeys;
  if (old) {
    doc.removeEventListener("keydown", old.keydown, true);
    doc.removeEventListener("click", old.click, true);
    doc.removeEventListener("focusin", old.focusin, true);
    clearInterval(old.timer);
  }
  const TEXT = ["text", "search", "number", "password", "email", "url", ""];
  const typing = (el) => !!el && (el.tagName === "TEXTAREA" || el.isContentEditable
    || (el.tagName === "INPUT" && (TEXT.includes((el.getAttribute("type") || "").toLowerCase())
                                   || el.getAttribute("role") === "combobox")));
  const main = () => doc.querySelector('[data-testid="stMain"]') || doc.body;
  const release = () => {  // focus back on the page, so the next key is a shortcut, not text
    w.__docreLast = null;
    const el = doc.activeElement;
    if (el && el !== doc.body) el.blur();
    const m = main();
    if (!m.hasAttribute("tabindex")) m.setAttribute("tabindex", "-1");
    m.focus({preventScroll: true});
  };
  const overlay = () => {
    let o = doc.getElementById("docre-keys");
    if (!o) {
      o = doc.createElement("div");
      o.id = "docre-keys";
      o.style.cssText = "position:fixed;inset:0;background:rgba(0,0,0,.45);z-index:100000;display:none";
      o.addEventListener("click", () => { o.style.display = "none"; });
      doc.body.appendChild(o);
    }
    return o;
  };
  overlay().innerHTML = CFG.overlay;  // this page's keys: the window outlives a switch of pages
  const scope = () => (CFG.panel && doc.querySelector(".st-key-" + CFG.panel)) || main();
  const BOXES = ['stSelectbox', 'stMultiSelect', 'stTextInput', 'stTextArea', 'stButton']
    .map((id) => '[data-testid="' + id + '"]').join(",");
  const labelOf = (b) => {  // a widget's label (a button: its text)
    const l = b.querySelector("label") || b.querySelector("button");
    return l ? l.innerText.trim() : "";
  };
  const stale = (b) => !!b.closest('[data-stale="true"]');
  const box = (label, within) => {  // the widget whose label starts so: during a rerun a widget drawn anew (its
    // key follows the pair) stands before the old one, greyed (stale) until the run ends
    const all = [...within.querySelectorAll(BOXES)].filter((b) => labelOf(b).startsWith(label));
    return all.find((b) => !stale(b)) || all[0] || null;
  };
  const control = (b) => b && (b.querySelector("input") || b.querySelector("textarea") || b.querySelector("button"));
  const fieldOf = (el) => {  // the panel field holding el (the old one or the new), by label
    if (!CFG.fields.length || !el || !el.closest) return null;
    const b = el.closest(BOXES);
    if (!b || !scope().contains(b)) return null;
    return CFG.fields.find((f) => labelOf(b).startsWith(f)) || null;
  };
  const step = (e, el) => {  // Tab and Shift+Tab within the panel: its fields, in CFG.fields' order
    if (e.key !== "Tab" || e.ctrlKey || e.metaKey || e.altKey) return false;
    const label = fieldOf(el);
    if (label === null) return false;
    const within = scope();
    const dir = e.shiftKey ? -1 : 1;
    for (let j = CFG.fields.indexOf(label) + dir; j >= 0 && j < CFG.fields.length; j += dir) {
      const c = control(box(CFG.fields[j], within));
      if (c && !c.disabled) { e.preventDefault(); e.stopPropagation(); c.focus(); return true; }
    }
    w.__docreLast = null;  // past the last field or before the first: the browser's own order, out of the panel
    return false;
  };
  const focusin = (e) => {  // the panel field in use, to give focus back when a rerun replaces it; focus
    // elsewhere forgets it only by the user's doing (Escape, a click, Tab out of the panel), not by a widget's own
    const label = fieldOf(e.target);
    if (label !== null) w.__docreLast = {label, el: e.target, lost: 0};
  };
  const refocus = () => {  // a rerun drew the field in use anew: focus moves to the new one
    const last = w.__docreLast;
    if (!last) return;
    const a = doc.activeElement;
    const now = box(last.label, scope());
    if (last.el.isConnected) {  // the old one greyed, the new one drawn: move before the old one goes
      if (a === last.el && now && !stale(now) && !now.contains(a)) control(now).focus();
      return;
    }
    last.lost = last.lost || Date.now();  // gone: focus fell to the page's body
    if (Date.now() - last.lost > 30000) { w.__docreLast = null; return; }
    if (a && a !== doc.body) return;  // focus is somewhere: left alone (a move of the user's forgets the field)
    if (now) control(now).focus();  // focusin remembers the new one
  };
  const side = () => doc.querySelector('[data-testid="stSidebar"]');
  const click = (e) => {  // a choice in a dropdown, or a sidebar checkbox or toggle
    const t = e.target;
    const option = t.closest && t.closest('[role="option"]');
    const inSide = side() && side().contains(t) && !typing(t);
    const kept = !CFG.release && fieldOf(doc.activeElement) !== null;  // a list of the panel: focus stays
    if (!option && fieldOf(t) === null) w.__docreLast = null;  // a click elsewhere: focus is the mouse's
    if (inSide) setTimeout(() => { if (!typing(doc.activeElement)) release(); }, 0);
    if (option && !kept) setTimeout(release, 0);
  };
  const keydown = (e) => {
    const el = doc.activeElement;
    const shown = overlay().style.display !== "none";
    if (e.key === "Escape" && shown) { overlay().style.display = "none"; e.preventDefault(); return; }
    if (step(e, el)) return;
    if (typing(el)) {
      const open = el.getAttribute("aria-expanded") === "true";
      if (e.key === "Escape" && !open) { release(); e.preventDefault(); e.stopPropagation(); }
      const inSide = side() && side().contains(el);
      const choice = el.getAttribute("role") === "combobox" && (CFG.release || fieldOf(el) === null);
      if (e.key === "Enter" && (choice || inSide)) setTimeout(release, 50);
      return;  // in a field, keys are text: no shortcut fires
    }
    if (e.key === "Escape" && fieldOf(el) !== null) { release(); e.preventDefault(); return; }  // e.g. a button
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "?") { overlay().style.display = shown ? "none" : "block"; e.preventDefault(); return; }
    if (CFG.marks && /^[1-9]$/.test(e.key)) {  // mark relation n: its button's label starts "n · "
      const mark = [...main().querySelectorAll("button")].find((b) => b.innerText.trim().startsWith(e.key + " · "));
      if (mark) { e.preventDefault(); e.stopPropagation(); mark.click(); }
      return;
    }
    const target = CFG.focus.find((f) => f[0] === e.key.toLowerCase());
    const c = target && control(box(target[1], scope()));
    if (c) { e.preventDefault(); e.stopPropagation(); c.focus(); if (target[2]) c.click(); }
  };
  doc.addEventListener("click", click, true);
  doc.addEventListener("keydown", keydown, true);
  doc.addEventListener("focusin", focusin, true);
  const timer = CFG.fields.length ? setInterval(refocus, 100) : 0;
  w.__docreKeys = {keydown, click, focusin, timer};
"""


def install_js(keyset: KeySet) -> str:
    """The key handling, run in the page's own window (not the component frame's): Streamlit may replace the frame
    on a rerun, and a listener whose frame is gone never fires again. Each run replaces the listeners the previous
    one installed (kept on window.__docreKeys), so there is always exactly one of each, whichever page installed
    them. Only the KeySet's constants go in, as JSON (_js): no user text reaches the script."""
    return f"(() => {{\n  const CFG = {_js(_config(keyset))};{_LISTENER}}})();"


def page_script(keyset: KeySet) -> str:
    """The <script> for a same-origin frame of no height (app.ui.install_keys; st.html's scripts did
    not run in Chromium): it hands install_js to the page's own window as a <script> element, so the listeners
    live there and outlast the frame."""
    return f"""<script>
(() => {{
  const w = window.parent && window.parent.document ? window.parent : window;
  const s = w.document.createElement("script");
  s.textContent = {_js(install_js(keyset))};
  w.document.head.appendChild(s);
  s.remove();
}})();
</script>"""


def review_script(picker_label: str) -> str:
    """The Review page's frame script (page_script of review_keyset)."""
    return page_script(review_keyset(picker_label))
