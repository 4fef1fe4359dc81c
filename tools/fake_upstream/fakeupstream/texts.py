"""Texts the fake sends: the default answers, the Gemini thought part and the 502 gateway page."""

# Default answers. Deliberately full of multi-byte UTF-8 (2-byte é, 3-byte 日本/「」, 4-byte
# emoji, a ZWJ sequence and a variation selector) so that byte-level splitting lands inside
# characters. None of them contains U+2028/U+2029/U+0085 (str.splitlines() would break there).
DEFAULT_TEXT = {
    "openai": ("Café scene: a chef plates crème brûlée in Tōkyō — 日本の料理 🍣🎬. "
               "The camera pans across naïve façades; 👩‍🍳 smiles. Done ✓"),
    "gemini": ("The video opens on a rainy street in 東京. A barista pours a café crème ☕, "
               "then the title card reads « Fin » 🎞️ — 日本語の字幕もあります. 👍🏽"),
    "pegasus": ("Résumé: two hikers cross a glacier at dawn 🏔️; the narrator says 「素晴らしい」 "
                "while a drone 🚁 circles. Total: 3 scènes, one finale 🎉."),
}
GEMINI_THOUGHT_TEXT = "**Considering the clip**\n\nI should describe the scene — 場面 🤔 — briefly."

GATEWAY_HTML = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
                b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>fake-gateway</center>"
                b"\r\n</body>\r\n</html>\r\n")
