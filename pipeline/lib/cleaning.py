"""Raw review to clean text: the step prepare runs on the corpus and predict repeats on new text."""

import html
import re

TAG = re.compile(r"<[^>]+>")  # the tutorial's pattern


def clean_text(raw: str) -> str:
    """Strip HTML tags as the tutorial does, but leave a space so `end.<br />The` stays two words;
    then decode entities (`&amp;` -> `&`)."""
    return html.unescape(TAG.sub(" ", raw))
