"""The pages' keyboard script: every Review action has a key, the Document page's key goes to the Add a relation
panel and Tab steps through its fields, no key is one Streamlit reserves or one the other page uses differently,
the help overlay lists them, one listener serves both pages, and nothing but constants reaches the script."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("streamlit")

from streamlit.elements.lib.shortcut_utils import normalize_shortcut

from app.components import keyboard
from app.panels import annotate

DOCUMENT = keyboard.document_keyset("docre-triple-panel", annotate.FIELDS)
REVIEW = keyboard.review_keyset("Relation")


def _config(script: str) -> dict:
    """The KeySet as the listener reads it (the JSON after `const CFG = `)."""
    return json.JSONDecoder().raw_decode(script, script.index("const CFG = ") + len("const CFG = "))[0]


def test_every_review_action_has_a_key_and_the_overlay_lists_them() -> None:
    keys = {key for key, _ in keyboard.REVIEW_KEYS}
    assert {"A", "E", "X", "S", "U", "N", "?", "1–9"} == keys
    overlay = keyboard.overlay_html()
    for key, what in keyboard.REVIEW_KEYS:
        assert f"<tr><th>{key}</th><td>{what}</td></tr>" in overlay
    config = _config(keyboard.install_js(REVIEW))
    assert config["focus"] == [["e", "Relation", True]] and config["marks"] and config["release"]
    assert config["fields"] == [] and config["overlay"] == overlay


def test_the_document_key_goes_to_the_panels_first_field_and_tab_follows_its_order() -> None:
    config = _config(keyboard.install_js(DOCUMENT))
    assert config["focus"] == [[keyboard.TRIPLE_KEY, annotate.HEAD, False]]  # focus, not open: Tab may pass it
    assert config["fields"] == ["Head from a mention", "Tail from a mention", "Relation", "Evidence sentences",
                                "Note (optional)", "Add relation"]
    assert config["panel"] == "docre-triple-panel" and not config["marks"] and not config["release"]
    assert config["overlay"] == keyboard.overlay_html(keyboard.DOCUMENT_KEYS)
    assert "Tab" in keyboard.install_js(DOCUMENT) and "data-stale" in keyboard.install_js(DOCUMENT)


def test_the_caption_and_the_overlay_name_the_document_keys() -> None:
    assert keyboard.help_text(keyboard.DOCUMENT_KEYS) == (
        "T add a relation · Tab next field of the panel, Shift+Tab the one before · Escape leave a field, so the "
        "next key is a shortcut again · ? show or hide these keys")
    overlay = keyboard.overlay_html(keyboard.DOCUMENT_KEYS)
    assert "<tr><th>T</th>" in overlay and "<tr><th>?</th>" in overlay and "relation picker" not in overlay


def test_the_keys_are_free_in_streamlit_and_apart_from_reviews() -> None:
    from streamlit.errors import StreamlitAPIException

    for key in (keyboard.PICKER_KEY, keyboard.TRIPLE_KEY):
        normalize_shortcut(key.upper())  # C and R are reserved: those raise
    with pytest.raises(StreamlitAPIException):
        normalize_shortcut("C")
    review = {key.lower() for key, _ in keyboard.REVIEW_KEYS}
    assert keyboard.TRIPLE_KEY not in review  # one key, one meaning, whichever page listens


def test_one_listener_serves_both_pages() -> None:
    # the code after the config is the same text: only the KeySet differs
    review, document = keyboard.install_js(REVIEW), keyboard.install_js(DOCUMENT)
    assert review[review.index("const w = window"):] == document[document.index("const w = window"):]


def test_each_run_replaces_the_listeners_in_the_pages_own_window() -> None:
    # a listener added from the component frame dies with the frame (Streamlit may replace it on a rerun): the
    # frame hands the code to the page as a <script>, which removes the listeners and the timer the previous run
    # added, whichever page it was
    script = keyboard.install_js(DOCUMENT)
    for kind in ("keydown", "click", "focusin"):
        assert f'removeEventListener("{kind}", old.{kind}, true)' in script
        assert script.count(f'doc.addEventListener("{kind}"') == 1
        assert script.index(f'removeEventListener("{kind}"') < script.index(f'doc.addEventListener("{kind}"')
    assert "clearInterval(old.timer)" in script
    assert "overlay().innerHTML = CFG.overlay" in script  # the overlay shows this page's keys after a page switch
    for frame in (keyboard.review_script("Relation"), keyboard.page_script(DOCUMENT)):
        assert 'createElement("script")' in frame and "window.parent" in frame and "addEventListener" in frame


def test_labels_are_json_encoded() -> None:
    script = keyboard.review_script('Rel"</script><script>alert(1)')
    assert script.count("</script>") == 1 and script.endswith("</script>")  # only its own closing tag
    hostile = keyboard.document_keyset('x"]);alert(1);//', ('</script>"', annotate.ADD))
    frame = keyboard.page_script(hostile)
    assert frame.count("</script>") == 1
    assert _config(keyboard.install_js(hostile))["fields"] == ['</script>"', "Add relation"]  # data, not code
