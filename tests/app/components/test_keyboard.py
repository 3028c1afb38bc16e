"""The Review page's keyboard script: every action has a key, the picker key is not one Streamlit reserves, the
help overlay lists them, and nothing but constants reaches the script."""
from __future__ import annotations

import pytest

pytest.importorskip("streamlit")

from streamlit.elements.lib.shortcut_utils import normalize_shortcut

from app.components import keyboard


def test_every_review_action_has_a_key_and_the_overlay_lists_them() -> None:
    keys = {key for key, _ in keyboard.REVIEW_KEYS}
    assert {"A", "E", "X", "S", "U", "N", "?", "1–9"} == keys
    overlay = keyboard.overlay_html()
    for key, what in keyboard.REVIEW_KEYS:
        assert f"<tr><th>{key}</th><td>{what}</td></tr>" in overlay
    script = keyboard.install_js("Relation")
    assert '"e"' in script and "Escape" in script and "stSidebar" in script and "docre-keys" in script


def test_each_run_replaces_the_listeners_in_the_pages_own_window() -> None:
    # a listener added from the component frame dies with the frame (Streamlit may replace it on a rerun): the
    # frame hands the code to the page as a <script>, which removes the listeners the previous run added
    script = keyboard.install_js("Relation")
    assert 'removeEventListener("keydown", old.keydown, true)' in script
    assert script.index("removeEventListener") < script.index('addEventListener("keydown"')
    assert script.count('addEventListener("keydown"') == 1
    frame = keyboard.review_script("Relation")
    assert 'createElement("script")' in frame and "window.parent" in frame and "addEventListener" in frame


def test_the_picker_key_is_free_in_streamlit() -> None:
    normalize_shortcut(keyboard.PICKER_KEY.upper())  # C and R are reserved: those raise
    from streamlit.errors import StreamlitAPIException

    with pytest.raises(StreamlitAPIException):
        normalize_shortcut("C")


def test_the_picker_label_is_json_encoded() -> None:
    script = keyboard.review_script('Rel"</script><script>alert(1)')
    assert script.count("</script>") == 1 and script.endswith("</script>")  # only its own closing tag
