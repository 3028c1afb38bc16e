"""Keyboard handling the Review page adds to Streamlit's button shortcuts (which cover A, X, S, U and N): 1-9
mark a relation (Streamlit's digit shortcuts did not fire in Chromium), E opens the relation picker (typing filters,
Enter confirms), Escape leaves a field, focus comes back to the item after a choice in the sidebar or the picker, so a
shortcut never types into a field, and "?" shows the keys.

Streamlit reserves C and R and does not take punctuation as a shortcut, hence E and a listener of our own for
"?". The listeners live in the page's own window (the component frame may be replaced on a rerun, and a dead
frame's listeners never fire); each run replaces them, so there is one of each, and they find widgets by label."""
from __future__ import annotations

import json
from collections.abc import Sequence

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


def _js(value: str) -> str:
    """A JavaScript string literal that cannot close the <script> it sits in."""
    return json.dumps(value).replace("</", "<\\/")


def install_js(picker_label: str, keys: Sequence[tuple[str, str]] = REVIEW_KEYS) -> str:
    """The key handling, run in the page's own window (not the component frame's): Streamlit may replace the frame
    on a rerun, and a listener whose frame is gone never fires again. Each run replaces the listeners the previous
    one installed (kept on window.__docreKeys), so there is always exactly one of each. `picker_label`: the start
    of the relation picker's label, how it finds its input. Only constants and string literals (_js) go in: no
    user text reaches the script."""
    return f"""(() => {{
  const w = window;
  const doc = w.document;
  w.__docrePicker = {_js(picker_label)};
  const old = w.__docreKeys;
  if (old) {{
    doc.removeEventListener("keydown", old.keydown, true);
    doc.removeEventListener("click", old.click, true);
  }}
  const TEXT = ["text", "search", "number", "password", "email", "url", ""];
  const typing = (el) => !!el && (el.tagName === "TEXTAREA" || el.isContentEditable
    || (el.tagName === "INPUT" && (TEXT.includes((el.getAttribute("type") || "").toLowerCase())
                                   || el.getAttribute("role") === "combobox")));
  const main = () => doc.querySelector('[data-testid="stMain"]') || doc.body;
  const release = () => {{  // focus back on the item, so the next key is a shortcut, not text
    const el = doc.activeElement;
    if (el && el !== doc.body) el.blur();
    const m = main();
    if (!m.hasAttribute("tabindex")) m.setAttribute("tabindex", "-1");
    m.focus({{preventScroll: true}});
  }};
  const overlay = () => {{
    let o = doc.getElementById("docre-keys");
    if (!o) {{
      o = doc.createElement("div");
      o.id = "docre-keys";
      o.style.cssText = "position:fixed;inset:0;background:rgba(0,0,0,.45);z-index:100000;display:none";
      o.innerHTML = {_js(overlay_html(keys))};
      o.addEventListener("click", () => {{ o.style.display = "none"; }});
      doc.body.appendChild(o);
    }}
    return o;
  }};
  const picker = () => {{
    for (const box of main().querySelectorAll('[data-testid="stSelectbox"]')) {{  // not the sidebar's filter
      const label = box.querySelector("label");
      if (label && label.innerText.trim().startsWith(w.__docrePicker)) return box.querySelector("input");
    }}
    return null;
  }};
  const side = () => doc.querySelector('[data-testid="stSidebar"]');
  const click = (e) => {{  // a choice in a dropdown, or a sidebar checkbox or toggle
    const t = e.target;
    const option = t.closest && t.closest('[role="option"]');
    const inSide = side() && side().contains(t) && !typing(t);
    if (option || inSide) setTimeout(() => {{ if (!typing(doc.activeElement)) release(); }}, 0);
    if (option) setTimeout(release, 0);
  }};
  const keydown = (e) => {{
    const el = doc.activeElement;
    const shown = overlay().style.display !== "none";
    if (e.key === "Escape" && shown) {{ overlay().style.display = "none"; e.preventDefault(); return; }}
    if (typing(el)) {{
      const open = el.getAttribute("aria-expanded") === "true";
      if (e.key === "Escape" && !open) {{ release(); e.preventDefault(); e.stopPropagation(); }}
      const inSide = side() && side().contains(el);
      if (e.key === "Enter" && (el.getAttribute("role") === "combobox" || inSide)) setTimeout(release, 50);
      return;  // in a field, keys are text: no shortcut fires
    }}
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "?") {{ overlay().style.display = shown ? "none" : "block"; e.preventDefault(); return; }}
    if (/^[1-9]$/.test(e.key)) {{  // mark relation n: its button's label starts "n · "
      const mark = [...main().querySelectorAll("button")].find((b) => b.innerText.trim().startsWith(e.key + " · "));
      if (mark) {{ e.preventDefault(); e.stopPropagation(); mark.click(); }}
      return;
    }}
    if (e.key.toLowerCase() === {_js(PICKER_KEY)}) {{
      const input = picker();
      if (input) {{ e.preventDefault(); e.stopPropagation(); input.focus(); input.click(); }}
    }}
  }};
  doc.addEventListener("click", click, true);
  doc.addEventListener("keydown", keydown, true);
  w.__docreKeys = {{keydown, click}};
}})();"""


def review_script(picker_label: str, keys: Sequence[tuple[str, str]] = REVIEW_KEYS) -> str:
    """The <script> for a zero-height `streamlit.components.v1.html` frame (same origin; st.html's scripts did
    not run in Chromium): it hands install_js to the page's own window as a <script> element, so the listeners
    live there and outlast the frame."""
    return f"""<script>
(() => {{
  const w = window.parent && window.parent.document ? window.parent : window;
  const s = w.document.createElement("script");
  s.textContent = {_js(install_js(picker_label, keys))};
  w.document.head.appendChild(s);
  s.remove();
}})();
</script>"""
